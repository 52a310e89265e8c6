"""Send jobs one create each, many at once, so the rate budget is used even at 11 s a create.

Per job: its intent is committed, then its POST goes out, then its outcome is committed. The
client's `create_jobs` starts every request together and offers no moment between a request's
turn and its sending, so the gate is kept here around `create_job`: a job's intent is written
just before its own request, and at most `single_concurrency` jobs are ever in flight (what a
killed run leaves to probe). Ledger writes go through one thread of their own, in order, so
they never queue behind each other for the database's write lock within this process.

A non-200 is an explicit failure: its status and the API's message are logged and stored on the
job. A time-out or 5xx leaves the job `unknown`, looked up by reference before any new create.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import TypeVar

import sqlalchemy as sa

from fleet_pipeline.fleet_api import AsyncFleetApiClient, FleetApiError, Job
from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.repository import QueuedJob
from fleet_pipeline.ledger.states import SINGLE, InvalidTransition
from fleet_pipeline.uploads.crash import crashpoint
from fleet_pipeline.uploads.outcomes import NO, FailedSend, failed_send
from fleet_pipeline.uploads.report import (
    CREATED,
    REJECTED,
    SKIPPED,
    Log,
    SendReport,
    Ticker,
    quiet,
)

T = TypeVar("T")


async def send_singles(
    engine: sa.Engine,
    client: AsyncFleetApiClient,
    jobs: Sequence[QueuedJob],
    *,
    concurrency: int,
    log: Log = quiet,
    run_id: str | None = None,
) -> SendReport:
    """Create each job, at most `concurrency` at a time. Stops starting new creates when the API
    cannot be reached or refuses our credentials (those jobs stay queued)."""
    sender = _SingleSender(engine, client, log, run_id, len(jobs))
    gate = asyncio.Semaphore(concurrency)

    async def one(job: QueuedJob) -> None:
        async with gate:
            if not sender.stopped:
                await sender.send(job)

    started = datetime.now(UTC)
    try:
        await asyncio.gather(*(one(job) for job in jobs))
    finally:
        sender.close()
    report = sender.report
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    left = len(jobs) - sum(report.outcomes.values())
    if left:
        log(f"single: {left} jobs left queued: the API could not take them now")
    return report


class _SingleSender:
    def __init__(self, engine: sa.Engine, client: AsyncFleetApiClient, log: Log,
                 run_id: str | None, total: int) -> None:
        self.engine, self.client, self.log, self.run_id = engine, client, log, run_id
        self.report = SendReport()
        self.stopped = False
        self._ticker = Ticker(log, total)
        self._ledger = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ledger")

    def close(self) -> None:
        self._ledger.shutdown(wait=True)

    async def send(self, job: QueuedJob) -> None:
        reference = job.reference_number
        crashpoint("single.before_intent")
        if not await self._write(self._intent, reference):
            self.report.count(SKIPPED)
            self._tick()
            return
        crashpoint("single.after_intent")
        self.report.jobs_by_endpoint[SINGLE] += 1
        try:
            result: Job | FailedSend = await self.client.create_job(json.loads(job.payload))
        except FleetApiError as error:
            result = failed_send(error, datetime.now(UTC))
        crashpoint("single.after_request")
        await self._write(self._outcome, reference, result)
        crashpoint("single.after_outcome")
        self._count(reference, result)

    async def _write(self, write: Callable[..., T], *args: object) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._ledger, write, *args)

    def _intent(self, reference: str) -> bool:
        try:
            with self.engine.begin() as conn:
                ledger.record_single_intent(conn, reference, run_id=self.run_id)
        except InvalidTransition:
            return False  # no longer queued: another run took it
        return True

    def _outcome(self, reference: str, result: Job | FailedSend) -> None:
        with self.engine.begin() as conn:
            if isinstance(result, Job):
                ledger.record_single_outcome(conn, reference, "created",
                                             fleet_job_id=result.job_id,
                                             fleet_order_id=result.order_id, run_id=self.run_id)
            else:
                ledger.record_single_outcome(
                    conn, reference, "rejected" if result.kind == NO else result.kind,
                    http_status=result.http_status,
                    message=result.message if result.kind == NO else result.reason,
                    field_errors=result.field_errors, next_attempt_at=result.next_attempt_at,
                    run_id=self.run_id)

    def _count(self, reference: str, result: Job | FailedSend) -> None:
        if isinstance(result, Job):
            self.report.count(CREATED)
        else:
            self.report.count(REJECTED if result.kind == NO else result.kind, 1, result.reason)
            if result.kind == NO:
                self.log(f"{reference}: not created: {result.reason}")
            if result.stop and not self.stopped:
                self.stopped = True
                self.log(f"single: stopping: {result.reason}")
        self._tick()

    def _tick(self) -> None:
        self._ticker.tick(lambda done, total: f"single: {done}/{total} jobs done (" + ", ".join(
            f"{name} {count}" for name, count in sorted(self.report.outcomes.items())) + ")")
