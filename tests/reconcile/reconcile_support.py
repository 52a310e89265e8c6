"""Building blocks of the reconciliation tests: a day's jobs sent in bulk uploads, and callbacks
landed as the receiver lands them. Imported as `reconcile_support` (a unique module name)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.webhooks.landing import Delivery, Landing, land_callback
from fleet_pipeline.webhooks.parse import Entry

DAY = date(2026, 3, 2)
OLD_DAY = date(2026, 1, 5)
SENT = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DEADLINE = SENT + timedelta(hours=1)


def refs(count: int, prefix: str = "REF", day: date = DAY) -> list[str]:
    return [f"{prefix}-{day:%m%d}-{i:04d}" for i in range(count)]


def plan(conn: sa.Connection, day: date, references: Sequence[str], now: datetime = SENT
         ) -> None:
    ledger.plan_jobs(conn, day, [(r, f"hash-{r}", json.dumps({"reference_number": r}))
                                 for r in references], now=now)


def send_upload(conn: sa.Connection, upload_id: str, day: date, references: Sequence[str],
                *, now: datetime = SENT, deadline: datetime = DEADLINE) -> None:
    """An accepted bulk upload of `references` (planned before), awaiting its callback."""
    ledger.record_upload_intent(conn, upload_id, day, list(references), now=now)
    ledger.record_upload_outcome(conn, upload_id, "accepted", http_status=200,
                                 deadline_at=deadline, now=now)


def day_with_uploads(engine: sa.Engine, day: date, uploads: dict[str, Sequence[str]],
                     *, deadline: datetime = DEADLINE) -> None:
    with engine.begin() as conn:
        plan(conn, day, [r for references in uploads.values() for r in references])
        for upload_id, references in uploads.items():
            send_upload(conn, upload_id, day, references, deadline=deadline)


def created(reference: str, job_id: int) -> Entry:
    return Entry(reference, job_id, None)


def rejected(reference: str, **errors: list[str]) -> Entry:
    return Entry(reference, None, errors or {"stops.0.address_line_1": ["is required"]})


def land(engine: sa.Engine, upload_id: str, entries: Sequence[Entry], *, indent: int | None = None,
         at: datetime = SENT + timedelta(minutes=5)) -> Landing:
    """Land a callback for `upload_id` as the receiver would (`indent` changes the bytes only)."""
    body = json.dumps([{"reference_number": e.reference_number, "job_id": e.fleet_job_id}
                       if e.created else {"reference_number": e.reference_number,
                                          "errors": e.errors} for e in entries],
                      indent=indent).encode()
    delivery = Delivery(upload_id=upload_id, body=body, signature="0" * 64,
                        signature_variant="raw", content_type="application/json",
                        remote_addr="127.0.0.1", headers={}, received_at=at)
    with engine.begin() as conn:
        return land_callback(conn, delivery, entries)


def job_states(engine: sa.Engine, references: Sequence[str]) -> dict[str, str]:
    with engine.connect() as conn:
        return {r: ledger.get_job(conn, r).state for r in references}
