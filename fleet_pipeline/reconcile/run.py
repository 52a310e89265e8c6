"""One day's reconciliation, step by step: callbacks in, retries out, classes, escalations,
report, notification. The Dagster asset `reconciliation` and the tests call `reconcile_day`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from time import perf_counter
from typing import Any

import httpx
import sqlalchemy as sa

from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.ledger.reconcile_tables import escalations, reconciliation_rows
from fleet_pipeline.reconcile.callbacks import CallbacksApplied, apply_callbacks
from fleet_pipeline.reconcile.classify import expected_total, extracted_rows, write_classes
from fleet_pipeline.reconcile.escalate import EscalationSync, sync_escalations
from fleet_pipeline.reconcile.notify import escalation_message, notify
from fleet_pipeline.reconcile.report import scrub, write_report
from fleet_pipeline.reconcile.retry import RetryResult
from fleet_pipeline.reconcile.settings import ReconcileSettings
from fleet_pipeline.uploads.report import Log, quiet

SAMPLES_PER_STATUS = 5


@dataclass
class DayReconciliation:
    day: date
    callbacks: CallbacksApplied
    retry: RetryResult | None
    counts: dict[str, int]  # rows per class, every class listed
    extracted: int | None  # rows of the day's ERP extraction on disk (None: no file)
    escalations: EscalationSync
    report_path: Path
    report_rows: int
    notification: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def accounted(self) -> int:
        """Rows of the day's extraction that have a class (every class but `unexpected`)."""
        return expected_total(self.counts)


def reconcile_day(
    engine: sa.Engine,
    day: date,
    data_dir: Path,
    settings: ReconcileSettings,
    *,
    retry: Callable[[], RetryResult] | None = None,
    now: datetime | None = None,
    run_id: str | None = None,
    log: Log = quiet,
    notify_transport: httpx.BaseTransport | None = None,
) -> DayReconciliation:
    """Reconcile `day`. `retry` runs the retry step (needs the Fleet API; None skips it).
    `now` fixes the clock (tests, benchmarks); by default each step reads it."""
    seconds: dict[str, float] = {}
    clock = (lambda: now) if now is not None else (lambda: datetime.now(UTC))

    started = perf_counter()
    callbacks = apply_callbacks(engine, day, now=clock(), run_id=run_id)
    seconds["callbacks"] = perf_counter() - started
    log(f"{day}: {callbacks.events} callback events taken in: " + ", ".join(
        f"{effect} {count}" for effect, count in callbacks.effects.items() if count))

    retried = None
    if retry is not None:
        started = perf_counter()
        retried = retry()
        seconds["retries"] = perf_counter() - started

    started = perf_counter()
    at = clock()
    with engine.begin() as conn:
        counts = write_classes(conn, day, at)
        seconds["classify"] = perf_counter() - started
        started = perf_counter()
        escalated = sync_escalations(conn, day, at, settings.confirmation_sla)
        seconds["escalations"] = perf_counter() - started
    started = perf_counter()
    with engine.connect() as conn:
        path, rows = write_report(conn, data_dir, day)
    seconds["report"] = perf_counter() - started
    log(f"{day}: " + ", ".join(f"{status} {count}" for status, count in counts.items() if count)
        + f"; {escalated.opened} escalations opened, {escalated.resolved} resolved, "
        f"{escalated.total_open} open")

    result = DayReconciliation(day, callbacks, retried, counts, extracted_rows(data_dir, day),
                               escalated, path, rows, seconds=seconds)
    if settings.webhook_url and escalated.opened:
        with engine.connect() as conn:
            new = conn.execute(
                sa.select(escalations.c.reason, escalations.c.reference_number,
                          escalations.c.detail)
                .where(escalations.c.partition_date == day, escalations.c.opened_at == at)
                .order_by(escalations.c.reason, escalations.c.reference_number).limit(10)).all()
        message = escalation_message(day, escalated.opened, escalated.open,
                                     [tuple(row) for row in new], path)
        result.notification = notify(settings.webhook_url, message, transport=notify_transport)
        log(f"{day}: {result.notification}")
    return result


def samples(conn: sa.Connection, day: date, per_status: int = SAMPLES_PER_STATUS
            ) -> list[dict[str, Any]]:
    """A few rows of every class but `created`, their free text scrubbed (metadata preview)."""
    r = reconciliation_rows.c  # every class but `created`, which is not sampled
    rows: list[dict[str, Any]] = []
    for status in rt.STATUSES:
        if status == rt.CREATED:
            continue
        query = (sa.select(r.status, r.reference_number, r.row_position, r.ledger_state,
                           r.fleet_job_id, r.attempts, r.detail)
                 .where(r.partition_date == day, r.status == status)
                 .order_by(r.reference_number, r.row_position).limit(per_status))
        for row in conn.execute(query):
            rows.append(row._asdict() | {"detail": scrub(row.detail)})
    return rows
