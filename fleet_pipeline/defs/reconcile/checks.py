"""Checks of a reconciled day, declared beside the `reconciliation` asset (one per partition).

They read the `reconciliation` view as the asset left it, against independent counts, so a
class lost or counted twice by the classification fails them.
"""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import sqlalchemy as sa

from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.defs.reconcile.assets import reconciliation
from fleet_pipeline.defs.reconcile.resources import ReconciliationResource
from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.reconcile_tables import reconciliation_rows as table
from fleet_pipeline.ledger.tables import job_events, jobs, validation_failures
from fleet_pipeline.reconcile.classify import (
    expected_total,
    extracted_rows,
    last_reconciled,
    stored_counts,
)
from fleet_pipeline.reconcile.report import scrub

SAMPLE_ROWS = 10


def as_utc(value: datetime | str) -> datetime:
    """An aggregate's timestamp: SQLite hands MAX() of a time column back as text."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def ledger_rows(conn: sa.Connection, day: date) -> int:
    """Rows of the day's extraction the ledger knows of: its jobs still listed by the ERP, the
    invalid rows that have no delivery number, and the further rows of a delivery number the
    ERP lists more than once (one job holds the number)."""
    listed = conn.scalar(sa.select(sa.func.count()).select_from(jobs)
                         .where(jobs.c.partition_date == day, jobs.c.state != st.WITHDRAWN))
    vf = validation_failures.c
    rows_of_day = sa.and_(vf.partition_date == day,
                          sa.func.coalesce(vf.record, "delivery") == "delivery")
    nameless = conn.scalar(
        sa.select(sa.func.count(sa.distinct(vf.row_position)))
        .where(rows_of_day, vf.reference_number.is_(None)))
    named = conn.execute(
        sa.select(sa.func.count(sa.distinct(vf.row_position)),
                  sa.func.count(sa.distinct(vf.reference_number)))
        .where(rows_of_day, vf.reference_number.is_not(None))).one()
    return listed + nameless + (named[0] - named[1])


@dg.asset_check(asset=reconciliation, partitions_def=delivery_date_partitions,
                description="Every delivery extracted for the day has exactly one class: the "
                "classes (all but `unexpected`) add up to the rows of the day's ERP extraction "
                "(or, without the file, to the jobs and nameless invalid rows of the ledger).")
def every_job_accounted_for(context: dg.AssetCheckExecutionContext, ledger: LedgerResource,
                            partition_store: PartitionStoreResource) -> dg.AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    with ledger.engine.connect() as conn:
        counts = stored_counts(conn, day)
        from_ledger = ledger_rows(conn, day)
    extracted = extracted_rows(partition_store.path, day)
    expected = extracted if extracted is not None else from_ledger
    accounted = expected_total(counts)
    return dg.AssetCheckResult(
        passed=accounted == expected,
        description=f"{accounted} classified of {expected} "
                    f"{'extracted' if extracted is not None else 'in the ledger'}",
        metadata={"accounted_for": accounted, "expected": expected,
                  "ledger_rows": from_ledger,
                  "source": "extraction" if extracted is not None else "ledger"},
    )


@dg.asset_check(asset=reconciliation, partitions_def=delivery_date_partitions,
                description="Fleet holds at most one job per delivery number: no reference of "
                "the day was created twice (a duplicate must be cancelled in Fleet by hand).")
def no_reference_created_twice(context: dg.AssetCheckExecutionContext,
                               ledger: LedgerResource) -> dg.AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    with ledger.engine.connect() as conn:
        twice = conn.scalars(
            sa.select(jobs.c.reference_number)
            .where(jobs.c.partition_date == day,
                   sa.exists().where(job_events.c.reference_number == jobs.c.reference_number,
                                     job_events.c.event == st.DUPLICATE_FOUND))
            .order_by(jobs.c.reference_number)).all()
        classified = stored_counts(conn, day)[rt.CREATED_TWICE]
    return dg.AssetCheckResult(
        passed=not twice,
        description=f"{len(twice)} reference(s) created twice" if twice else "none twice",
        metadata={"created_twice": len(twice), "classified_created_twice": classified,
                  "references": ", ".join(twice[:SAMPLE_ROWS]) or "none"},
    )


@dg.asset_check(asset=reconciliation, partitions_def=delivery_date_partitions,
                description="No job stays unconfirmed (awaiting its callback, or overdue and "
                "not found yet) for longer than the confirmation SLA "
                "(FLEET_CONFIRMATION_SLA_MINUTES). A warning: such jobs are escalated.")
def unconfirmed_within_sla(context: dg.AssetCheckExecutionContext, ledger: LedgerResource,
                           reconcile_settings: ReconciliationResource) -> dg.AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    sla = timedelta(minutes=reconcile_settings.confirmation_sla_minutes)
    r = table.c
    with ledger.engine.connect() as conn:
        reconciled_at = last_reconciled(conn, day)
        if reconciled_at is None:
            return dg.AssetCheckResult(passed=False, severity=dg.AssetCheckSeverity.WARN,
                                       description="the day has not been reconciled")
        late = (sa.select(r.reference_number, r.status, r.since, r.detail)
                .where(r.partition_date == day,
                       r.status.in_((rt.AWAITING_CONFIRMATION, rt.OVERDUE)),
                       r.since < as_utc(reconciled_at) - sla)
                .order_by(r.since))
        rows = conn.execute(late.limit(SAMPLE_ROWS)).all()
        count = conn.scalar(sa.select(sa.func.count()).select_from(late.subquery()))
    sample = "\n".join(f"- {row.reference_number} ({row.status} since {row.since}): "
                       f"{scrub(row.detail) or ''}" for row in rows)
    return dg.AssetCheckResult(
        passed=count == 0,
        severity=dg.AssetCheckSeverity.WARN,
        description=f"{count} job(s) unconfirmed for longer than {sla}" if count
        else f"every unconfirmed job within {sla}",
        metadata={"unconfirmed_past_sla": count, "sla_minutes": sla.total_seconds() / 60,
                  "sample": dg.MetadataValue.md(sample or "none")},
    )


reconciliation_checks = [every_job_accounted_for, no_reference_created_twice,
                         unconfirmed_within_sla]
