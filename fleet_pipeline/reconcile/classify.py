"""Every expected job of a day in exactly one class, computed in the database (set-based SQL).

| class                   | from the ledger                                                  |
| ----------------------- | ---------------------------------------------------------------- |
| created                 | `created`, with the Fleet `job_id`                               |
| created_twice           | `created`, and Fleet was seen holding a second job (duplicate)  |
| rejected_by_api         | `rejected`, or `escalated` after the API said no (its errors)    |
| rejected_by_validation  | `rejected_invalid`, failed rows that have no reference, and the  |
|                         | further rows of a delivery number the ERP repeats                |
| awaiting_confirmation   | `in_flight`, or `submitted` before its callback deadline         |
| overdue                 | `submitted` past the deadline, `unknown` (to look up by          |
|                         | reference), `escalated` without an answer (retries spent)       |
| not_sent                | `queued`: never sent, or found absent and waiting for its retry  |
| unexpected              | callback rows naming a reference the ledger holds no job for     |

Jobs `withdrawn` (the ERP no longer lists them for the day) are not part of the day's
extraction and have no row. `classes` is the SELECT; `write_classes` replaces the day's rows of
the `reconciliation` table with it; `status` (and `fleet-pipeline status`) counts it live.
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.callback_tables import callback_results
from fleet_pipeline.ledger.reconcile_tables import reconciliation
from fleet_pipeline.ledger.tables import job_events, jobs, uploads, validation_failures
from fleet_pipeline.storage import partition_dir

COLUMNS = ("partition_date", "reference_number", "row_position", "status", "ledger_state",
           "rejection_class", "fleet_job_id", "upload_id", "attempts", "planned_at", "since",
           "detail", "reconciled_at")
# What the erp_deliveries asset writes per day (erp/extract.py).
EXTRACTION = ("erp_deliveries", "deliveries.parquet")


def job_status(now: datetime) -> sa.ColumnElement[str]:
    """The class of a job row of `jobs` (see the module's table)."""
    # One pass over the audit trail's duplicates, not a look-up per job.
    duplicate = jobs.c.reference_number.in_(
        sa.select(job_events.c.reference_number).where(job_events.c.event == st.DUPLICATE_FOUND))
    state = jobs.c.state
    return sa.case(
        ((state == st.CREATED) & duplicate, rt.CREATED_TWICE),
        (state == st.CREATED, rt.CREATED),
        (state == st.REJECTED_INVALID, rt.REJECTED_BY_VALIDATION),
        (state == st.REJECTED, rt.REJECTED_BY_API),
        ((state == st.ESCALATED) & jobs.c.rejection_class.is_not(None), rt.REJECTED_BY_API),
        (state == st.IN_FLIGHT, rt.AWAITING_CONFIRMATION),
        ((state == st.SUBMITTED) & (jobs.c.deadline_at > now), rt.AWAITING_CONFIRMATION),
        (state.in_((st.SUBMITTED, st.UNKNOWN, st.ESCALATED)), rt.OVERDUE),
        else_=rt.NOT_SENT,
    )


def classes(day: date, now: datetime) -> list[sa.Select]:
    """SELECTs of the day's rows, in COLUMNS order: jobs, nameless invalid rows, further rows
    of a repeated delivery number, unexpected."""
    stamp = sa.literal(now, type_=reconciliation.c.reconciled_at.type)
    null_text, null_int = sa.null().cast(sa.String), sa.null().cast(sa.Integer)
    null_time = sa.null().cast(reconciliation.c.since.type)
    of_jobs = (
        sa.select(jobs.c.partition_date, jobs.c.reference_number, null_int,
                  job_status(now), jobs.c.state, jobs.c.rejection_class, jobs.c.fleet_job_id,
                  jobs.c.upload_id, jobs.c.attempts, jobs.c.created_at, jobs.c.state_changed_at,
                  jobs.c.last_error, stamp)
        .where(jobs.c.partition_date == day, jobs.c.state != st.WITHDRAWN)
    )
    vf = validation_failures
    why = sa.func.coalesce(vf.c.column_name + sa.literal(": "), "") + vf.c.check_name
    nameless = (
        sa.select(vf.c.partition_date, null_text, vf.c.row_position,
                  sa.literal(rt.REJECTED_BY_VALIDATION), null_text, null_text,
                  sa.null().cast(sa.BigInteger), null_text, null_int,
                  sa.func.min(vf.c.recorded_at), sa.func.min(vf.c.recorded_at),
                  sa.literal("failed validation: ") + sa.func.min(why), stamp)
        .where(vf.c.partition_date == day, vf.c.reference_number.is_(None),
               sa.func.coalesce(vf.c.record, "delivery") == "delivery")
        .group_by(vf.c.partition_date, vf.c.row_position)
    )
    # A delivery number the ERP lists on several rows of the day has one job (its first row);
    # each further row is an extraction row of its own, rejected, told apart by its position.
    delivery_rows = sa.and_(vf.c.partition_date == day, vf.c.reference_number.is_not(None),
                            sa.func.coalesce(vf.c.record, "delivery") == "delivery")
    first = (sa.select(vf.c.reference_number, sa.func.min(vf.c.row_position).label("position"))
             .where(delivery_rows).group_by(vf.c.reference_number).subquery())
    copies = (
        sa.select(vf.c.partition_date, null_text, vf.c.row_position,
                  sa.literal(rt.REJECTED_BY_VALIDATION), null_text, null_text,
                  sa.null().cast(sa.BigInteger), null_text, null_int,
                  sa.func.min(vf.c.recorded_at), sa.func.min(vf.c.recorded_at),
                  sa.literal("failed validation: ") + sa.func.min(why)
                  + sa.literal("; another row of delivery ") + vf.c.reference_number, stamp)
        .select_from(vf.join(first, first.c.reference_number == vf.c.reference_number))
        .where(delivery_rows, vf.c.row_position > first.c.position)
        .group_by(vf.c.partition_date, vf.c.row_position, vf.c.reference_number)
    )
    cr = callback_results
    unexpected = (
        sa.select(uploads.c.partition_date, cr.c.reference_number, null_int,
                  sa.literal(rt.UNEXPECTED), null_text, null_text, sa.func.max(cr.c.fleet_job_id),
                  sa.func.min(cr.c.upload_id), null_int, null_time, null_time,
                  sa.literal("in a callback of this day, not sent by this pipeline"), stamp)
        .select_from(cr.join(uploads, uploads.c.upload_id == cr.c.upload_id))
        .where(uploads.c.partition_date == day, cr.c.unexpected,
               ~sa.exists().where(jobs.c.reference_number == cr.c.reference_number))
        .group_by(uploads.c.partition_date, cr.c.reference_number)
    )
    return [of_jobs, nameless, copies, unexpected]


def write_classes(conn: sa.Connection, day: date, now: datetime) -> dict[str, int]:
    """Replace the day's reconciliation rows; returns the count per class (all listed)."""
    conn.execute(sa.delete(reconciliation).where(reconciliation.c.partition_date == day))
    for select in classes(day, now):
        conn.execute(reconciliation.insert().from_select(list(COLUMNS), select))
    return stored_counts(conn, day)


def stored_counts(conn: sa.Connection, day: date) -> dict[str, int]:
    counts = dict.fromkeys(rt.STATUSES, 0)
    query = (sa.select(reconciliation.c.status, sa.func.count())
             .where(reconciliation.c.partition_date == day)
             .group_by(reconciliation.c.status))
    counts.update(dict(conn.execute(query).all()))
    return counts


def live_counts(conn: sa.Connection, day: date, now: datetime) -> dict[str, int]:
    """The count per class as the ledger stands now, without writing anything."""
    rows = sa.union_all(*classes(day, now)).subquery()
    status = rows.c[3]
    counts = dict.fromkeys(rt.STATUSES, 0)
    counts.update(dict(conn.execute(sa.select(status, sa.func.count()).group_by(status)).all()))
    return counts


def extracted_rows(data_dir: Path, day: date) -> int | None:
    """How many deliveries the day's ERP extraction holds (None: no extraction on disk); read
    from the Parquet footer, not the rows."""
    path = partition_dir(data_dir, EXTRACTION[0], day) / EXTRACTION[1]
    return pq.ParquetFile(path).metadata.num_rows if path.exists() else None


def expected_total(counts: dict[str, int]) -> int:
    return sum(counts[status] for status in rt.EXPECTED_STATUSES)
