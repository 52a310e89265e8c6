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
extraction and have no row. `classes` is the SELECT; `write_classes` brings the day's rows of
`reconciliation_rows` (every class but `created`) in line with it, and the `reconciliation`
view adds the day's created jobs; `status` (and `fleet-pipeline status`) counts it live.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pyarrow.parquet as pq
import sqlalchemy as sa

from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.callback_tables import callback_results
from fleet_pipeline.ledger.reconcile_tables import (
    reconciliation,
    reconciliation_days,
    reconciliation_rows,
)
from fleet_pipeline.ledger.tables import job_events, jobs, uploads, validation_failures
from fleet_pipeline.storage import partition_dir

COLUMNS = ("partition_date", "reference_number", "row_position", "status", "ledger_state",
           "rejection_class", "fleet_job_id", "upload_id", "attempts", "planned_at", "since",
           "detail", "reconciled_at")
# The classes as computed, before they are compared with the stored rows.
_STAGED = COLUMNS[:-1]
_stage_metadata = sa.MetaData()
stage = sa.Table(
    "reconcile_class_stage",
    _stage_metadata,
    *(sa.Column(name, reconciliation_rows.c[name].type) for name in _STAGED),
    prefixes=["TEMPORARY"],
)
# SQLite only (see _replace_changed_staged); built once the stage is filled.
_STAGE_INDEX = sa.text(f"CREATE INDEX ix_{stage.name}_key ON {stage.name} "
                       "(status, reference_number, row_position)")
# What the erp_deliveries asset writes per day (erp/extract.py).
EXTRACTION = ("erp_deliveries", "deliveries.parquet")


def _duplicate() -> sa.ColumnElement[bool]:
    """The job's reference was seen created twice in Fleet."""
    # One pass over the audit trail's duplicates, not a look-up per job.
    # Rendered inline: SQLite uses the partial index ix_job_events_duplicate_found only for a
    # literal it can match against the index's WHERE, never for a bound parameter.
    return jobs.c.reference_number.in_(
        sa.select(job_events.c.reference_number)
        .where(job_events.c.event == sa.literal(st.DUPLICATE_FOUND, literal_execute=True)))


def job_status(now: datetime) -> sa.ColumnElement[str]:
    """The class of a job row of `jobs` (see the module's table)."""
    state = jobs.c.state
    return sa.case(
        ((state == st.CREATED) & _duplicate(), rt.CREATED_TWICE),
        (state == st.CREATED, rt.CREATED),
        (state == st.REJECTED_INVALID, rt.REJECTED_BY_VALIDATION),
        (state == st.REJECTED, rt.REJECTED_BY_API),
        ((state == st.ESCALATED) & jobs.c.rejection_class.is_not(None), rt.REJECTED_BY_API),
        (state == st.IN_FLIGHT, rt.AWAITING_CONFIRMATION),
        ((state == st.SUBMITTED) & (jobs.c.deadline_at > now), rt.AWAITING_CONFIRMATION),
        (state.in_((st.SUBMITTED, st.UNKNOWN, st.ESCALATED)), rt.OVERDUE),
        else_=rt.NOT_SENT,
    )


# The job states whose class is never `created` (withdrawn jobs have no class).
_STORED_STATES = tuple(state for state in st.STATES if state not in (st.CREATED, st.WITHDRAWN))


