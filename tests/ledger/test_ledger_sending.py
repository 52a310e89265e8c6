"""Intent before the request, outcome after it: bulk uploads, single creates, callbacks,
recovery after a crash, probes and retries, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from fleet_pipeline.ledger import repository as repo
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.states import InvalidTransition, RetryPolicy
from fleet_pipeline.ledger.tables import jobs, uploads

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(hours=2)
POLICY = RetryPolicy(max_attempts=3, base=timedelta(minutes=1), cap=timedelta(hours=1))
REFS = ["CART0000", "CART0001", "CART0002"]


@pytest.fixture
def ledger(engine):
    """The engine, with three queued jobs planned for DAY."""
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, [(r, f"h-{r}", "{}") for r in REFS], now=NOW)
    return engine


def _states(conn: sa.Connection) -> dict[str, str]:
    return dict(conn.execute(sa.select(jobs.c.reference_number, jobs.c.state)).all())


def _upload(conn: sa.Connection, upload_id: str = "U1") -> dict:
    return dict(conn.execute(sa.select(uploads).where(uploads.c.upload_id == upload_id)
                             ).one()._mapping)


def _intent(conn: sa.Connection, upload_id: str = "U1", refs=REFS, **kwargs) -> None:
    repo.record_upload_intent(conn, upload_id, DAY, refs, file_hash="f" * 64, csv_bytes=2048,
                              webhook_token_hash=repo.hash_webhook_token("tok"), now=NOW,
                              **kwargs)


def test_bulk_upload_from_intent_to_callback(ledger):
    with ledger.begin() as conn:
        _intent(conn, run_id="run-7")
        assert set(_states(conn).values()) == {st.IN_FLIGHT}
        upload = _upload(conn)
        assert (upload["state"], upload["job_count"], upload["csv_bytes"], upload["sent_at"]) == (
            st.UPLOAD_SENDING, 3, 2048, NOW)
        job = repo.get_job(conn, "CART0000")
        assert (job.endpoint, job.upload_id, job.attempts) == (st.BULK, "U1", 1)
    with ledger.begin() as conn:
        moved = repo.record_upload_outcome(conn, "U1", "accepted", http_status=200,
                                           response_body='{"data": {}}', deadline_at=DEADLINE,
                                           now=NOW)
        assert moved == REFS
        assert repo.get_job(conn, "CART0000").deadline_at == DEADLINE
        assert _upload(conn)["state"] == st.UPLOAD_ACCEPTED
    with ledger.begin() as conn:
        created = repo.mark_created(conn, [("CART0000", 119582, "ORD-1"),
                                           ("CART0001", "119583", None)], now=NOW)
        rejected = repo.mark_rejected(conn, [("CART0002", None, {"job_type_id": ["invalid"]},
                                              None)], upload_id="U1", now=NOW)
        repo.mark_upload_called_back(conn, "U1", now=NOW)
        assert (created.changed, rejected.changed) == (["CART0000", "CART0001"], ["CART0002"])
        assert _upload(conn)["state"] == st.UPLOAD_CALLED_BACK
        assert repo.job_counts_by_state(conn, DAY) == {
            **dict.fromkeys(st.STATES, 0), st.CREATED: 2, st.REJECTED: 1}
        job = repo.get_job(conn, "CART0001")
        assert (job.fleet_job_id, job.fleet_order_id) == (119583, None)
        rejected_job = repo.get_job(conn, "CART0002")
        assert (rejected_job.rejection_class, rejected_job.last_error) == (
            st.PERMANENT, "callback; job_type_id: invalid")
        assert [(h["event"], h["run_id"]) for h in repo.job_history(conn, "CART0000")] == [
            (st.PLANNED, None), (st.BULK_INTENT, "run-7"), (st.BULK_ACCEPTED, None),
            (st.CREATED_EVENT, None)]


def test_an_intent_is_all_or_nothing(ledger):
    with ledger.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.reference_number == "CART0001")
                     .values(state=st.CREATED, fleet_job_id=1))
    with pytest.raises(repo.JobsNotSendable) as raised, ledger.begin() as conn:
        _intent(conn, refs=REFS + ["NOT-PLANNED"])
    assert raised.value.references == ["CART0001", "NOT-PLANNED"]
    with ledger.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(uploads)) == 0
        assert _states(conn)["CART0000"] == st.QUEUED


def test_an_upload_is_never_sent_twice(ledger):
    with ledger.begin() as conn:
        _intent(conn, refs=REFS[:1])
    with pytest.raises(InvalidTransition), ledger.begin() as conn:
        _intent(conn, refs=REFS[1:])


def test_a_planned_upload_can_be_sent(ledger):
    with ledger.begin() as conn:
        repo.plan_upload(conn, "U1", DAY, job_count=3, file_hash="a" * 64, now=NOW)
        assert repo.upload_counts_by_state(conn, DAY)[st.UPLOAD_PLANNED] == 1
        _intent(conn)
        assert _upload(conn)["state"] == st.UPLOAD_SENDING


def test_the_callback_may_come_before_the_answer_to_the_post(ledger):
    with ledger.begin() as conn:
        _intent(conn)
    with ledger.begin() as conn:
        repo.mark_created(conn, [("CART0000", 1, None)], now=NOW)
        repo.mark_rejected(conn, [("CART0001", None, {"stops": ["required"]}, None)],
                           upload_id="U1", now=NOW)
        repo.mark_upload_called_back(conn, "U1", now=NOW)
    with ledger.begin() as conn:
        moved = repo.record_upload_outcome(conn, "U1", "accepted", http_status=200,
                                           deadline_at=DEADLINE, now=NOW)
        assert moved == ["CART0002"]
        assert _states(conn) == {"CART0000": st.CREATED, "CART0001": st.REJECTED,
                                 "CART0002": st.SUBMITTED}
        upload = _upload(conn)
        assert (upload["state"], upload["http_status"]) == (st.UPLOAD_CALLED_BACK, 200)


@pytest.mark.parametrize(("outcome", "kwargs", "job_state", "upload_state"), [
    ("refused", {"http_status": 429, "message": "Too Many Attempts."}, st.REJECTED,
     st.UPLOAD_REFUSED),
    ("unknown", {"message": "ReadTimeout"}, st.UNKNOWN, st.UPLOAD_UNKNOWN),
    ("not_sent", {"message": "ConnectError"}, st.QUEUED, st.UPLOAD_PLANNED),
])
def test_bulk_outcomes(ledger, outcome, kwargs, job_state, upload_state):
    with ledger.begin() as conn:
        _intent(conn)
    with ledger.begin() as conn:
        repo.record_upload_outcome(conn, "U1", outcome, now=NOW, **kwargs)
        assert set(_states(conn).values()) == {job_state}
        upload = _upload(conn)
        assert upload["state"] == upload_state
        assert upload["last_error"] is not None and kwargs["message"] in upload["last_error"]
        job = repo.get_job(conn, "CART0000")
    if outcome == "refused":
        assert (job.rejection_class, job.last_error) == (
            st.TRANSIENT, "HTTP 429; Too Many Attempts.")
    if outcome == "not_sent":
        assert job.attempts == 0
        with ledger.begin() as conn:  # the same upload goes out again
            _intent(conn)
            assert _upload(conn)["state"] == st.UPLOAD_SENDING


def test_an_accepted_upload_needs_a_deadline(ledger):
    with ledger.begin() as conn:
        _intent(conn)
        with pytest.raises(ValueError, match="deadline"):
            repo.record_upload_outcome(conn, "U1", "accepted", http_status=200, now=NOW)
        with pytest.raises(repo.UploadNotFound):
            repo.record_upload_outcome(conn, "U9", "unknown", now=NOW)


def test_created_twice_is_ignored_and_another_job_id_is_a_duplicate(ledger):
    with ledger.begin() as conn:
        _intent(conn)
        repo.mark_created(conn, [("CART0000", 1, "A")], now=NOW)
        again = repo.mark_created(conn, [("CART0000", 1, "A"), ("CART0001", 2, "B"),
                                         ("NOPE", 3, None)], now=NOW)
        assert (again.ignored, again.changed, again.missing) == (["CART0000"], ["CART0001"],
                                                                  ["NOPE"])
        twin = repo.mark_created(conn, [("CART0000", 99, "Z")], now=NOW)
        assert twin.duplicates == ["CART0000"]
        job = repo.get_job(conn, "CART0000")
        assert (job.state, job.fleet_job_id) == (st.CREATED, 1)
        assert "99" in job.last_error
        assert repo.job_history(conn, "CART0000")[-1]["event"] == st.DUPLICATE_FOUND


def test_a_late_callback_of_an_older_upload_cannot_undo_a_newer_attempt(ledger):
    with ledger.begin() as conn:
        _intent(conn, refs=REFS[:1])
        repo.record_upload_outcome(conn, "U1", "not_sent", now=NOW)
        repo.plan_upload(conn, "U2", DAY, job_count=1, now=NOW)
        _intent(conn, "U2", refs=REFS[:1])
        stale = repo.mark_rejected(conn, [("CART0000", None, {"x": ["no"]}, None)],
                                   upload_id="U1", now=NOW)
        assert stale.ignored == ["CART0000"]
        assert repo.get_job(conn, "CART0000").state == st.IN_FLIGHT


@pytest.mark.parametrize(("outcome", "kwargs", "state"), [
    ("created", {"fleet_job_id": 42, "fleet_order_id": "ORD-42"}, st.CREATED),
    ("rejected", {"http_status": 422, "message": "The given data was invalid.",
                  "field_errors": {"scheduled_delivery_ts": ["must be in the future"]}},
     st.REJECTED),
    ("unknown", {"message": "ReadTimeout after 30 s"}, st.UNKNOWN),
    ("not_sent", {"message": "ConnectError"}, st.QUEUED),
])
def test_single_create_from_intent_to_outcome(ledger, outcome, kwargs, state):
    with ledger.begin() as conn:
        intended = repo.record_single_intent(conn, "CART0001", now=NOW)
        assert (intended.state, intended.endpoint, intended.attempts) == (
            st.IN_FLIGHT, st.SINGLE, 1)
    with ledger.begin() as conn:
        applied = repo.record_single_outcome(conn, "CART0001", outcome, now=NOW, **kwargs)
        assert applied.changed == ["CART0001"]
        job = repo.get_job(conn, "CART0001")
        assert job.state == state
    if outcome == "created":
        assert (job.fleet_job_id, job.fleet_order_id) == (42, "ORD-42")
    if outcome == "rejected":
        assert job.rejection_class == st.PERMANENT and "scheduled_delivery_ts" in job.last_error


def test_a_single_intent_needs_a_queued_job(ledger):
    with ledger.begin() as conn:
        repo.record_single_intent(conn, "CART0000", now=NOW)
        with pytest.raises(InvalidTransition):
            repo.record_single_intent(conn, "CART0000", now=NOW)
        with pytest.raises(repo.JobsNotSendable):
            repo.record_single_intent(conn, "NOPE", now=NOW)


def test_killed_before_the_intent_commits_nothing_was_sent_or_recorded(ledger):
    with pytest.raises(KeyboardInterrupt), ledger.begin() as conn:
        _intent(conn)
        raise KeyboardInterrupt  # the process dies before COMMIT, so before any POST
    with ledger.connect() as conn:
        assert set(_states(conn).values()) == {st.QUEUED}
        assert conn.scalar(sa.select(sa.func.count()).select_from(uploads)) == 0


def test_killed_between_intent_and_outcome_the_jobs_are_probed_not_resent(ledger):
    with ledger.begin() as conn:
        _intent(conn, refs=REFS[:2])
        repo.record_single_intent(conn, "CART0002", now=NOW)
    # ... the sender dies here. The next run:
    with ledger.begin() as conn:
        too_soon = repo.recover_interrupted(conn, older_than=timedelta(minutes=15),
                                            now=NOW + timedelta(minutes=5))
        assert too_soon == []  # a request may still be running
        recovered = repo.recover_interrupted(conn, older_than=timedelta(minutes=15),
                                             now=NOW + timedelta(minutes=20))
        assert recovered == REFS
        assert set(_states(conn).values()) == {st.UNKNOWN}
        assert _upload(conn)["state"] == st.UPLOAD_UNKNOWN
        assert repo.jobs_to_send(conn, DAY, now=NOW + timedelta(hours=1)) == []
        assert repo.jobs_to_probe(conn, DAY) == REFS
    later = NOW + timedelta(minutes=21)
    with ledger.begin() as conn:
        probed = repo.record_probe_results(conn, found=[("CART0000", 500, "ORD-500")],
                                           absent=["CART0001", "CART0002"], policy=POLICY,
                                           now=later)
        assert probed.changed == REFS
        assert _states(conn) == {"CART0000": st.CREATED, "CART0001": st.QUEUED,
                                 "CART0002": st.QUEUED}
        assert repo.get_job(conn, "CART0001").next_attempt_at == later + timedelta(minutes=1)
        assert repo.jobs_to_send(conn, DAY, now=later) == []
        due = repo.jobs_to_send(conn, DAY, now=later + timedelta(minutes=1))
        assert [j.reference_number for j in due] == ["CART0001", "CART0002"]
        assert [h["event"] for h in repo.job_history(conn, "CART0001")] == [
            st.PLANNED, st.BULK_INTENT, st.OUTCOME_UNKNOWN, st.PROBE_ABSENT]


def test_a_job_never_confirmed_after_its_last_attempt_is_escalated(ledger):
    with ledger.begin() as conn:
        conn.execute(sa.update(jobs).values(state=st.UNKNOWN, attempts=3))
        repo.record_probe_results(conn, absent=["CART0000"], found=[("CART0001", 9, None)],
                                  policy=POLICY, now=NOW)
        job = repo.get_job(conn, "CART0000")
        assert job.state == st.ESCALATED and job.rejection_class is None
        ignored = repo.record_probe_results(conn, absent=["CART0001"], policy=POLICY, now=NOW)
        assert ignored.ignored == ["CART0001"]


def test_overdue_callbacks_make_jobs_unknown(ledger):
    with ledger.begin() as conn:
        _intent(conn)
        repo.record_upload_outcome(conn, "U1", "accepted", http_status=200,
                                   deadline_at=DEADLINE, now=NOW)
        repo.mark_created(conn, [("CART0000", 1, None)], now=NOW)
        assert repo.mark_overdue(conn, now=DEADLINE) == []
        assert repo.mark_overdue(conn, now=DEADLINE + timedelta(seconds=1)) == REFS[1:]
        assert _states(conn) == {"CART0000": st.CREATED, "CART0001": st.UNKNOWN,
                                 "CART0002": st.UNKNOWN}
        assert _upload(conn)["state"] == st.UPLOAD_OVERDUE
        # The callback may still arrive, late: it is the truth.
        repo.mark_created(conn, [("CART0001", 2, None)], now=NOW)
        repo.mark_upload_called_back(conn, "U1", now=NOW)
        assert _states(conn)["CART0001"] == st.CREATED


def test_retries_back_off_then_escalate(ledger):
    with ledger.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.reference_number == "CART0000")
                     .values(state=st.REJECTED, rejection_class=st.TRANSIENT, attempts=2))
        conn.execute(sa.update(jobs).where(jobs.c.reference_number == "CART0001")
                     .values(state=st.REJECTED, rejection_class=st.TRANSIENT, attempts=3))
        conn.execute(sa.update(jobs).where(jobs.c.reference_number == "CART0002")
                     .values(state=st.REJECTED, rejection_class=st.PERMANENT, attempts=1,
                             last_error="HTTP 422; stops: required"))
        settled = repo.schedule_retries(conn, policy=POLICY, partition_date=DAY, now=NOW)
        assert settled == {st.RETRY_SCHEDULED: ["CART0000"],
                           st.RETRIES_EXHAUSTED: ["CART0001"],
                           st.ESCALATED_EVENT: ["CART0002"]}
        assert _states(conn) == {"CART0000": st.QUEUED, "CART0001": st.ESCALATED,
                                 "CART0002": st.ESCALATED}
        assert repo.get_job(conn, "CART0000").next_attempt_at == NOW + timedelta(minutes=2)
        escalated = repo.get_job(conn, "CART0002")
        assert escalated.last_error.startswith("HTTP 422; stops: required (permanent")
        assert repo.schedule_retries(conn, policy=POLICY, now=NOW) == {}


def test_a_person_reopens_escalated_jobs(ledger):
    with ledger.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.reference_number == "CART0000")
                     .values(state=st.ESCALATED, rejection_class=st.TRANSIENT, attempts=5))
        conn.execute(sa.update(jobs).where(jobs.c.reference_number == "CART0001")
                     .values(state=st.ESCALATED, attempts=5))
        applied = repo.reopen(conn, REFS, reason="driver list fixed", now=NOW)
        assert (applied.changed, applied.ignored) == (["CART0000", "CART0001"], ["CART0002"])
        assert _states(conn) == {"CART0000": st.QUEUED, "CART0001": st.UNKNOWN,
                                 "CART0002": st.QUEUED}
        assert repo.get_job(conn, "CART0000").attempts == 0
        assert repo.job_history(conn, "CART0001")[-1]["detail"] == {
            "reason": "driver list fixed"}


def test_the_webhook_token_is_kept_only_as_a_hash(ledger):
    with ledger.begin() as conn:
        repo.record_upload_intent(conn, "U1", DAY, REFS, now=NOW,
                                  webhook_token_hash=repo.hash_webhook_token("s3cret-token"))
        assert repo.verify_webhook_token(conn, "U1", "s3cret-token")
        assert not repo.verify_webhook_token(conn, "U1", "guess")
        assert not repo.verify_webhook_token(conn, "U9", "s3cret-token")
        stored = " ".join(str(v) for v in _upload(conn).values())
        assert "s3cret-token" not in stored


def test_bulk_paths_make_few_statements_for_many_jobs(engine):
    """A thousand jobs through intent, answer and callback cost a handful of statements."""
    refs = [f"CART{i:05d}" for i in range(1000)]
    with engine.begin() as conn:
        repo.plan_jobs(conn, DAY, [(r, f"h{r}", "{}") for r in refs], now=NOW)
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute",
                    lambda *args: statements.append(args[2]))
    with engine.begin() as conn:
        repo.record_upload_intent(conn, "U1", DAY, refs, now=NOW)
        repo.record_upload_outcome(conn, "U1", "accepted", http_status=200,
                                   deadline_at=DEADLINE, now=NOW)
        repo.mark_created(conn, [(r, i, f"O{i}") for i, r in enumerate(refs[:600])], now=NOW)
        repo.mark_rejected(conn, [(r, None, {"x": ["bad"]}, None) for r in refs[600:]],
                           upload_id="U1", now=NOW)
        assert repo.job_counts_by_state(conn, DAY)[st.CREATED] == 600
    assert len(statements) < 40, statements
