"""What every send starts with, so that a run killed at any instant is finished by the next.

1. Sends with no recorded answer for longer than any request can take lost their sender: their
   jobs become `unknown` (`recover_interrupted`). Accepted uploads past their callback deadline
   make their waiting jobs `unknown` too (`mark_overdue`).
2. Each `unknown` job of the day is looked up by reference_number (`GET /delivery/jobs`), many at
   once within the account's budget, and the answers recorded in batches: found -> `created`,
   absent -> queued again (after a back-off) or escalated when its attempts are spent.
   A job whose bulk upload got no clear answer is not looked up before that upload's callback
   deadline: the API may still be processing the file, and a job not yet created would be
   found absent and sent a second time. Likewise a single create that timed out or got a 5xx
   is not looked up until the in-flight time-out has passed since it was sent: the API may
   still be working on it (a create that outlasts the client's read time-out is created after
   the client gave up).
3. Rejected jobs are settled: transient ones queued again after a back-off, permanent ones
   escalated (`schedule_retries`).
Only then does the run send what is queued.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from fleet_pipeline.fleet_api import (
    AsyncFleetApiClient,
    AuthenticationFailed,
    FleetApiError,
    Job,
    RequestNotSent,
)
from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.states import BULK, SINGLE, SINGLE_INTENT, UNKNOWN
from fleet_pipeline.ledger.tables import job_events, jobs, uploads
from fleet_pipeline.uploads.crash import crashpoint
from fleet_pipeline.uploads.report import Log, quiet
from fleet_pipeline.uploads.settings import SendSettings

PROBE_BATCH = 200


@dataclass
class RecoveryReport:
    interrupted: int = 0
    overdue: int = 0
    # unknown, waiting for their upload's callback deadline (or, sent one by one, for the
    # in-flight time-out since the create) before a probe
    held: int = 0
    probed: int = 0
    found: int = 0
    absent: int = 0
    probe_errors: int = 0
    duplicates: list[str] = field(default_factory=list)
    retries: dict[str, int] = field(default_factory=dict)


async def recover(
    engine: sa.Engine,
    client: AsyncFleetApiClient,
    day: date,
    settings: SendSettings,
    *,
    log: Log = quiet,
    run_id: str | None = None,
) -> RecoveryReport:
    report = RecoveryReport()
    with engine.begin() as conn:
        report.interrupted = len(ledger.recover_interrupted(
            conn, older_than=settings.in_flight_timeout, run_id=run_id))
        report.overdue = len(ledger.mark_overdue(conn, run_id=run_id))
    if report.interrupted or report.overdue:
        log(f"recovery: {report.interrupted} jobs left in flight by an interrupted run and "
            f"{report.overdue} past their callback deadline are now unknown")
    with engine.connect() as conn:
        references, report.held = probe_candidates(conn, day, settings, datetime.now(UTC))
    if report.held:
        log(f"recovery: {report.held} unknown jobs wait for their upload's callback deadline "
            "or for their create to have surely ended")
    if references:
        await _probe(engine, client, references, settings, report, log, run_id)
    with engine.begin() as conn:
        settled = ledger.schedule_retries(conn, policy=settings.retry, partition_date=day,
                                          run_id=run_id)
    report.retries = {event: len(refs) for event, refs in settled.items()}
    if settled:
        log("recovery: rejected jobs settled: " +
            ", ".join(f"{event} {count}" for event, count in sorted(report.retries.items())))
    return report


def probe_candidates(conn: sa.Connection, day: date, settings: SendSettings, now: datetime
                     ) -> tuple[list[str], int]:
    """The day's unknown jobs to look up now, and how many wait: for their upload's callback
    deadline, or (sent one by one) for the in-flight time-out since their last create."""
    created_at = (sa.select(sa.func.max(job_events.c.at))
                  .where(job_events.c.reference_number == jobs.c.reference_number,
                         job_events.c.event == SINGLE_INTENT)
                  .scalar_subquery())
    query = (
        sa.select(jobs.c.reference_number, jobs.c.endpoint, uploads.c.sent_at,
                  sa.case((jobs.c.endpoint == SINGLE, created_at)))
        .select_from(jobs.outerjoin(uploads, jobs.c.upload_id == uploads.c.upload_id))
        .where(jobs.c.partition_date == day, jobs.c.state == UNKNOWN)
        .order_by(jobs.c.reference_number)
    )
    due, held = [], 0
    for reference, endpoint, sent_at, single_sent_at in conn.execute(query):
        if endpoint == BULK and sent_at is not None:
            wait_until = sent_at + settings.callback_deadline
        elif endpoint == SINGLE and single_sent_at is not None:
            wait_until = _aware(single_sent_at) + settings.in_flight_timeout
        else:
            wait_until = now
        if wait_until > now:
            held += 1
        else:
            due.append(reference)
    return due, held


def _aware(moment: Any) -> datetime:
    """An aggregate of timestamps as an aware datetime (SQLite hands it back as text)."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


async def _probe(engine: sa.Engine, client: AsyncFleetApiClient, references: list[str],
                 settings: SendSettings, report: RecoveryReport, log: Log,
                 run_id: str | None) -> None:
    gate = asyncio.Semaphore(settings.probe_concurrency)
    stop: list[FleetApiError] = []

    async def look_up(reference: str) -> tuple[str, list[Job] | None]:
        async with gate:
            if stop:
                return reference, None
            try:
                return reference, await client.find_job_by_reference(reference)
            except FleetApiError as error:
                if isinstance(error, AuthenticationFailed | RequestNotSent):
                    stop.append(error)
                log(f"probe {reference}: {error}")
                return reference, None

    for start in range(0, len(references), PROBE_BATCH):
        answers = await asyncio.gather(*(look_up(r) for r in
                                         references[start:start + PROBE_BATCH]))
        _record(engine, answers, settings, report, run_id)
        crashpoint("probe.after_batch")
        log(f"recovery: probed {min(start + PROBE_BATCH, len(references))}/{len(references)} "
            f"unknown jobs: {report.found} found, {report.absent} absent")
        if stop:
            log(f"recovery: probes stopped: {stop[0]}")
            return


def _record(engine: sa.Engine, answers: list[tuple[str, list[Job] | None]],
            settings: SendSettings, report: RecoveryReport, run_id: str | None) -> None:
    found, absent, extra = [], [], []
    for reference, fleet_jobs in answers:
        if fleet_jobs is None:
            report.probe_errors += 1
        elif not fleet_jobs:
            absent.append(reference)
        else:
            first, *others = sorted(fleet_jobs, key=lambda job: job.job_id)
            found.append((reference, first.job_id, first.order_id))
            extra.extend((reference, job.job_id, job.order_id) for job in others)
    with engine.begin() as conn:
        ledger.record_probe_results(conn, found=found, absent=absent, policy=settings.retry,
                                    run_id=run_id)
        for duplicate in extra:
            ledger.mark_created(conn, [duplicate], source="probe", run_id=run_id)
    report.probed += len(answers) - sum(1 for _, jobs_ in answers if jobs_ is None)
    report.found += len(found)
    report.absent += len(absent)
    report.duplicates.extend(sorted({reference for reference, _, _ in extra}))
