"""The retry step of a reconciliation: settle what can be settled, then send again, one by one.

It reuses the sender's own recovery (uploads/recovery.py): sends left without an answer and
uploads past their callback deadline make their jobs `unknown`; each `unknown` job is looked up
by reference_number (found: created; absent: queued after a back-off, or escalated once its
attempts are spent); rejected jobs are settled (transient: queued after a back-off; permanent:
escalated until the ERP row changes, which re-queues it when the chain next plans the day).
Then the day's queued jobs that are due go through the single-create endpoint
(uploads/single.py: intent, POST, outcome): jobs sent before (`attempts > 0`), and, once the
day has been sent, the jobs a send left queued because the API could not take them (a 429
burst outlasting the client's waits stops a send and leaves the rest of the day queued, sent
never). A day nothing was sent for yet is left to `job_submissions`: a reconciliation never
sends a day for the first time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import sqlalchemy as sa

from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.repository import QueuedJob
from fleet_pipeline.ledger.tables import job_events, jobs
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.recovery import RecoveryReport, recover
from fleet_pipeline.uploads.report import Log, SendReport, quiet
from fleet_pipeline.uploads.settings import SendSettings
from fleet_pipeline.uploads.single import send_singles


@dataclass
class RetryResult:
    recovery: RecoveryReport
    retried: int = 0
    send: SendReport = field(default_factory=SendReport)


def retries_due(conn: sa.Connection, day: date, now: datetime) -> list[QueuedJob]:
    """The day's queued jobs whose back-off is over: those sent at least once before and, when
    a send of the day has started (an intent is recorded), those it left queued."""
    sent_jobs = jobs.alias("sent_jobs")
    day_sent = conn.scalar(sa.select(sa.exists().where(
        job_events.c.reference_number == sent_jobs.c.reference_number,
        sent_jobs.c.partition_date == day,
        job_events.c.event.in_((st.SINGLE_INTENT, st.BULK_INTENT)))))
    tried = sa.true() if day_sent else jobs.c.attempts > 0
    query = (
        sa.select(jobs.c.reference_number, jobs.c.payload_hash, jobs.c.payload, jobs.c.attempts)
        .where(jobs.c.partition_date == day, jobs.c.state == st.QUEUED, tried,
               sa.or_(jobs.c.next_attempt_at.is_(None), jobs.c.next_attempt_at <= now))
        .order_by(jobs.c.reference_number)
    )
    return [QueuedJob(*row) for row in conn.execute(query)]


def retry_day(engine: sa.Engine, connection: FleetConnection, day: date,
              settings: SendSettings, *, log: Log = quiet, run_id: str | None = None
              ) -> RetryResult:
    return asyncio.run(_retry_day(engine, connection, day, settings, log, run_id))


async def _retry_day(engine: sa.Engine, connection: FleetConnection, day: date,
                     settings: SendSettings, log: Log, run_id: str | None) -> RetryResult:
    async with connection.async_client(settings.probe_concurrency) as client:
        result = RetryResult(await recover(engine, client, day, settings, log=log,
                                           run_id=run_id))
    with engine.connect() as conn:
        due = retries_due(conn, day, datetime.now(UTC))
    result.retried = len(due)
    if due:
        log(f"{day}: {len(due)} jobs sent again one by one")
        async with connection.async_client(settings.single_concurrency) as client:
            result.send = await send_singles(engine, client, due,
                                             concurrency=settings.single_concurrency, log=log,
                                             run_id=run_id)
    return result
