"""The life of one Fleet job, as plain functions over data (no database, no HTTP).

States
------
=================  ==========================================================================
rejected_invalid   failed our own validation; never sent. Terminal until the ERP row changes.
queued             ready to send. Invariant: a job is only ever queued when Fleet is known to
                   hold no job for its reference (never sent, the API said no, or a probe by
                   reference found nothing). Sending from `queued` therefore never duplicates.
in_flight          the intent to send is recorded and the request (bulk file or single create)
                   has no recorded answer yet. A job found here after its sender died is moved
                   to `unknown`, never back to `queued`.
submitted          bulk only: the API accepted the file (HTTP 200); the job awaits its row in
                   the upload's callback until `deadline_at`.
created            terminal: Fleet holds the job (`fleet_job_id`, `fleet_order_id`).
rejected           the API said no (`rejection_class` permanent or transient, `last_error`).
unknown            time-out, 5xx, connection lost, sender killed, callback overdue: the job may
                   or may not exist. Only a probe by reference_number leaves this state.
escalated          a person must look (permanent rejection, retries exhausted). Terminal until
                   a person re-opens it or a changed ERP row does (see `known_absent`).
withdrawn          the ERP no longer lists the delivery for its date while Fleet is known not
                   to hold it; it comes back as soon as the ERP row does.
=================  ==========================================================================

`in_flight` and `submitted` split the design's "submitted" in two on purpose: a request with no
answer (the process may have died mid-request) and a file the API took (a callback is due) call
for different recoveries (probe now, or wait until the deadline).

Events (from -> to)
-------------------
=================  ===================================================  ======================
planned            (new)                                                -> queued
validated_invalid  (new), queued, rejected, rejected_invalid, withdrawn,  -> rejected_invalid
                   escalated when known_absent
erp_row_changed    queued, rejected, rejected_invalid, withdrawn,       -> queued
                   escalated when known_absent
erp_row_removed    queued, rejected, rejected_invalid,                  -> withdrawn
                   escalated when known_absent
bulk_intent        queued (when due)                                    -> in_flight
single_intent      queued (when due)                                    -> in_flight
bulk_accepted      in_flight                                            -> submitted
bulk_refused       in_flight                                            -> rejected
request_not_sent   in_flight                                            -> queued
outcome_unknown    in_flight                                            -> unknown
callback_overdue   submitted                                            -> unknown
api_rejected       in_flight, submitted, unknown                        -> rejected
created            every state but created                              -> created
duplicate_found    created                                              -> created
probe_found        unknown                                              -> created
probe_absent       unknown                                              -> queued
retry_scheduled    rejected (transient)                                 -> queued
retries_exhausted  rejected (transient), unknown                        -> escalated
escalated          rejected (permanent)                                 -> escalated
reopened           escalated                        -> queued if known_absent, else unknown
=================  ===================================================  ======================

`created` is accepted from every other state because Fleet saying a job exists is a fact that
must always be recorded (a late callback after a probe found nothing, for example); recording it
a second time with another job id is `duplicate_found`, which makes a duplicate visible.

Rejection classes (`classify_rejection`)
----------------------------------------
=========================================================  ==========
429, 408, 425, any 5xx                                      transient
401, 403, 404 (credentials, region, base URL: not the job)  transient
any message or field error that reads "busy", "try again",  transient
"temporarily", "locked", "timeout", "rate limit", ...
422 (field errors on the job's data), 400, 409, 413, ...    permanent
no status (a bulk callback row with errors)                 permanent
=========================================================  ==========
A transient rejection is retried with exponential back-off (`next_attempt_at`) until
`RetryPolicy.max_attempts` sends have been made, then escalated; a permanent one is escalated at
once: the data must change, and a changed ERP row re-opens the job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any

from fleet_pipeline.config import Settings

REJECTED_INVALID = "rejected_invalid"
QUEUED = "queued"
IN_FLIGHT = "in_flight"
SUBMITTED = "submitted"
CREATED = "created"
REJECTED = "rejected"
UNKNOWN = "unknown"
ESCALATED = "escalated"
WITHDRAWN = "withdrawn"

STATES = (
    REJECTED_INVALID, QUEUED, IN_FLIGHT, SUBMITTED, CREATED, REJECTED, UNKNOWN, ESCALATED,
    WITHDRAWN,
)

PERMANENT = "permanent"
TRANSIENT = "transient"
REJECTION_CLASSES = (PERMANENT, TRANSIENT)

BULK = "bulk"
SINGLE = "single"
ENDPOINTS = (BULK, SINGLE)

PLANNED = "planned"
VALIDATED_INVALID = "validated_invalid"
ERP_ROW_CHANGED = "erp_row_changed"
ERP_ROW_REMOVED = "erp_row_removed"
BULK_INTENT = "bulk_intent"
SINGLE_INTENT = "single_intent"
BULK_ACCEPTED = "bulk_accepted"
BULK_REFUSED = "bulk_refused"
REQUEST_NOT_SENT = "request_not_sent"
OUTCOME_UNKNOWN = "outcome_unknown"
CALLBACK_OVERDUE = "callback_overdue"
API_REJECTED = "api_rejected"
CREATED_EVENT = "created"
DUPLICATE_FOUND = "duplicate_found"
PROBE_FOUND = "probe_found"
PROBE_ABSENT = "probe_absent"
RETRY_SCHEDULED = "retry_scheduled"
RETRIES_EXHAUSTED = "retries_exhausted"
ESCALATED_EVENT = "escalated"
REOPENED = "reopened"

# Upload states: one bulk file's life, beside its jobs' lives.
UPLOAD_PLANNED = "planned"
UPLOAD_SENDING = "sending"
UPLOAD_ACCEPTED = "accepted"
UPLOAD_REFUSED = "refused"
UPLOAD_UNKNOWN = "unknown"
UPLOAD_CALLED_BACK = "called_back"
UPLOAD_OVERDUE = "overdue"
UPLOAD_STATES = (
    UPLOAD_PLANNED, UPLOAD_SENDING, UPLOAD_ACCEPTED, UPLOAD_REFUSED, UPLOAD_UNKNOWN,
    UPLOAD_CALLED_BACK, UPLOAD_OVERDUE,
)

MAX_ERROR_CHARS = 2000


class InvalidTransition(ValueError):
    """An event that the state machine does not allow from the job's (or upload's) state."""


@dataclass(frozen=True)
class JobRecord:
    """Everything the state machine reads or writes about one job (its payload lives beside)."""

    reference_number: str
    partition_date: date
    state: str | None = None  # None: not in the ledger yet
    payload_hash: str | None = None
    endpoint: str | None = None
    upload_id: str | None = None
    attempts: int = 0
    next_attempt_at: datetime | None = None
    deadline_at: datetime | None = None
    fleet_job_id: int | None = None
    fleet_order_id: str | None = None
    rejection_class: str | None = None
    last_error: str | None = None
    state_changed_at: datetime | None = None


@dataclass(frozen=True)
class JobEvent:
    """One line of a job's audit trail."""

    reference_number: str
    event: str
    from_state: str | None
    to_state: str
    at: datetime
    detail: Mapping[str, Any] = field(default_factory=dict)


