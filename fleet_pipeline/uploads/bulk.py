"""Send planned uploads: intent committed, file POSTed, outcome committed, one upload at a time.

Each upload gets a fresh callback token; the ledger keeps only its hash (with the intent, before
the POST), so a callback for an upload whose answer was lost still lands. A 200 leaves the jobs
`submitted` until the callback deadline; the callback, not the 200, says what was created.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa

from fleet_pipeline.fleet_api import FleetApiClient, FleetApiError
from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.states import BULK, InvalidTransition
from fleet_pipeline.uploads.batching import Upload
from fleet_pipeline.uploads.crash import crashpoint
from fleet_pipeline.uploads.outcomes import NO, NOT_SENT, FailedSend, failed_send
from fleet_pipeline.uploads.report import ACCEPTED, REJECTED, SKIPPED, Log, SendReport, quiet
from fleet_pipeline.uploads.settings import SendSettings
from fleet_pipeline.webhooks.tokens import hash_token, new_token, webhook_url


def send_uploads(
    engine: sa.Engine,
    client: FleetApiClient,
    uploads: Sequence[Upload],
    settings: SendSettings,
    *,
    log: Log = quiet,
    run_id: str | None = None,
) -> SendReport:
    """Send each upload in turn; stops early when the API cannot be reached or refuses our
    credentials (the rest stay queued). Returns what happened, per job."""
    report = SendReport(uploads_total=len(uploads))
    started = datetime.now(UTC)
    for index, upload in enumerate(uploads, 1):
        failure = _send_one(engine, client, upload, settings, report, run_id)
        log(f"upload {index}/{len(uploads)} {upload.upload_id} ({upload.job_count} jobs): "
            f"{failure.reason if failure else 'accepted'}")
        if failure is not None and failure.stop:
            log(f"stopped after upload {index}/{len(uploads)}: the next would fail alike")
            break
    report.seconds = (datetime.now(UTC) - started).total_seconds()
    return report


def _send_one(engine: sa.Engine, client: FleetApiClient, upload: Upload,
              settings: SendSettings, report: SendReport, run_id: str | None
              ) -> FailedSend | None:
    crashpoint("bulk.before_intent")
    token = new_token()
    try:
        with engine.begin() as conn:
            ledger.record_upload_intent(
                conn, upload.upload_id, upload.partition_date, upload.references,
                file_hash=upload.file_hash, csv_bytes=upload.csv_bytes,
                webhook_token_hash=hash_token(token), run_id=run_id)
    except InvalidTransition as exc:
        # Another run sent these jobs (or this upload) since the cut: nothing to do here.
        report.count(SKIPPED, upload.job_count, str(exc))
        return FailedSend(SKIPPED, f"skipped: {exc}")
    crashpoint("bulk.after_intent")
    report.uploads_sent += 1
    report.jobs_by_endpoint[BULK] += upload.job_count
    try:
        client.bulk_upload(upload.content,
                           webhook_url=webhook_url(settings.webhook_public_url,
                                                   upload.upload_id, token),
                           webhook_field=settings.webhook_field,
                           filename=f"{upload.upload_id}.csv")
    except FleetApiError as error:
        failure = failed_send(error, datetime.now(UTC))
    else:
        failure = None
    crashpoint("bulk.after_request")
    now = datetime.now(UTC)
    with engine.begin() as conn:
        if failure is None:
            ledger.record_upload_outcome(conn, upload.upload_id, "accepted",
                                         deadline_at=now + settings.callback_deadline,
                                         http_status=200, now=now, run_id=run_id)
        else:
            ledger.record_upload_outcome(
                conn, upload.upload_id, "refused" if failure.kind == NO else failure.kind,
                http_status=failure.http_status,
                message=failure.message if failure.kind == NO else failure.reason,
                field_errors=failure.field_errors, next_attempt_at=failure.next_attempt_at,
                now=now, run_id=run_id)
    crashpoint("bulk.after_outcome")
    if failure is None:
        report.count(ACCEPTED, upload.job_count)
    else:
        outcome = {NO: REJECTED, NOT_SENT: NOT_SENT}.get(failure.kind, failure.kind)
        report.count(outcome, upload.job_count, failure.reason)
    return failure
