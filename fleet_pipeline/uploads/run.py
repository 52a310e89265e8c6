"""A whole day: plan and cut (`batch_day`), then recover and send (`send_day`).

The Dagster assets `upload_batches` and `job_submissions` call these, and so does
`fleet-pipeline send`; neither knows about Dagster.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.repository import QueuedJob
from fleet_pipeline.ledger.states import BULK
from fleet_pipeline.uploads.batching import Cut
from fleet_pipeline.uploads.bulk import send_uploads
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.planning import DayPlan, plan_day, prepare_uploads
from fleet_pipeline.uploads.policy import choose_endpoint
from fleet_pipeline.uploads.recovery import RecoveryReport, recover
from fleet_pipeline.uploads.report import Log, SendReport, quiet
from fleet_pipeline.uploads.settings import SendSettings
from fleet_pipeline.uploads.single import send_singles


@dataclass(frozen=True)
class BatchResult:
    plan: DayPlan
    queued: int
    endpoint: str
    cut: Cut | None  # None when the day goes one by one
    counts: dict[str, int]  # the day's jobs per ledger state


@dataclass
class SendResult:
    day: date
    recovery: RecoveryReport
    endpoint: str | None  # None: nothing was queued
    send: SendReport = field(default_factory=SendReport)
    counts: dict[str, int] = field(default_factory=dict)


def batch_day(engine: sa.Engine, data_dir: Path, day: date, settings: SendSettings, *,
              log: Log = quiet, run_id: str | None = None) -> BatchResult:
    """Plan the day's valid jobs into the ledger and cut its queued jobs into planned uploads."""
    plan = plan_day(engine, data_dir, day, run_id=run_id)
    with engine.connect() as conn:
        queued = ledger.jobs_to_send(conn, day)
    endpoint = choose_endpoint(settings.endpoint_policy, len(queued), settings.single_max_jobs)
    cut = prepare_uploads(engine, data_dir, day, queued, settings.limits) \
        if endpoint == BULK and queued else None
    with engine.connect() as conn:
        counts = ledger.job_counts_by_state(conn, day)
    log(f"{day}: {plan.valid} valid jobs, {plan.result.inserted} new; {len(queued)} to send "
        f"{'in ' + str(len(cut.uploads)) + ' uploads' if cut else 'one by one'}")
    return BatchResult(plan, len(queued), endpoint, cut, counts)


def send_day(engine: sa.Engine, connection: FleetConnection, data_dir: Path, day: date,
             settings: SendSettings, *, log: Log = quiet, run_id: str | None = None
             ) -> SendResult:
    """Recover what earlier runs left, then send the day's queued jobs by the endpoint policy."""
    recovery = asyncio.run(_recover(engine, connection, day, settings, log, run_id))
    with engine.connect() as conn:
        queued = ledger.jobs_to_send(conn, day)
    result = SendResult(day, recovery, None)
    if queued:
        result.endpoint = choose_endpoint(settings.endpoint_policy, len(queued),
                                          settings.single_max_jobs)
        singles = queued
        if result.endpoint == BULK:
            cut = prepare_uploads(engine, data_dir, day, queued, settings.limits)
            singles = [item.job for item in cut.single_only]
            for item in cut.single_only:
                log(f"{item.job.reference_number} goes one by one: {item.reason}")
            log(f"{day}: {cut.job_count} jobs in {len(cut.uploads)} uploads")
            with connection.client() as client:
                result.send.merge(send_uploads(engine, client, cut.uploads, settings, log=log,
                                               run_id=run_id))
        if singles:
            log(f"{day}: {len(singles)} jobs one by one")
            result.send.merge(asyncio.run(_singles(engine, connection, singles, settings, log,
                                                   run_id)))
    else:
        log(f"{day}: nothing to send")
    with engine.connect() as conn:
        result.counts = ledger.job_counts_by_state(conn, day)
    sent = result.send
    log(f"{day}: {sent.uploads_sent} uploads sent, " + ", ".join(
        f"{count} jobs {endpoint}" for endpoint, count in sorted(sent.jobs_by_endpoint.items()))
        + f" in {sent.seconds:.1f} s")
    log(f"{day}: jobs per state: " + ", ".join(
        f"{state} {count}" for state, count in result.counts.items() if count))
    return result


async def _recover(engine: sa.Engine, connection: FleetConnection, day: date,
                   settings: SendSettings, log: Log, run_id: str | None) -> RecoveryReport:
    async with connection.async_client(settings.probe_concurrency) as client:
        return await recover(engine, client, day, settings, log=log, run_id=run_id)


async def _singles(engine: sa.Engine, connection: FleetConnection, jobs: list[QueuedJob],
                   settings: SendSettings, log: Log, run_id: str | None) -> SendReport:
    async with connection.async_client(settings.single_concurrency) as client:
        return await send_singles(engine, client, jobs, concurrency=settings.single_concurrency,
                                  log=log, run_id=run_id)

