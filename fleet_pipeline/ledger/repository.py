"""The ledger in the database: apply the state machine (states.py) to stored jobs.

Every function takes a SQLAlchemy Connection and writes the jobs' new states and their
job_events rows in the caller's transaction; none commits. Bulk paths are set-based (see
jobstore.py), so a partition of a million jobs costs thousands of statements, not millions.

Crash safety: the intent before the request, the outcome after it
-----------------------------------------------------------------
A sender commits each step in its own transaction:

1. bulk: `record_upload_intent` (upload `sending`, its jobs `in_flight`), COMMIT; only then
   POST the file. single: `record_single_intent` (job `in_flight`), COMMIT, then POST.
2. On the answer, in a new transaction: `record_upload_outcome` / `record_single_outcome` with
   `accepted` (bulk 200: jobs `submitted` until a deadline), `created` (single 200), `refused` /
   `rejected` (an explicit non-200 answer), `unknown` (time-out, 5xx, connection lost mid-request)
   or `not_sent` (the connection failed before a byte left). COMMIT.
3. Callback rows: `mark_created` / `mark_rejected`, then `mark_upload_called_back`.
4. Every run starts with `recover_interrupted` (jobs `in_flight` and uploads `sending` with no
   answer recorded for longer than any request can take become `unknown`) and `mark_overdue`
   (`submitted` jobs past their callback deadline become `unknown`); then `jobs_to_probe` ->
   GET by reference_number -> `record_probe_results` (found: `created`; absent: `queued` again).

Killed before 1 commits: nothing was sent and nothing changed. Killed between 1 and 2: the jobs
stay `in_flight`, step 4 makes them `unknown` and they are looked up by reference before any new
create. `jobs_to_send` returns `queued` jobs only, and a job is `queued` only when Fleet is known
not to hold it, so no path sends a job that may already exist.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.jobstore import (
    Applied,
    apply_event,
    apply_to_records,
    insert_events,
    insert_many,
    insert_row,
    load,
    save,
    select_records,
    utc_now,
)
from fleet_pipeline.ledger.states import InvalidTransition, JobRecord, RetryPolicy
from fleet_pipeline.ledger.tables import (
    MAX_RESPONSE_BODY_CHARS,
    job_events,
    jobs,
    uploads,
    validation_failures,
)


class JobsNotSendable(InvalidTransition):
    """Some jobs of an intended send are not `queued` (or not due): nothing was recorded."""

    def __init__(self, references: Sequence[str]) -> None:
        self.references = list(references)
        shown = ", ".join(self.references[:10])
        more = f" and {len(self.references) - 10} more" if len(self.references) > 10 else ""
        super().__init__(f"not queued or not due: {shown}{more}")


class UploadNotFound(LookupError):
    pass


@dataclass(frozen=True)
class PlanResult:
    inserted: int
    refreshed: int  # queued jobs whose payload was replaced before any send
    requeued: list[str]  # re-opened by a changed or returning ERP row
    unchanged: int
    # The ERP row changed, but Fleet holds (or may hold) the job as first sent.
    changed_after_send: list[tuple[str, str]]


@dataclass(frozen=True)
class QueuedJob:
    reference_number: str
    payload_hash: str
    payload: str
    attempts: int


# --- planning ------------------------------------------------------------------------------

# A job in these states comes back to the queue when the ERP lists it valid again, even with
# the payload it had.
_RETURNING = frozenset({st.REJECTED_INVALID, st.WITHDRAWN})


def plan_jobs(
    conn: sa.Connection,
    partition_date: date,
    planned: Iterable[tuple[str, str, str]],
    *,
    now: datetime | None = None,
    run_id: str | None = None,
) -> PlanResult:
    """Record the valid jobs of a partition: (reference_number, payload_hash, payload_json).

    New jobs become `queued`. A queued job with a new payload gets it. A job Fleet is known not
    to hold (rejected, rejected_invalid, withdrawn, escalated after a rejection) is re-queued
    when its payload changed or it comes back. Jobs sent, in flight, created or possibly created
    are left alone; those whose payload changed are returned in `changed_after_send`.
    """
    now = utc_now(now)
    incoming: dict[str, tuple[str, str]] = {}
    for reference, payload_hash, payload in planned:
        if reference in incoming:
            raise ValueError(f"reference_number {reference} planned twice")
        incoming[reference] = (payload_hash, payload)

    existing = load(conn, incoming, lock=False)
    # Planning is the same transition for every new job but for its reference and payload:
    # apply it once and stamp the result, which keeps a million-job partition cheap.
    fresh, planned_event = st.transition(JobRecord("", partition_date), st.PLANNED, now,
                                         payload_hash="")
    template = insert_row(fresh, now, payload=None)
    new_rows, new_events = [], []
    for reference, (payload_hash, payload) in incoming.items():
        if reference not in existing:
            new_rows.append(template | {"reference_number": reference,
                                        "payload_hash": payload_hash, "payload": payload})
            new_events.append(replace(planned_event, reference_number=reference,
                                      detail={"payload_hash": payload_hash}))
    insert_many(conn, jobs, new_rows)
    insert_events(conn, new_events, run_id)

    candidates = [r for r, rec in existing.items()
                  if rec.payload_hash != incoming[r][0] or rec.state in _RETURNING]
    refreshed, requeued, after_send, changes = 0, [], [], []
    for reference, record in load(conn, candidates, lock=True).items():
        payload_hash, payload = incoming[reference]
        if not st.allowed(record, st.ERP_ROW_CHANGED, now):
            after_send.append((reference, record.state))
            continue
        new, event = st.transition(record, st.ERP_ROW_CHANGED, now, payload_hash=payload_hash)
        changes.append((record, replace(new, partition_date=partition_date), event,
                        {"payload": payload}))
        if record.state == st.QUEUED:
            refreshed += 1
        else:
            requeued.append(reference)
    save(conn, changes, now, run_id)
    return PlanResult(
        inserted=len(new_rows), refreshed=refreshed, requeued=sorted(requeued),
        unchanged=len(existing) - len(candidates), changed_after_send=sorted(after_send),
    )


def record_validation_rejections(
    conn: sa.Connection,
    partition_date: date,
    failures: Any,
    *,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Applied:
    """Replace the partition's validation failures and move the failing jobs to rejected_invalid.

    `failures`: a DataFrame or mappings with `reference_number`, `record`, `row_position`,
    `column`, `check` and `value`, one per failed check (validation's FAILURE_COLUMNS); values
    arrive masked and are stored as given. Jobs Fleet holds or may hold keep their state
    (`ignored`); their failures are recorded all the same.
    """
    now = utc_now(now)
    rows = [_failure_row(f, partition_date, now) for f in _records_of(failures)]
    conn.execute(sa.delete(validation_failures)
                 .where(validation_failures.c.partition_date == partition_date))
    insert_many(conn, validation_failures, rows)

    reasons: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row["reference_number"] is not None:
            reasons[row["reference_number"]].add(
                f"{row['column_name']}: {row['check_name']}" if row["column_name"]
                else row["check_name"])
    existing = load(conn, reasons, lock=True)
    applied, new_rows, new_events, changes = Applied(), [], [], []
    for reference, why in reasons.items():
        record = existing.get(reference, JobRecord(reference, partition_date))
        if not st.allowed(record, st.VALIDATED_INVALID, now):
            applied.ignored.append(reference)
            continue
        new, event = st.transition(record, st.VALIDATED_INVALID, now, reasons=sorted(why))
        new = replace(new, partition_date=partition_date)
        if record.state is None:
            new_rows.append(insert_row(new, now, payload=None))
            new_events.append(event)
        elif new == record:
            continue  # still invalid for the same reasons
        else:
            changes.append((record, new, event, {}))
        applied.changed.append(reference)
    insert_many(conn, jobs, new_rows)
    insert_events(conn, new_events, run_id)
    save(conn, changes, now, run_id)
    return applied


def withdraw_absent(
    conn: sa.Connection,
    partition_date: date,
    present: Iterable[str],
    *,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Applied:
    """Withdraw the partition's jobs that the ERP no longer lists (valid or not) for the date.

    `present`: every reference the extraction returned, valid or invalid. Jobs Fleet holds or
    may hold cannot be withdrawn and come back in `ignored`, for a person to cancel in Fleet.
    """
    now = utc_now(now)
    present = set(present)
    gone = [r for r, in conn.execute(
        sa.select(jobs.c.reference_number)
        .where(jobs.c.partition_date == partition_date,
               jobs.c.state.not_in([st.CREATED, st.WITHDRAWN])))
        if r not in present]
    return apply_event(conn, st.ERP_ROW_REMOVED, {r: {} for r in gone}, now=now, run_id=run_id)


# --- sending -------------------------------------------------------------------------------

def jobs_to_send(
    conn: sa.Connection,
    partition_date: date,
    *,
    now: datetime | None = None,
    limit: int | None = None,
) -> list[QueuedJob]:
    """The partition's `queued` jobs that are due, by reference_number."""
    now = utc_now(now)
    query = (
        sa.select(jobs.c.reference_number, jobs.c.payload_hash, jobs.c.payload, jobs.c.attempts)
        .where(jobs.c.partition_date == partition_date, jobs.c.state == st.QUEUED,
               sa.or_(jobs.c.next_attempt_at.is_(None), jobs.c.next_attempt_at <= now))
        .order_by(jobs.c.reference_number)
        .limit(limit)
    )
    return [QueuedJob(*row) for row in conn.execute(query)]


def hash_webhook_token(token: str) -> str:
    """What the ledger keeps of an upload's webhook token (the token itself is a credential)."""
    return hashlib.sha256(token.encode()).hexdigest()


def verify_webhook_token(conn: sa.Connection, upload_id: str, token: str) -> bool:
    """True when `token` is the one the upload was sent with (constant-time comparison)."""
    stored = conn.scalar(sa.select(uploads.c.webhook_token_hash)
                         .where(uploads.c.upload_id == upload_id))
    return stored is not None and hmac.compare_digest(stored, hash_webhook_token(token))


def plan_upload(
    conn: sa.Connection,
    upload_id: str,
    partition_date: date,
    *,
    job_count: int,
    file_hash: str | None = None,
    csv_bytes: int | None = None,
    webhook_token_hash: str | None = None,
    now: datetime | None = None,
) -> None:
    """Record a cut batch as a `planned` upload (or re-plan one never sent)."""
    now = utc_now(now)
    current = _upload_state(conn, upload_id)
    st.upload_transition(current, st.UPLOAD_PLANNED)
    _put_upload(conn, upload_id, current, now, state=st.UPLOAD_PLANNED,
                partition_date=partition_date, job_count=job_count, file_hash=file_hash,
                csv_bytes=csv_bytes, webhook_token_hash=webhook_token_hash)


def record_upload_intent(
    conn: sa.Connection,
    upload_id: str,
    partition_date: date,
    references: Sequence[str],
    *,
    file_hash: str | None = None,
    csv_bytes: int | None = None,
    webhook_token_hash: str | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
) -> None:
    """Before POSTing a bulk file: the upload is `sending` and each of its jobs `in_flight`.

    All or nothing: raises JobsNotSendable (recording nothing) when a job is not queued and due,
    and InvalidTransition when the upload was sent before. Commit before sending.
    """
    now = utc_now(now)
    references = list(references)
    if not references or len(set(references)) != len(references):
        raise ValueError("an upload needs distinct reference numbers")
    current = _upload_state(conn, upload_id, lock=True)
    st.upload_transition(current, st.UPLOAD_SENDING)
    records = load(conn, references, lock=True)
    blocked = [r for r in references
               if r not in records or not st.allowed(records[r], st.BULK_INTENT, now)]
    if blocked:
        raise JobsNotSendable(blocked)
    _put_upload(conn, upload_id, current, now, state=st.UPLOAD_SENDING,
                partition_date=partition_date, job_count=len(references), file_hash=file_hash,
                csv_bytes=csv_bytes, webhook_token_hash=webhook_token_hash, sent_at=now)
    save(conn, [(rec, *st.transition(rec, st.BULK_INTENT, now, upload_id=upload_id), {})
                 for rec in records.values()], now, run_id)


_UPLOAD_OUTCOMES = {
    "accepted": (st.UPLOAD_ACCEPTED, st.BULK_ACCEPTED),
    "refused": (st.UPLOAD_REFUSED, st.BULK_REFUSED),
    "unknown": (st.UPLOAD_UNKNOWN, st.OUTCOME_UNKNOWN),
    "not_sent": (st.UPLOAD_PLANNED, st.REQUEST_NOT_SENT),
}


def record_upload_outcome(
    conn: sa.Connection,
    upload_id: str,
    outcome: str,
    *,
    http_status: int | None = None,
    message: str | None = None,
    field_errors: Mapping[str, Any] | None = None,
    response_body: str | None = None,
    deadline_at: datetime | None = None,
    next_attempt_at: datetime | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
) -> list[str]:
    """After a bulk POST: what the answer means for the upload and its `in_flight` jobs.

    `accepted` (200; `deadline_at` for the callback is required), `refused` (an explicit
    non-200: the jobs are `rejected`, classified), `unknown` (time-out, 5xx, connection lost)
    or `not_sent` (nothing left: the jobs are queued again, the upload planned again). Jobs the
    callback already settled are left alone. Returns the references moved.
    """
    now = utc_now(now)
    upload_state, event = _UPLOAD_OUTCOMES[outcome]
    if outcome == "accepted" and deadline_at is None:
        raise ValueError("an accepted upload needs the deadline of its callback")
    current = _upload_state(conn, upload_id, lock=True)
    if current is None:
        raise UploadNotFound(upload_id)
    error = (st.format_error(http_status, message, field_errors) if outcome == "refused"
             else message)
    values: dict[str, Any] = {
        "state": st.upload_transition(current, upload_state), "http_status": http_status,
        "response_body": _clip(response_body), "last_error": error,
    }
    if outcome == "accepted":
        values |= {"accepted_at": now, "deadline_at": deadline_at}
    _put_upload(conn, upload_id, current, now, **values)
    details = {
        "accepted": {"deadline_at": deadline_at},
        "refused": {"status": http_status, "message": message, "field_errors": field_errors},
        "unknown": {"reason": message},
        "not_sent": {"reason": message, "next_attempt_at": next_attempt_at},
    }[outcome]
    in_flight = select_records(conn, jobs.c.upload_id == upload_id, jobs.c.state == st.IN_FLIGHT)
    changes = [(rec, *st.transition(rec, event, now, upload_id=upload_id, **details), {})
               for rec in in_flight]
    save(conn, changes, now, run_id)
    return [rec.reference_number for rec in in_flight]


def record_single_intent(
    conn: sa.Connection, reference_number: str, *, now: datetime | None = None,
    run_id: str | None = None,
) -> JobRecord:
    """Before POSTing one job: it is `in_flight`. Commit before sending."""
    now = utc_now(now)
    record = load(conn, [reference_number], lock=True).get(reference_number)
    if record is None:
        raise JobsNotSendable([reference_number])
    new, event = st.transition(record, st.SINGLE_INTENT, now)
    save(conn, [(record, new, event, {})], now, run_id)
    return new


def record_single_outcome(
    conn: sa.Connection,
    reference_number: str,
    outcome: str,
    *,
    fleet_job_id: int | None = None,
    fleet_order_id: str | None = None,
    http_status: int | None = None,
    message: str | None = None,
    field_errors: Mapping[str, Any] | None = None,
    next_attempt_at: datetime | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Applied:
    """After POSTing one job: `created` (200, with the Fleet ids), `rejected` (an explicit
    non-200), `unknown` (time-out, 5xx, connection lost) or `not_sent`."""
    now = utc_now(now)
    if outcome == "created":
        return mark_created(conn, [(reference_number, fleet_job_id, fleet_order_id)],
                            source="response", now=now, run_id=run_id)
    event, details = {
        "rejected": (st.API_REJECTED,
                     {"status": http_status, "message": message, "field_errors": field_errors}),
        "unknown": (st.OUTCOME_UNKNOWN, {"reason": message}),
        "not_sent": (st.REQUEST_NOT_SENT, {"reason": message, "next_attempt_at": next_attempt_at}),
    }[outcome]
    return apply_event(conn, event, {reference_number: details}, now=now, run_id=run_id,
                       only=lambda rec: rec.state == st.IN_FLIGHT and rec.endpoint == st.SINGLE)


# --- outcomes from Fleet -------------------------------------------------------------------

def mark_created(
    conn: sa.Connection,
    created: Iterable[tuple[str, int, str | None]],
    *,
    source: str = "callback",
    now: datetime | None = None,
    run_id: str | None = None,
) -> Applied:
    """Fleet holds these jobs: (reference_number, fleet_job_id, fleet_order_id).

    Always recorded, whatever the job's state; the same job id twice is ignored, another job id
    for a job already created is recorded as a duplicate.
    """
    now = utc_now(now)
    found = {ref: (int(job_id), order_id) for ref, job_id, order_id in created}
    records = load(conn, found, lock=True)
    applied, changes = Applied(), []
    for reference, (job_id, order_id) in found.items():
        record = records.get(reference)
        if record is None:
            applied.missing.append(reference)
            continue
        if record.state == st.CREATED and record.fleet_job_id == job_id:
            applied.ignored.append(reference)
            continue
        event = st.DUPLICATE_FOUND if record.state == st.CREATED else st.CREATED_EVENT
        new, ev = st.transition(record, event, now, fleet_job_id=job_id,
                                fleet_order_id=order_id, source=source)
        changes.append((record, new, ev, {}))
        (applied.duplicates if event == st.DUPLICATE_FOUND else applied.changed).append(reference)
    save(conn, changes, now, run_id)
    return applied


def mark_rejected(
    conn: sa.Connection,
    rejected: Iterable[tuple[str, int | None, Mapping[str, Any] | None, str | None]],
    *,
    upload_id: str | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Applied:
    """The API refused these jobs: (reference_number, http_status, field_errors, message).

    With `upload_id` (a callback), only jobs whose latest send was that upload are touched: a
    late callback of an older upload cannot undo a newer attempt.
    """
    details = {ref: {"status": status, "field_errors": errors, "message": message}
               for ref, status, errors, message in rejected}
    return apply_event(conn, st.API_REJECTED, details, now=utc_now(now), run_id=run_id,
                       only=lambda rec: upload_id is None or rec.upload_id == upload_id)


def mark_upload_called_back(
    conn: sa.Connection, upload_id: str, *, now: datetime | None = None
) -> None:
    now = utc_now(now)
    current = _upload_state(conn, upload_id, lock=True)
    if current is None:
        raise UploadNotFound(upload_id)
    _put_upload(conn, upload_id, current, now,
                state=st.upload_transition(current, st.UPLOAD_CALLED_BACK))


def mark_overdue(
    conn: sa.Connection, *, now: datetime | None = None, run_id: str | None = None
) -> list[str]:
    """Accepted uploads past their deadline are `overdue`; their waiting jobs `unknown`."""
    now = utc_now(now)
    conn.execute(sa.update(uploads)
                 .where(uploads.c.state == st.UPLOAD_ACCEPTED, uploads.c.deadline_at < now)
                 .values(state=st.UPLOAD_OVERDUE, updated_at=now))
    late = select_records(conn, jobs.c.state == st.SUBMITTED, jobs.c.deadline_at < now)
    return apply_to_records(conn, late, st.CALLBACK_OVERDUE, now, run_id,
                            reason="no callback by the deadline")


def recover_interrupted(
    conn: sa.Connection,
    *,
    older_than: timedelta,
    now: datetime | None = None,
    run_id: str | None = None,
) -> list[str]:
    """Sends with no recorded answer for `older_than` (longer than any request may take) have
    lost their sender: the jobs become `unknown`, to be probed before any new create."""
    now = utc_now(now)
    cutoff = now - older_than
    reason = "no answer recorded: the sender was interrupted"
    conn.execute(sa.update(uploads)
                 .where(uploads.c.state == st.UPLOAD_SENDING, uploads.c.sent_at < cutoff)
                 .values(state=st.UPLOAD_UNKNOWN, last_error=reason, updated_at=now))
    stale = select_records(conn, jobs.c.state == st.IN_FLIGHT, jobs.c.state_changed_at < cutoff)
    return apply_to_records(conn, stale, st.OUTCOME_UNKNOWN, now, run_id, reason=reason)


def jobs_to_probe(
    conn: sa.Connection, partition_date: date | None = None, *, limit: int | None = None
) -> list[str]:
    """References of `unknown` jobs: look each up in Fleet before anything else."""
    query = sa.select(jobs.c.reference_number).where(jobs.c.state == st.UNKNOWN)
    if partition_date is not None:
        query = query.where(jobs.c.partition_date == partition_date)
    return list(conn.scalars(query.order_by(jobs.c.reference_number).limit(limit)))


def record_probe_results(
    conn: sa.Connection,
    *,
    found: Iterable[tuple[str, int, str | None]] = (),
    absent: Iterable[str] = (),
    policy: RetryPolicy,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Applied:
    """What GET /delivery/jobs?filter[reference_number]= said about `unknown` jobs."""
    now = utc_now(now)
    found_details = {ref: {"fleet_job_id": job_id, "fleet_order_id": order_id}
                     for ref, job_id, order_id in found}
    applied = apply_event(conn, st.PROBE_FOUND, found_details, now=now, run_id=run_id)
    absent = list(dict.fromkeys(absent))
    records = load(conn, absent, lock=True)
    changes = []
    for reference in absent:
        record = records.get(reference)
        if record is None:
            applied.missing.append(reference)
        elif record.state != st.UNKNOWN:
            applied.ignored.append(reference)
        else:
            event, details = st.resolve_absent(record, now, policy)
            changes.append((record, *st.transition(record, event, now, **details), {}))
            applied.changed.append(reference)
    save(conn, changes, now, run_id)
    return applied


def schedule_retries(
    conn: sa.Connection,
    *,
    policy: RetryPolicy,
    partition_date: date | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
) -> dict[str, list[str]]:
    """Settle `rejected` jobs: transient ones queued again after a back-off (or escalated once
    their attempts are spent), permanent ones escalated. Returns references by event."""
    now = utc_now(now)
    where = [jobs.c.state == st.REJECTED]
    if partition_date is not None:
        where.append(jobs.c.partition_date == partition_date)
    settled: dict[str, list[str]] = defaultdict(list)
    changes = []
    for record in select_records(conn, *where):
        event, details = st.resolve_rejected(record, now, policy)
        changes.append((record, *st.transition(record, event, now, **details), {}))
        settled[event].append(record.reference_number)
    save(conn, changes, now, run_id)
    return dict(settled)


def reopen(
    conn: sa.Connection,
    references: Iterable[str],
    *,
    reason: str,
    now: datetime | None = None,
    run_id: str | None = None,
) -> Applied:
    """A person re-opens escalated jobs: queued if Fleet is known not to hold them, else
    unknown (probed first)."""
    return apply_event(conn, st.REOPENED, {r: {"reason": reason} for r in references},
                       now=utc_now(now), run_id=run_id)


# --- reading -------------------------------------------------------------------------------

def get_job(conn: sa.Connection, reference_number: str) -> JobRecord | None:
    return load(conn, [reference_number], lock=False).get(reference_number)


def job_history(conn: sa.Connection, reference_number: str) -> list[dict[str, Any]]:
    """The job's audit trail, oldest first, with each event's detail decoded."""
    query = (sa.select(job_events).where(job_events.c.reference_number == reference_number)
             .order_by(job_events.c.id))
    return [{**row._asdict(), "detail": json.loads(row.detail) if row.detail else {}}
            for row in conn.execute(query)]


def job_counts_by_state(conn: sa.Connection, partition_date: date) -> dict[str, int]:
    """How many of the partition's jobs are in each state (every state listed, zeros too)."""
    return _counts(conn, jobs, st.STATES, partition_date)


def upload_counts_by_state(conn: sa.Connection, partition_date: date) -> dict[str, int]:
    return _counts(conn, uploads, st.UPLOAD_STATES, partition_date)


def _counts(conn: sa.Connection, table: sa.Table, names: Sequence[str], day: date
            ) -> dict[str, int]:
    counts = dict.fromkeys(names, 0)
    query = (sa.select(table.c.state, sa.func.count()).where(table.c.partition_date == day)
             .group_by(table.c.state))
    counts.update({state: n for state, n in conn.execute(query)})
    return counts


# --- uploads and validation rows ----------------------------------------------------------

def _upload_state(conn: sa.Connection, upload_id: str, *, lock: bool = False) -> str | None:
    query = sa.select(uploads.c.state).where(uploads.c.upload_id == upload_id)
    return conn.scalar(query.with_for_update() if lock else query)


def _put_upload(conn: sa.Connection, upload_id: str, current: str | None, now: datetime,
                **values: Any) -> None:
    if current is None:
        conn.execute(uploads.insert().values(upload_id=upload_id, created_at=now,
                                             updated_at=now, **values))
    else:
        conn.execute(sa.update(uploads).where(uploads.c.upload_id == upload_id)
                     .values(updated_at=now, **values))


def _records_of(failures: Any) -> Iterator[Mapping[str, Any]]:
    if hasattr(failures, "to_dict"):  # a pandas DataFrame
        yield from failures.to_dict("records")
    else:
        yield from failures


def _failure_row(failure: Mapping[str, Any], day: date, now: datetime) -> dict[str, Any]:
    reference, record, position, column, value = (
        _scalar(failure.get(key))
        for key in ("reference_number", "record", "row_position", "column", "value"))
    return {
        "partition_date": day,
        "reference_number": None if reference is None else str(reference),
        "record": record,
        "row_position": None if position is None else int(position),
        "column_name": None if column is None else str(column),
        "check_name": str(failure["check"]),
        "masked_value": None if value is None else _clip(str(value)),
        "recorded_at": now,
    }


def _scalar(value: Any) -> Any:
    """None for missing values, including the NaN, NaT and NA that pandas marks gaps with."""
    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value


def _clip(text: str | None) -> str | None:
    return text if text is None else text[:MAX_RESPONSE_BODY_CHARS]
