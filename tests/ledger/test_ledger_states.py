"""The job state machine as data: every allowed transition, a sample of forbidden ones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from fleet_pipeline.config import settings
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.states import InvalidTransition, JobRecord, RetryPolicy

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
EARLIER = NOW - timedelta(hours=1)

DETAILS = {
    st.PLANNED: {"payload_hash": "h1"},
    st.VALIDATED_INVALID: {"reasons": ["dropoff_address_line_1: not_nullable"]},
    st.ERP_ROW_CHANGED: {"payload_hash": "h2"},
    st.ERP_ROW_REMOVED: {},
    st.BULK_INTENT: {"upload_id": "U1"},
    st.SINGLE_INTENT: {},
    st.BULK_ACCEPTED: {"deadline_at": NOW + timedelta(hours=2)},
    st.BULK_REFUSED: {"status": 429, "message": "Too Many Attempts."},
    st.REQUEST_NOT_SENT: {"reason": "ConnectError"},
    st.OUTCOME_UNKNOWN: {"reason": "ReadTimeout"},
    st.CALLBACK_OVERDUE: {"reason": "no callback"},
    st.API_REJECTED: {"status": 422, "message": "The given data was invalid.",
                      "field_errors": {"job_type_id": ["The selected job_type_id is invalid."]}},
    st.CREATED_EVENT: {"fleet_job_id": 119582, "fleet_order_id": "ORD-1"},
    st.DUPLICATE_FOUND: {"fleet_job_id": 119583},
    st.PROBE_FOUND: {"fleet_job_id": 119582, "fleet_order_id": "ORD-1"},
    st.PROBE_ABSENT: {"next_attempt_at": NOW + timedelta(minutes=2)},
    st.RETRY_SCHEDULED: {"next_attempt_at": NOW + timedelta(minutes=4)},
    st.RETRIES_EXHAUSTED: {"reason": "5 attempts"},
    st.ESCALATED_EVENT: {"reason": "permanent rejection"},
    st.REOPENED: {"reason": "checked in Fleet by dispatch"},
}

PERMANENT = {"rejection_class": st.PERMANENT}
TRANSIENT = {"rejection_class": st.TRANSIENT}

# (event, from state, other fields of the record, expected state after)
ALLOWED = [
    (st.PLANNED, None, {}, st.QUEUED),
    (st.VALIDATED_INVALID, None, {}, st.REJECTED_INVALID),
    (st.VALIDATED_INVALID, st.QUEUED, {}, st.REJECTED_INVALID),
    (st.VALIDATED_INVALID, st.REJECTED, PERMANENT, st.REJECTED_INVALID),
    (st.VALIDATED_INVALID, st.REJECTED_INVALID, {}, st.REJECTED_INVALID),
    (st.VALIDATED_INVALID, st.WITHDRAWN, {}, st.REJECTED_INVALID),
    (st.VALIDATED_INVALID, st.ESCALATED, PERMANENT, st.REJECTED_INVALID),
    (st.ERP_ROW_CHANGED, st.QUEUED, {}, st.QUEUED),
    (st.ERP_ROW_CHANGED, st.REJECTED, PERMANENT, st.QUEUED),
    (st.ERP_ROW_CHANGED, st.REJECTED_INVALID, {}, st.QUEUED),
    (st.ERP_ROW_CHANGED, st.WITHDRAWN, {}, st.QUEUED),
    (st.ERP_ROW_CHANGED, st.ESCALATED, PERMANENT, st.QUEUED),
    (st.ERP_ROW_REMOVED, st.QUEUED, {}, st.WITHDRAWN),
    (st.ERP_ROW_REMOVED, st.REJECTED, TRANSIENT, st.WITHDRAWN),
    (st.ERP_ROW_REMOVED, st.REJECTED_INVALID, {}, st.WITHDRAWN),
    (st.ERP_ROW_REMOVED, st.ESCALATED, TRANSIENT, st.WITHDRAWN),
    (st.BULK_INTENT, st.QUEUED, {}, st.IN_FLIGHT),
    (st.SINGLE_INTENT, st.QUEUED, {"next_attempt_at": EARLIER}, st.IN_FLIGHT),
    (st.BULK_ACCEPTED, st.IN_FLIGHT, {}, st.SUBMITTED),
    (st.BULK_REFUSED, st.IN_FLIGHT, {}, st.REJECTED),
    (st.REQUEST_NOT_SENT, st.IN_FLIGHT, {"attempts": 1}, st.QUEUED),
    (st.OUTCOME_UNKNOWN, st.IN_FLIGHT, {}, st.UNKNOWN),
    (st.CALLBACK_OVERDUE, st.SUBMITTED, {}, st.UNKNOWN),
    (st.API_REJECTED, st.IN_FLIGHT, {}, st.REJECTED),
    (st.API_REJECTED, st.SUBMITTED, {}, st.REJECTED),
    (st.API_REJECTED, st.UNKNOWN, {}, st.REJECTED),
    *[(st.CREATED_EVENT, state, {}, st.CREATED) for state in st.STATES if state != st.CREATED],
    (st.DUPLICATE_FOUND, st.CREATED, {"fleet_job_id": 119582}, st.CREATED),
    (st.PROBE_FOUND, st.UNKNOWN, {}, st.CREATED),
    (st.PROBE_ABSENT, st.UNKNOWN, {}, st.QUEUED),
    (st.RETRY_SCHEDULED, st.REJECTED, TRANSIENT, st.QUEUED),
    (st.RETRIES_EXHAUSTED, st.REJECTED, TRANSIENT, st.ESCALATED),
    (st.RETRIES_EXHAUSTED, st.UNKNOWN, {}, st.ESCALATED),
    (st.ESCALATED_EVENT, st.REJECTED, PERMANENT, st.ESCALATED),
    (st.REOPENED, st.ESCALATED, PERMANENT, st.QUEUED),
    (st.REOPENED, st.ESCALATED, {}, st.UNKNOWN),
]

FORBIDDEN = [
    (st.PLANNED, st.QUEUED, {}),
    (st.BULK_INTENT, st.IN_FLIGHT, {}),
    (st.BULK_INTENT, st.CREATED, {}),
    (st.BULK_INTENT, st.UNKNOWN, {}),
    (st.BULK_INTENT, st.QUEUED, {"next_attempt_at": NOW + timedelta(seconds=1)}),
    (st.SINGLE_INTENT, st.SUBMITTED, {}),
    (st.SINGLE_INTENT, st.REJECTED, TRANSIENT),
    (st.ERP_ROW_CHANGED, st.CREATED, {}),
    (st.ERP_ROW_CHANGED, st.IN_FLIGHT, {}),
    (st.ERP_ROW_CHANGED, st.SUBMITTED, {}),
    (st.ERP_ROW_CHANGED, st.UNKNOWN, {}),
    (st.ERP_ROW_CHANGED, st.ESCALATED, {}),  # escalated from unknown: Fleet may hold it
    (st.ERP_ROW_REMOVED, st.CREATED, {}),
    (st.ERP_ROW_REMOVED, st.UNKNOWN, {}),
    (st.ERP_ROW_REMOVED, st.WITHDRAWN, {}),
    (st.VALIDATED_INVALID, st.CREATED, {}),
    (st.VALIDATED_INVALID, st.IN_FLIGHT, {}),
    (st.VALIDATED_INVALID, st.ESCALATED, {}),
    (st.BULK_ACCEPTED, st.QUEUED, {}),
    (st.BULK_ACCEPTED, st.SUBMITTED, {}),
    (st.BULK_REFUSED, st.SUBMITTED, {}),
    (st.REQUEST_NOT_SENT, st.SUBMITTED, {}),
    (st.OUTCOME_UNKNOWN, st.QUEUED, {}),
    (st.CALLBACK_OVERDUE, st.IN_FLIGHT, {}),
    (st.API_REJECTED, st.QUEUED, {}),
    (st.API_REJECTED, st.CREATED, {}),
    (st.CREATED_EVENT, st.CREATED, {}),
    (st.CREATED_EVENT, None, {}),
    (st.DUPLICATE_FOUND, st.UNKNOWN, {}),
    (st.PROBE_FOUND, st.IN_FLIGHT, {}),
    (st.PROBE_ABSENT, st.SUBMITTED, {}),
    (st.RETRY_SCHEDULED, st.REJECTED, PERMANENT),
    (st.RETRY_SCHEDULED, st.UNKNOWN, {}),
    (st.RETRIES_EXHAUSTED, st.REJECTED, PERMANENT),
    (st.ESCALATED_EVENT, st.REJECTED, TRANSIENT),
    (st.ESCALATED_EVENT, st.UNKNOWN, {}),
    (st.REOPENED, st.QUEUED, {}),
    (st.REOPENED, st.CREATED, {}),
]


def _record(state: str | None, **fields) -> JobRecord:
    return JobRecord("CART0001", date(2026, 3, 2), state=state, payload_hash="h1",
                     state_changed_at=None if state is None else EARLIER, **fields)


def test_the_allowed_table_covers_every_rule():
    """A new rule or source in states.py must come with its row in ALLOWED."""
    declared = {(event, source) for event, rule in st.RULES.items() for source in rule.sources}
    assert {(event, source) for event, source, _, _ in ALLOWED} == declared


@pytest.mark.parametrize(("event", "source", "fields", "target"), ALLOWED,
                         ids=[f"{e}:{s}->{t}" for e, s, _, t in ALLOWED])
def test_allowed_transition(event, source, fields, target):
    record = _record(source, **fields)
    new, job_event = st.transition(record, event, NOW, **DETAILS[event])
    assert new.state == target
    assert (job_event.event, job_event.from_state, job_event.to_state) == (event, source, target)
    assert job_event.reference_number == "CART0001" and job_event.at == NOW
    assert job_event.detail == DETAILS[event]
    expected_changed_at = NOW if target != source else record.state_changed_at
    assert new.state_changed_at == expected_changed_at


@pytest.mark.parametrize(("event", "source", "fields"), FORBIDDEN,
                         ids=[f"{e}:{s}" for e, s, _ in FORBIDDEN])
def test_forbidden_transition(event, source, fields):
    record = _record(source, **fields)
    assert not st.allowed(record, event, NOW)
    with pytest.raises(InvalidTransition):
        st.transition(record, event, NOW, **DETAILS[event])


def test_unknown_event_is_refused():
    with pytest.raises(InvalidTransition, match="no such event"):
        st.transition(_record(st.QUEUED), "teleported", NOW)


def test_intent_counts_the_attempt_and_forgets_the_last_rejection():
    record = _record(st.QUEUED, attempts=2, rejection_class=None, last_error="HTTP 429",
                     upload_id="U0", endpoint=st.BULK)
    bulk, _ = st.transition(record, st.BULK_INTENT, NOW, upload_id="U1")
    assert (bulk.endpoint, bulk.upload_id, bulk.attempts, bulk.last_error) == (
        st.BULK, "U1", 3, None)
    single, _ = st.transition(record, st.SINGLE_INTENT, NOW)
    assert (single.endpoint, single.upload_id, single.attempts) == (st.SINGLE, None, 3)


def test_a_request_that_never_left_does_not_count_as_an_attempt():
    record = _record(st.IN_FLIGHT, attempts=3)
    new, _ = st.transition(record, st.REQUEST_NOT_SENT, NOW, reason="ConnectError",
                           next_attempt_at=NOW + timedelta(minutes=1))
    assert (new.state, new.attempts, new.next_attempt_at) == (
        st.QUEUED, 2, NOW + timedelta(minutes=1))


def test_rejection_is_classified_and_explained():
    new, _ = st.transition(_record(st.SUBMITTED), st.API_REJECTED, NOW,
                           **DETAILS[st.API_REJECTED])
    assert new.rejection_class == st.PERMANENT
    assert new.last_error == ("HTTP 422; The given data was invalid.; "
                              "job_type_id: The selected job_type_id is invalid.")
    refused, _ = st.transition(_record(st.IN_FLIGHT), st.BULK_REFUSED, NOW,
                               **DETAILS[st.BULK_REFUSED])
    assert refused.rejection_class == st.TRANSIENT


def test_created_keeps_the_fleet_ids():
    new, _ = st.transition(_record(st.UNKNOWN), st.PROBE_FOUND, NOW, fleet_job_id="119582",
                           fleet_order_id="ORD-1")
    assert (new.fleet_job_id, new.fleet_order_id) == (119582, "ORD-1")


def test_a_changed_erp_row_starts_the_job_afresh():
    record = _record(st.ESCALATED, attempts=5, rejection_class=st.PERMANENT,
                     last_error="HTTP 422")
    new, _ = st.transition(record, st.ERP_ROW_CHANGED, NOW, payload_hash="h2")
    assert (new.state, new.payload_hash, new.attempts, new.rejection_class, new.last_error) == (
        st.QUEUED, "h2", 0, None, None)


def test_the_record_given_is_left_as_it_was():
    record = _record(st.QUEUED)
    st.transition(record, st.BULK_INTENT, NOW, upload_id="U1")
    assert record == _record(st.QUEUED)


@pytest.mark.parametrize(("status", "errors", "message", "expected"), [
    (422, {"stops.0.address_line_1": ["The field is required."]}, "The given data was invalid.",
     st.PERMANENT),
    (422, {"delivery_driver_name": ["The driver is busy, try again later."]}, None,
     st.TRANSIENT),
    (422, None, "The given data was invalid.", st.PERMANENT),
    (400, None, "Bad request", st.PERMANENT),
    (409, None, "Conflict", st.PERMANENT),
    (429, None, "Too Many Attempts.", st.TRANSIENT),
    (408, None, None, st.TRANSIENT),
    (500, None, "Server Error", st.TRANSIENT),
    (503, None, None, st.TRANSIENT),
    (401, None, "Unauthenticated.", st.TRANSIENT),
    (403, None, None, st.TRANSIENT),
    (404, None, None, st.TRANSIENT),
    (None, {"job_type_id": ["The selected job_type_id is invalid."]}, None, st.PERMANENT),
    (None, {"reference_number": ["Service temporarily unavailable"]}, None, st.TRANSIENT),
    (400, None, "Request timed out upstream", st.TRANSIENT),
])
def test_classify_rejection(status, errors, message, expected):
    assert st.classify_rejection(status, errors, message) == expected


@pytest.mark.parametrize(("attempts", "delay"), [
    (0, timedelta(0)),
    (1, timedelta(minutes=1)),
    (2, timedelta(minutes=2)),
    (3, timedelta(minutes=4)),
    (7, timedelta(minutes=60)),  # 64 minutes, capped
    (10_000, timedelta(minutes=60)),
])
def test_backoff_doubles_up_to_the_cap(attempts, delay):
    assert st.next_attempt_at(attempts, NOW, timedelta(minutes=1), timedelta(hours=1)) == (
        NOW + delay)


def test_retry_policy_comes_from_settings(monkeypatch):
    monkeypatch.setenv("FLEET_RETRY_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("FLEET_RETRY_BASE_SECONDS", "30")
    monkeypatch.setenv("FLEET_RETRY_CAP_SECONDS", "600")
    assert RetryPolicy.from_settings(settings()) == RetryPolicy(
        3, timedelta(seconds=30), timedelta(minutes=10))


POLICY = RetryPolicy(max_attempts=3, base=timedelta(minutes=1), cap=timedelta(hours=1))


@pytest.mark.parametrize(("fields", "event", "retry_in"), [
    ({"rejection_class": st.PERMANENT, "attempts": 1}, st.ESCALATED_EVENT, None),
    ({"rejection_class": st.TRANSIENT, "attempts": 1}, st.RETRY_SCHEDULED, timedelta(minutes=1)),
    ({"rejection_class": st.TRANSIENT, "attempts": 2}, st.RETRY_SCHEDULED, timedelta(minutes=2)),
    ({"rejection_class": st.TRANSIENT, "attempts": 3}, st.RETRIES_EXHAUSTED, None),
])
def test_resolve_rejected(fields, event, retry_in):
    chosen, details = st.resolve_rejected(_record(st.REJECTED, **fields), NOW, POLICY)
    assert chosen == event
    if retry_in is not None:
        assert details["next_attempt_at"] == NOW + retry_in


@pytest.mark.parametrize(("attempts", "event"), [
    (1, st.PROBE_ABSENT), (2, st.PROBE_ABSENT), (3, st.RETRIES_EXHAUSTED),
])
def test_resolve_absent(attempts, event):
    record = _record(st.UNKNOWN, attempts=attempts)
    chosen, details = st.resolve_absent(record, NOW, POLICY)
    assert chosen == event
    assert st.transition(record, chosen, NOW, **details)[0].state in (st.QUEUED, st.ESCALATED)


@pytest.mark.parametrize(("current", "target", "expected"), [
    (None, st.UPLOAD_PLANNED, st.UPLOAD_PLANNED),
    (None, st.UPLOAD_SENDING, st.UPLOAD_SENDING),
    (st.UPLOAD_PLANNED, st.UPLOAD_SENDING, st.UPLOAD_SENDING),
    (st.UPLOAD_SENDING, st.UPLOAD_ACCEPTED, st.UPLOAD_ACCEPTED),
    (st.UPLOAD_SENDING, st.UPLOAD_REFUSED, st.UPLOAD_REFUSED),
    (st.UPLOAD_SENDING, st.UPLOAD_UNKNOWN, st.UPLOAD_UNKNOWN),
    (st.UPLOAD_SENDING, st.UPLOAD_PLANNED, st.UPLOAD_PLANNED),
    (st.UPLOAD_SENDING, st.UPLOAD_CALLED_BACK, st.UPLOAD_CALLED_BACK),
    (st.UPLOAD_ACCEPTED, st.UPLOAD_CALLED_BACK, st.UPLOAD_CALLED_BACK),
    (st.UPLOAD_ACCEPTED, st.UPLOAD_OVERDUE, st.UPLOAD_OVERDUE),
    (st.UPLOAD_OVERDUE, st.UPLOAD_CALLED_BACK, st.UPLOAD_CALLED_BACK),
    (st.UPLOAD_UNKNOWN, st.UPLOAD_CALLED_BACK, st.UPLOAD_CALLED_BACK),
    (st.UPLOAD_CALLED_BACK, st.UPLOAD_CALLED_BACK, st.UPLOAD_CALLED_BACK),
    # The answer to the POST written after the callback: the callback's state stays.
    (st.UPLOAD_CALLED_BACK, st.UPLOAD_ACCEPTED, st.UPLOAD_CALLED_BACK),
])
def test_upload_transition(current, target, expected):
    assert st.upload_transition(current, target) == expected


@pytest.mark.parametrize(("current", "target"), [
    (st.UPLOAD_SENDING, st.UPLOAD_SENDING),  # never send one upload twice
    (st.UPLOAD_ACCEPTED, st.UPLOAD_SENDING),
    (st.UPLOAD_REFUSED, st.UPLOAD_ACCEPTED),
    (None, st.UPLOAD_ACCEPTED),
    (st.UPLOAD_PLANNED, st.UPLOAD_OVERDUE),
    (st.UPLOAD_CALLED_BACK, st.UPLOAD_PLANNED),
])
def test_forbidden_upload_transition(current, target):
    with pytest.raises(InvalidTransition):
        st.upload_transition(current, target)


def test_known_absent():
    assert st.known_absent(_record(st.QUEUED))
    assert st.known_absent(_record(st.ESCALATED, rejection_class=st.TRANSIENT))
    assert not st.known_absent(_record(st.ESCALATED))
    assert not st.known_absent(_record(st.UNKNOWN))
    assert not st.known_absent(replace(_record(st.CREATED), fleet_job_id=1))