def known_absent(record: JobRecord) -> bool:
    """True when Fleet is known to hold no job for this reference, so creating one is safe."""
    if record.state in (QUEUED, REJECTED, REJECTED_INVALID, WITHDRAWN):
        return True
    # An escalation right after an explicit "no" from the API keeps its rejection class; one
    # reached from `unknown` has none, and the job may exist.
    return record.state == ESCALATED and record.rejection_class is not None


Changes = dict[str, Any]


@dataclass(frozen=True)
class _Rule:
    sources: frozenset[str | None]
    target: str | Callable[[JobRecord], str]
    apply: Callable[[JobRecord, datetime, Mapping[str, Any]], Changes]
    guard: Callable[[JobRecord, datetime], str | None] = lambda record, now: None


def _nothing(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {}


def _fresh_payload(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {"payload_hash": d["payload_hash"], "attempts": 0, "next_attempt_at": None,
            "rejection_class": None, "last_error": None, "deadline_at": None}


def _invalid(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {"last_error": _truncate("failed validation: " + "; ".join(d["reasons"])),
            "next_attempt_at": None}


def _intent(endpoint: str) -> Callable[[JobRecord, datetime, Mapping[str, Any]], Changes]:
    def apply(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
        return {"endpoint": endpoint, "upload_id": d["upload_id"] if endpoint == BULK else None,
                "attempts": record.attempts + 1, "next_attempt_at": None, "deadline_at": None,
                "rejection_class": None, "last_error": None}
    return apply


def _due(record: JobRecord, now: datetime) -> str | None:
    if record.next_attempt_at is not None and record.next_attempt_at > now:
        return f"not due before {record.next_attempt_at.isoformat()}"
    return None


def _accepted(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {"deadline_at": d["deadline_at"]}


def _rejected(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    status, errors, message = d.get("status"), d.get("field_errors"), d.get("message")
    return {"rejection_class": classify_rejection(status, errors, message),
            "last_error": format_error(status, message, errors), "deadline_at": None}


def _not_sent(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    # Nothing reached the API, so this send does not count against the job's attempts.
    return {"attempts": max(record.attempts - 1, 0), "next_attempt_at": d.get("next_attempt_at"),
            "last_error": _truncate(d.get("reason"))}


def _unknown(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {"last_error": _truncate(d.get("reason") or "outcome unknown")}


def _created(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    order_id = d.get("fleet_order_id")  # the API sometimes returns it as a number
    return {"fleet_job_id": int(d["fleet_job_id"]),
            "fleet_order_id": None if order_id is None else str(order_id),
            "rejection_class": None, "last_error": None, "next_attempt_at": None}


def _duplicate(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {"last_error": f"Fleet holds a second job for this reference: job_id "
                          f"{int(d['fleet_job_id'])} besides {record.fleet_job_id}"}


def _has_job_id(record: JobRecord, now: datetime) -> str | None:
    return None if record.fleet_job_id is not None else "no job id recorded"


def _retry_at(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {"next_attempt_at": d["next_attempt_at"]}


def _escalate(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    reason = d.get("reason")
    return {"next_attempt_at": None,
            "last_error": _truncate(f"{record.last_error} ({reason})" if reason and
                                    record.last_error else reason or record.last_error)}


def _reopen(record: JobRecord, now: datetime, d: Mapping[str, Any]) -> Changes:
    return {"attempts": 0, "next_attempt_at": None}


def _needs_class(wanted: str) -> Callable[[JobRecord, datetime], str | None]:
    def guard(record: JobRecord, now: datetime) -> str | None:
        return None if record.rejection_class == wanted else f"rejection is not {wanted}"
    return guard


def _needs_known_absent(record: JobRecord, now: datetime) -> str | None:
    return None if known_absent(record) else "Fleet may hold this job: probe it first"


def _new_or_known_absent(record: JobRecord, now: datetime) -> str | None:
    return None if record.state is None else _needs_known_absent(record, now)


def _transient_unless_unknown(record: JobRecord, now: datetime) -> str | None:
    return None if record.state == UNKNOWN else _needs_class(TRANSIENT)(record, now)


def _reopened_target(record: JobRecord) -> str:
    return QUEUED if known_absent(record) else UNKNOWN


_ANY_BUT_CREATED = frozenset(s for s in STATES if s != CREATED)
_MAYBE_ABSENT = frozenset({QUEUED, REJECTED, REJECTED_INVALID, WITHDRAWN, ESCALATED})

RULES: dict[str, _Rule] = {
    PLANNED: _Rule(frozenset({None}), QUEUED, _fresh_payload),
    VALIDATED_INVALID: _Rule(_MAYBE_ABSENT | {None}, REJECTED_INVALID, _invalid,
                             _new_or_known_absent),
    ERP_ROW_CHANGED: _Rule(_MAYBE_ABSENT, QUEUED, _fresh_payload, _needs_known_absent),
    ERP_ROW_REMOVED: _Rule(_MAYBE_ABSENT - {WITHDRAWN}, WITHDRAWN, _nothing, _needs_known_absent),
    BULK_INTENT: _Rule(frozenset({QUEUED}), IN_FLIGHT, _intent(BULK), _due),
    SINGLE_INTENT: _Rule(frozenset({QUEUED}), IN_FLIGHT, _intent(SINGLE), _due),
    BULK_ACCEPTED: _Rule(frozenset({IN_FLIGHT}), SUBMITTED, _accepted),
    BULK_REFUSED: _Rule(frozenset({IN_FLIGHT}), REJECTED, _rejected),
    REQUEST_NOT_SENT: _Rule(frozenset({IN_FLIGHT}), QUEUED, _not_sent),
    OUTCOME_UNKNOWN: _Rule(frozenset({IN_FLIGHT}), UNKNOWN, _unknown),
    CALLBACK_OVERDUE: _Rule(frozenset({SUBMITTED}), UNKNOWN, _unknown),
    API_REJECTED: _Rule(frozenset({IN_FLIGHT, SUBMITTED, UNKNOWN}), REJECTED, _rejected),
    CREATED_EVENT: _Rule(_ANY_BUT_CREATED, CREATED, _created),
    DUPLICATE_FOUND: _Rule(frozenset({CREATED}), CREATED, _duplicate, _has_job_id),
    PROBE_FOUND: _Rule(frozenset({UNKNOWN}), CREATED, _created),
    PROBE_ABSENT: _Rule(frozenset({UNKNOWN}), QUEUED, _retry_at),
    RETRY_SCHEDULED: _Rule(frozenset({REJECTED}), QUEUED, _retry_at, _needs_class(TRANSIENT)),
    RETRIES_EXHAUSTED: _Rule(frozenset({REJECTED, UNKNOWN}), ESCALATED, _escalate,
                             _transient_unless_unknown),
    ESCALATED_EVENT: _Rule(frozenset({REJECTED}), ESCALATED, _escalate, _needs_class(PERMANENT)),
    REOPENED: _Rule(frozenset({ESCALATED}), _reopened_target, _reopen),
}
EVENTS = tuple(RULES)


def sources(event: str) -> frozenset[str | None]:
    """The states an event may start from (before its guard is checked)."""
    return _rule(event).sources


def why_not(record: JobRecord, event: str, now: datetime) -> str | None:
    """None when `event` may happen to `record` now; otherwise the reason it may not."""
    rule = _rule(event)
    if record.state not in rule.sources:
        return f"{event} is not allowed from {record.state or 'a job not yet in the ledger'}"
    return rule.guard(record, now)


def allowed(record: JobRecord, event: str, now: datetime) -> bool:
    return why_not(record, event, now) is None


def transition(
    record: JobRecord, event: str, now: datetime, **details: Any
) -> tuple[JobRecord, JobEvent]:
    """Apply `event` to `record` at `now`; raise InvalidTransition when it is not allowed.

    `details` are the event's facts (an upload id, an HTTP status and message, a Fleet job id, a
    deadline); they change the record as the event says and are kept in the audit trail.
    """
    reason = why_not(record, event, now)
    if reason is not None:
        raise InvalidTransition(f"{record.reference_number}: {reason}")
    rule = RULES[event]
    target = rule.target(record) if callable(rule.target) else rule.target
    changes = rule.apply(record, now, details)
    if target != record.state:
        changes["state_changed_at"] = now
    new = replace(record, state=target, **changes)
    return new, JobEvent(record.reference_number, event, record.state, target, now, details)


def _rule(event: str) -> _Rule:
    try:
        return RULES[event]
    except KeyError:
        raise InvalidTransition(f"no such event: {event!r}") from None


# --- uploads -------------------------------------------------------------------------------

_UPLOAD_SOURCES: dict[str, frozenset[str | None]] = {
    UPLOAD_PLANNED: frozenset({None, UPLOAD_PLANNED}),
    UPLOAD_SENDING: frozenset({None, UPLOAD_PLANNED}),
    UPLOAD_ACCEPTED: frozenset({UPLOAD_SENDING}),
    UPLOAD_REFUSED: frozenset({UPLOAD_SENDING}),
    UPLOAD_UNKNOWN: frozenset({UPLOAD_SENDING}),
    UPLOAD_CALLED_BACK: frozenset({UPLOAD_SENDING, UPLOAD_ACCEPTED, UPLOAD_UNKNOWN,
                                   UPLOAD_OVERDUE, UPLOAD_CALLED_BACK}),
    UPLOAD_OVERDUE: frozenset({UPLOAD_ACCEPTED}),
}
# The answer to the request can be written after its callback (the API may call back faster
# than we commit); the callback, the stronger fact, keeps the upload's state.
_REQUEST_OUTCOMES = frozenset({UPLOAD_ACCEPTED, UPLOAD_REFUSED, UPLOAD_UNKNOWN, UPLOAD_PLANNED})


def upload_transition(current: str | None, target: str) -> str:
    """The upload state after moving `current` towards `target` (None: a new upload)."""
    if current == UPLOAD_CALLED_BACK and target in _REQUEST_OUTCOMES - {UPLOAD_PLANNED}:
        return UPLOAD_CALLED_BACK
    if target == UPLOAD_PLANNED and current == UPLOAD_SENDING:
        return UPLOAD_PLANNED  # the request never left: the same file may be sent again
    if current not in _UPLOAD_SOURCES.get(target, frozenset()):
        raise InvalidTransition(f"upload cannot go from {current or 'nothing'} to {target}")
    return target


# --- classification and retries ------------------------------------------------------------

_TRANSIENT_STATUSES = frozenset({401, 403, 404, 408, 425, 429})
_TRANSIENT_WORDS = re.compile(
    r"busy|try again|temporar|locked|time[- ]?out|timed out|rate limit|too many|unavailable|"
    r"overload|maintenance",
    re.IGNORECASE,
)


def classify_rejection(
    status: int | None,
    field_errors: Mapping[str, Any] | None,
    message: str | None,
) -> str:
    """`permanent` (the job's data must change) or `transient` (the same job may succeed later).

    See the module docstring for the table.
    """
    if status is not None and (status in _TRANSIENT_STATUSES or status >= 500):
        return TRANSIENT
    texts = [message or ""]
    for messages in (field_errors or {}).values():
        texts.extend(str(m) for m in (messages if isinstance(messages, list) else [messages]))
    if any(_TRANSIENT_WORDS.search(text) for text in texts):
        return TRANSIENT
    return PERMANENT


def format_error(
    status: int | None, message: str | None, field_errors: Mapping[str, Any] | None
) -> str:
    """One line for `last_error`: the status, the API's message and every field error."""
    parts = [f"HTTP {status}" if status is not None else "callback"]
    if message:
        parts.append(str(message))
    for name, messages in sorted((field_errors or {}).items()):
        listed = messages if isinstance(messages, list) else [messages]
        parts.append(f"{name}: {' '.join(str(m) for m in listed)}")
    return _truncate("; ".join(parts))


@dataclass(frozen=True)
class RetryPolicy:
    """How often a job is sent before a person is asked, and how long to wait in between."""

    max_attempts: int = 5
    base: timedelta = timedelta(minutes=1)
    cap: timedelta = timedelta(hours=1)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        return cls(
            max_attempts=settings.retry_max_attempts,
            base=timedelta(seconds=settings.retry_base_seconds),
            cap=timedelta(seconds=settings.retry_cap_seconds),
        )


def next_attempt_at(attempts: int, now: datetime, base: timedelta, cap: timedelta) -> datetime:
    """When to send again after `attempts` sends: base, 2 x base, 4 x base, ... at most cap."""
    if attempts <= 0:
        return now
    # Bound the exponent so a large attempt count cannot overflow timedelta before the cap.
    delay = base * (2 ** min(attempts - 1, 32))
    return now + min(delay, cap)


def resolve_rejected(
    record: JobRecord, now: datetime, policy: RetryPolicy
) -> tuple[str, dict[str, Any]]:
    """The event that settles a `rejected` job: retry, or escalate."""
    if record.rejection_class == PERMANENT:
        return ESCALATED_EVENT, {"reason": "permanent rejection: the data must change"}
    if record.attempts >= policy.max_attempts:
        return RETRIES_EXHAUSTED, {"reason": f"{record.attempts} attempts"}
    return RETRY_SCHEDULED, {
        "next_attempt_at": next_attempt_at(record.attempts, now, policy.base, policy.cap)
    }


def resolve_absent(
    record: JobRecord, now: datetime, policy: RetryPolicy
) -> tuple[str, dict[str, Any]]:
    """The event that settles an `unknown` job that a probe did not find in Fleet."""
    if record.attempts >= policy.max_attempts:
        return RETRIES_EXHAUSTED, {"reason": f"{record.attempts} attempts, never confirmed"}
    return PROBE_ABSENT, {
        "next_attempt_at": next_attempt_at(record.attempts, now, policy.base, policy.cap)
    }


def _truncate(text: str | None) -> str | None:
    if text is None or len(text) <= MAX_ERROR_CHARS:
        return text
    return text[: MAX_ERROR_CHARS - 1] + "…"