def classes(day: date, now: datetime, *, stored: bool = False) -> list[sa.Select]:
    """SELECTs of the day's rows, in COLUMNS order without `reconciled_at`: jobs, nameless
    invalid rows, further rows of a repeated delivery number, unexpected. `stored`: only the
    rows `reconciliation_rows` stores (every class but `created`)."""
    null_text, null_int = sa.null().cast(sa.String), sa.null().cast(sa.Integer)
    null_time = sa.null().cast(reconciliation.c.since.type)
    of_jobs = (
        sa.select(jobs.c.partition_date, jobs.c.reference_number, null_int,
                  job_status(now), jobs.c.state, jobs.c.rejection_class, jobs.c.fleet_job_id,
                  jobs.c.upload_id, jobs.c.attempts, jobs.c.created_at, jobs.c.state_changed_at,
                  jobs.c.last_error)
        .where(jobs.c.partition_date == day)
    )
    if stored:
        # A SELECT per state that is never `created`, and one of the duplicates' references:
        # each is found through an index, so the day's created jobs are never read. (With the
        # states in one IN list SQLite scans the table: its statistics keep only an average
        # count per (day, state).)
        of_jobs = [*(of_jobs.where(jobs.c.state == state) for state in _STORED_STATES),
                   of_jobs.where(jobs.c.state == st.CREATED, _duplicate())]
    else:
        of_jobs = [of_jobs.where(jobs.c.state != st.WITHDRAWN)]
    vf = validation_failures
    why = sa.func.coalesce(vf.c.column_name + sa.literal(": "), "") + vf.c.check_name
    nameless = (
        sa.select(vf.c.partition_date, null_text, vf.c.row_position,
                  sa.literal(rt.REJECTED_BY_VALIDATION), null_text, null_text,
                  sa.null().cast(sa.BigInteger), null_text, null_int,
                  sa.func.min(vf.c.recorded_at), sa.func.min(vf.c.recorded_at),
                  sa.literal("failed validation: ") + sa.func.min(why))
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
                  + sa.literal("; another row of delivery ") + vf.c.reference_number)
        .select_from(vf.join(first, first.c.reference_number == vf.c.reference_number))
        .where(delivery_rows, vf.c.row_position > first.c.position)
        .group_by(vf.c.partition_date, vf.c.row_position, vf.c.reference_number)
    )
    cr = callback_results
    unexpected = (
        sa.select(uploads.c.partition_date, cr.c.reference_number, null_int,
                  sa.literal(rt.UNEXPECTED), null_text, null_text, sa.func.max(cr.c.fleet_job_id),
                  sa.func.min(cr.c.upload_id), null_int, null_time, null_time,
                  sa.literal("in a callback of this day, not sent by this pipeline"))
        .select_from(cr.join(uploads, uploads.c.upload_id == cr.c.upload_id))
        .where(uploads.c.partition_date == day, cr.c.unexpected,
               ~sa.exists().where(jobs.c.reference_number == cr.c.reference_number))
        .group_by(uploads.c.partition_date, cr.c.reference_number)
    )
    return [*of_jobs, nameless, copies, unexpected]


def write_classes(conn: sa.Connection, day: date, now: datetime) -> dict[str, int]:
    """Bring the day's reconciliation rows in line with the ledger; returns the count per class
    (all listed). Only the stored rows (every class but `created`) whose values changed are
    deleted and inserted again, so a run that finds nothing new writes (almost) nothing. The
    rows kept keep their `reconciled_at` (when they last changed); `reconciliation_days`
    records the run, which is what makes the day's created jobs rows of the view."""
    with _planned_for_a_day(conn):
        if conn.dialect.name == "postgresql":
            counts = dict(conn.execute(_replace_changed(day, now)).all())
        else:
            r = reconciliation_rows.c
            stored = conn.scalar(sa.select(sa.literal(1)).where(r.partition_date == day).limit(1))
            if stored:
                _replace_changed_staged(conn, day, now)
            else:
                # Nothing to compare with: the classes go straight in, without a stage.
                rows = sa.union_all(*(
                    select.add_columns(sa.literal(now, type_=r.reconciled_at.type))
                    for select in classes(day, now, stored=True)))
                conn.execute(reconciliation_rows.insert().from_select(list(COLUMNS), rows))
            counts = None
    mark_reconciled(conn, day, now)
    if counts is None:
        return stored_counts(conn, day)
    return dict.fromkeys(rt.STATUSES, 0) | counts


