"""What a scenario left, checked against the ERP and the simulator's own records.

- No reference number is created twice in Fleet.
- Every pending ERP delivery of the day is created, rejected with a reason, escalated, or
  visibly awaiting confirmation with a deadline; the reconciliation's classes cover the
  day's extraction row for row.
- The ledger agrees with the simulator job by job: a job the ledger holds as created has the
  simulator's job id for its reference, and a job the simulator created is created in the
  ledger with that id (or awaits its callback before its deadline).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.reconcile_tables import escalations, reconciliation
from fleet_pipeline.ledger.tables import jobs

# Most problems listed per scenario; the count says how many there were.
SHOWN = 5
SETTLED = {rt.CREATED, rt.REJECTED_BY_API, rt.REJECTED_BY_VALIDATION}


def erp_deliveries(erp: sa.Engine, day: date) -> list[str | None]:
    """The day's pending delivery numbers, straight from the ERP (duplicates and blanks kept)."""
    query = sa.text("SELECT delivery_no FROM delivery_notes WHERE status = 'pending' "
                    "AND ship_date >= :start AND ship_date < :end")
    with erp.connect() as conn:
        return [row[0] for row in conn.execute(
            query, {"start": day, "end": day + timedelta(days=1)})]


def check(erp_refs: list[str | None], ledger: sa.Engine, fleet: dict[str, list[int]],
          day: date) -> tuple[list[str], Counter]:
    """(problems, outcome counts) of the day; no problem means the scenario passed."""
    problems: list[str] = []
    now = datetime.now(UTC)
    with ledger.connect() as conn:
        ledger_jobs = {row.reference_number: row for row in conn.execute(
            sa.select(jobs).where(jobs.c.partition_date == day))}
        classes = conn.execute(sa.select(
            reconciliation.c.reference_number, reconciliation.c.status,
            reconciliation.c.detail).where(reconciliation.c.partition_date == day)).all()
        escalated = set(conn.scalars(sa.select(escalations.c.reference_number).where(
            escalations.c.partition_date == day, escalations.c.resolved_at.is_(None))))

    for reference, ids in fleet.items():
        if len(ids) > 1:
            problems.append(f"{reference} created {len(ids)} times in Fleet: {ids}")
    expected = [row for row in classes if row.status != rt.UNEXPECTED]
    if len(expected) != len(erp_refs):
        problems.append(f"the reconciliation classes {len(expected)} rows, the ERP has "
                        f"{len(erp_refs)} pending deliveries")
    status_of = {row.reference_number: row for row in expected if row.reference_number}
    outcomes: Counter = Counter()
    for reference in dict.fromkeys(ref for ref in erp_refs if ref):
        job = ledger_jobs.get(reference)
        row = status_of.get(reference)
        outcome, problem = _outcome(reference, job, row, reference in escalated, now)
        outcomes[outcome] += 1
        if problem:
            problems.append(problem)
    outcomes["no reference"] = sum(1 for ref in erp_refs if not ref)

    erp_set = {ref for ref in erp_refs if ref}
    for reference, ids in fleet.items():
        job = ledger_jobs.get(reference)
        if reference not in erp_set:
            problems.append(f"{reference}: in Fleet ({ids}) but not an ERP delivery of the day")
        elif job is None:
            problems.append(f"{reference}: in Fleet ({ids}) but not in the ledger")
        elif job.state == st.CREATED:
            if job.fleet_job_id not in ids:
                problems.append(f"{reference}: ledger job id {job.fleet_job_id}, Fleet {ids}")
        elif not _awaiting(job, now):
            problems.append(f"{reference}: Fleet created job {ids} but the ledger holds it "
                            f"{job.state}")
    for reference, job in ledger_jobs.items():
        if job.state == st.CREATED and reference not in fleet:
            problems.append(f"{reference}: created in the ledger (job {job.fleet_job_id}) but "
                            "absent from Fleet")
    return problems, outcomes


def _awaiting(job, now: datetime) -> bool:
    """A job sent and waiting for its answer, with a deadline that has not passed."""
    deadline = job.deadline_at
    if deadline is not None and deadline.tzinfo is None:
        deadline = deadline.replace(tzinfo=UTC)
    return job.state == st.SUBMITTED and deadline is not None and deadline > now


def _outcome(reference: str, job, row, escalated: bool, now: datetime
             ) -> tuple[str, str | None]:
    if row is None:
        return "unclassed", f"{reference}: an ERP delivery with no reconciliation class"
    if row.status == rt.CREATED_TWICE:
        return row.status, f"{reference}: created twice"
    if row.status in SETTLED:
        if row.status != rt.CREATED and not (row.detail or (job is not None and job.last_error)):
            return row.status, f"{reference}: {row.status} without a reason"
        if row.status == rt.CREATED and (job is None or job.state != st.CREATED):
            return row.status, f"{reference}: classed created, ledger {job and job.state}"
        return row.status, None
    if escalated:
        return "escalated", None
    if job is not None and _awaiting(job, now):
        return rt.AWAITING_CONFIRMATION, None
    state = job.state if job is not None else None
    return row.status, f"{reference}: left {row.status} (ledger {state}), not escalated"