# Measured on a day of 1M jobs when every job had a stored row (docs/benchmarks.md): JIT
# compiling the classes' CASE costs up to 1.6 s, a million stored rows hashed in about 130 MB,
# and a merge join sorted a million wide rows on both sides (10 s against 2.8 s for the hash
# join). Not measured again since: the memory now serves the day's classes, materialized once.
_DAY_SETTINGS = {"jit": "off", "work_mem": "128MB", "enable_mergejoin": "off"}


@contextmanager
def _planned_for_a_day(conn: sa.Connection) -> Iterator[None]:
    """PostgreSQL: `_DAY_SETTINGS` for the statements inside, local to the transaction and
    put back afterwards, so the rest of the transaction plans as before."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = {name: conn.scalar(sa.select(sa.func.current_setting(name)))
              for name in _DAY_SETTINGS}
    for name, value in _DAY_SETTINGS.items():
        conn.execute(sa.select(sa.func.set_config(name, value, True)))
    yield
    for name, value in before.items():
        conn.execute(sa.select(sa.func.set_config(name, value, True)))


def _replace_changed(day: date, now: datetime) -> sa.Select:
    """PostgreSQL: one statement, returning the count per class. The day's classes are
    computed once (`fresh`, read twice, so materialized); those but `created` and the day's
    stored rows meet in one hash full join on the row's key; a row on one side only, or whose
    values differ, is in `diff`: its stored row (if any) is deleted, its new row (if any)
    inserted. Every part reads the statement's snapshot, so the insert does not see the
    delete, and the counts are those of the rows written."""
    union = sa.union_all(*classes(day, now)).subquery("classes")
    fresh = sa.select(*(column.label(name) for name, column in zip(_STAGED, union.c,
                                                                   strict=True))).cte("fresh")
    f = sa.select(fresh).where(fresh.c.status != rt.CREATED).subquery("fresh_stored").c
    r = reconciliation_rows.c
    old = sa.select(r.id, *(r[name] for name in _STAGED)).where(r.partition_date == day) \
        .subquery("stored")
    key = sa.and_(
        old.c.status == f.status,
        sa.func.coalesce(old.c.reference_number, "") == sa.func.coalesce(f.reference_number, ""),
        sa.func.coalesce(old.c.row_position, -1) == sa.func.coalesce(f.row_position, -1))
    rest = [name for name in _STAGED
            if name not in ("partition_date", "status", "reference_number", "row_position")]
    diff = (
        sa.select(*(f[name] for name in _STAGED), old.c.id.label("old_id"))
        .select_from(f.status.table.join(old, key, full=True))
        .where(sa.or_(old.c.id.is_(None), f.status.is_(None),
                      *(old.c[name].is_distinct_from(f[name]) for name in rest)))
        .cte("diff")
    )
    gone = sa.delete(reconciliation_rows).where(
        r.id.in_(sa.select(diff.c.old_id).where(diff.c.old_id.is_not(None)))).cte("gone")
    new = (sa.select(*(diff.c[name] for name in _STAGED),
                     sa.literal(now, type_=r.reconciled_at.type))
           .where(diff.c.status.is_not(None)))
    written = reconciliation_rows.insert().from_select(list(COLUMNS), new).cte("written")
    return (sa.select(fresh.c.status, sa.func.count()).group_by(fresh.c.status)
            .add_cte(gone).add_cte(written))


def _replace_changed_staged(conn: sa.Connection, day: date, now: datetime) -> None:
    """SQLite (no hash join): the classes go to an indexed temporary stage. Stored rows without
    an identical staged row are deleted; the staged rows are inserted but for those still
    stored unchanged, found by looping over the day's stored rows (the stored side is indexed
    by day and status only) into a set of stage row ids."""
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    try:
        for select in classes(day, now, stored=True):
            conn.execute(stage.insert().from_select(list(_STAGED), select))
        conn.execute(_STAGE_INDEX)
        r = reconciliation_rows.c
        kept = []
        for keyed in (True, False):  # rows with a reference; nameless rows, by position
            conn.execute(sa.delete(reconciliation_rows).where(
                r.partition_date == day, _keyed(r, keyed),
                ~sa.exists().where(*_same(reconciliation_rows, stage, keyed))))
            kept.append(sa.select(sa.literal_column(f"{stage.name}.rowid"))
                        .select_from(reconciliation_rows.join(stage, sa.and_(
                            *_same(reconciliation_rows, stage, keyed))))
                        .where(r.partition_date == day, _keyed(r, keyed)))
        conn.execute(reconciliation_rows.insert().from_select(list(COLUMNS), sa.select(
            *(stage.c[name] for name in _STAGED), sa.literal(now, type_=r.reconciled_at.type))
            .where(sa.literal_column(f"{stage.name}.rowid").not_in(sa.union_all(*kept)))))
    finally:
        stage.drop(conn)


def _keyed(c: sa.ColumnCollection, keyed: bool) -> sa.ColumnElement[bool]:
    return c.reference_number.is_not(None) if keyed else c.reference_number.is_(None)


def _same(table: sa.Table, other: sa.Table, keyed: bool) -> list[sa.ColumnElement[bool]]:
    """`table`'s row holds exactly `other`'s values. Plain equality on the key (indexed on both
    sides), NULL-safe comparison for the rest."""
    key = "reference_number" if keyed else "row_position"
    rest = [name for name in _STAGED if name not in (key, "status", "partition_date")]
    return [table.c.status == other.c.status, table.c[key] == other.c[key],
            *(table.c[name].is_not_distinct_from(other.c[name]) for name in rest)]


def mark_reconciled(conn: sa.Connection, day: date, now: datetime) -> None:
    days = reconciliation_days
    if conn.execute(sa.update(days).where(days.c.partition_date == day)
                    .values(reconciled_at=now)).rowcount == 0:
        conn.execute(days.insert().values(partition_date=day, reconciled_at=now))


def last_reconciled(conn: sa.Connection, day: date) -> datetime | None:
    """When `day` was last reconciled (None: never)."""
    return conn.scalar(sa.select(reconciliation_days.c.reconciled_at)
                       .where(reconciliation_days.c.partition_date == day))


def stored_counts(conn: sa.Connection, day: date) -> dict[str, int]:
    """The count per class of the day as last reconciled: what the `reconciliation` view
    holds, counted without making its created rows."""
    r = reconciliation_rows.c
    counts = dict.fromkeys(rt.STATUSES, 0)
    counts.update(dict(conn.execute(
        sa.select(r.status, sa.func.count()).where(r.partition_date == day)
        .group_by(r.status)).all()))
    counts[rt.CREATED] = _created_count(conn, day)
    return counts


def _created_count(conn: sa.Connection, day: date) -> int:
    """The view's created rows of `day`: its created jobs (an index count), but those created
    after the run and those stored with another class (each found through an index)."""
    if last_reconciled(conn, day) is None:
        return 0  # the view has rows only for reconciled days
    j = jobs.c
    run = (sa.select(reconciliation_days.c.reconciled_at)
           .where(reconciliation_days.c.partition_date == day).scalar_subquery())
    created = (j.partition_date == day, j.state == st.CREATED)
    total = conn.scalar(sa.select(sa.func.count()).where(*created))
    if not total:
        return 0
    since_run = conn.scalar(sa.select(sa.func.count()).where(*created, j.state_changed_at > run))
    r = reconciliation_rows.c
    stored = conn.scalar(
        sa.select(sa.func.count(sa.distinct(j.reference_number)))
        .select_from(reconciliation_rows.join(jobs, j.reference_number == r.reference_number))
        .where(r.partition_date == day, *created, j.state_changed_at <= run))
    return total - since_run - stored


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
