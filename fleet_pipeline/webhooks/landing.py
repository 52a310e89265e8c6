"""Land one verified callback: its event row and one result row per entry, in the caller's
transaction (nothing here commits; the receiver answers 200 only after its commit).

Concurrency. Several receivers may land callbacks at once, and Fleet may deliver one body twice
at the same instant. On PostgreSQL every landing takes one transaction-scoped advisory lock
before it reads the upload's earlier events; on SQLite the ledger engine's BEGIN IMMEDIATE does
the same. So (1) the flags are decided on every earlier event of the upload, and (2) events
commit in id order, which is what lets a sensor follow them with "id > last id seen" (sequence
values handed out in parallel could commit out of order and be skipped). The lock is held for a
few milliseconds per callback. The UNIQUE (upload_id, body_sha256) with ON CONFLICT DO NOTHING
still guarantees a body lands once on any database, lock or not.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from fleet_pipeline.ledger.callback_tables import (
    CONTENT_TYPE_LENGTH,
    OUTCOME_CREATED,
    OUTCOME_REJECTED,
    REMOTE_ADDR_LENGTH,
    callback_events,
    callback_results,
)
from fleet_pipeline.ledger.tables import uploads
from fleet_pipeline.webhooks.parse import Entry, entries_digest

# The request headers kept with an event: enough to trace a delivery through proxies.
KEPT_HEADERS = ("user-agent", "content-length", "content-encoding", "x-forwarded-for",
                "x-forwarded-proto", "x-real-ip", "forwarded", "x-request-id")
_HEADER_VALUE_CHARS = 500
# Any constant shared by every receiver; "fleetcb" in ASCII.
_LANDING_LOCK_KEY = 0x666C6565746362


@dataclass(frozen=True)
class Delivery:
    """One request that passed every check, as received."""

    upload_id: str
    body: bytes
    signature: str
    signature_variant: str  # "raw" or "json_encoded"
    content_type: str
    remote_addr: str | None
    headers: Mapping[str, str]
    received_at: datetime


@dataclass(frozen=True)
class Landing:
    event_id: int
    new: bool  # False: these exact bytes had landed before, nothing was written
    duplicate_of: int | None
    conflicting: bool
    entry_count: int
    unexpected_count: int


# Statements built once: a callback runs each of them, and building one costs more than its
# round trip to the database.
_TOKEN_HASH = sa.select(uploads.c.webhook_token_hash).where(
    uploads.c.upload_id == sa.bindparam("upload_id"))
_UPLOAD_REFERENCES = "SELECT reference_number FROM jobs WHERE upload_id = {}"
_EARLIER_EVENTS = (
    sa.select(callback_events.c.id, callback_events.c.entries_sha256,
              callback_events.c.body_sha256)
    .where(callback_events.c.upload_id == sa.bindparam("upload_id"))
    .order_by(callback_events.c.id)
)
_EVENT_WITH_BODY = sa.select(
    callback_events.c.id, callback_events.c.duplicate_of, callback_events.c.conflicting,
    callback_events.c.entry_count, callback_events.c.unexpected_count,
).where(callback_events.c.upload_id == sa.bindparam("upload_id"),
        callback_events.c.body_sha256 == sa.bindparam("body_sha256"))
_LOCK = sa.select(sa.func.pg_advisory_xact_lock(_LANDING_LOCK_KEY))
_COPY_FROM_ROWS = 100
_RESULT_COLUMNS = [column.name for column in callback_results.columns]
_COPY_RESULTS = ("COPY callback_results ("
                 + ", ".join(f'"{name}"' for name in _RESULT_COLUMNS) + ") "
                 "FROM STDIN WITH (FORMAT csv)")
# SQLite: the entries go in as one JSON array of [reference_number, outcome, fleet_job_id,
# errors, unexpected] and come out of json_each as rows, position = index in the array.
_INSERT_RESULTS_FROM_JSON = (
    "INSERT INTO callback_results ("
    + ", ".join(f'"{name}"' for name in _RESULT_COLUMNS) + ") "
    "SELECT ?, ?, key, json_extract(value, '$[0]'), json_extract(value, '$[1]'), "
    "json_extract(value, '$[2]'), json_extract(value, '$[3]'), json_extract(value, '$[4]') "
    "FROM json_each(?)"
)
_INSERT_EVENT = {
    name: insert(callback_events)
    .on_conflict_do_nothing(index_elements=["upload_id", "body_sha256"])
    .returning(callback_events.c.id)
    for name, insert in (("postgresql", postgresql.insert), ("sqlite", sqlite.insert))
}


def stored_token_hash(conn: sa.Connection, upload_id: str) -> tuple[bool, str | None]:
    """(whether the upload is in the ledger, its token hash: None if sent without a webhook)."""
    row = conn.execute(_TOKEN_HASH, {"upload_id": upload_id}).first()
    return row is not None, row[0] if row is not None else None


def judge(earlier: Sequence[tuple[int, str]], entries_sha256: str) -> tuple[int | None, bool]:
    """(duplicate_of, conflicting) of new content among the upload's earlier events, given as
    (event id, entries_sha256): the first event with the same entries, and whether any had
    other entries."""
    same = [event_id for event_id, digest in earlier if digest == entries_sha256]
    return (min(same) if same else None), any(d != entries_sha256 for _, d in earlier)


# As json.dumps(..., ensure_ascii=False), without a new encoder per call.
_unicode_json = json.JSONEncoder(ensure_ascii=False).encode
_VALUE_COLUMNS = ("reference_number", "outcome", "fleet_job_id", "errors", "unexpected")


def result_values(entries: Sequence[Entry], expected: Collection[str]) -> list[tuple]:
    """Per entry, in order (its position is its index): the `_VALUE_COLUMNS` of its
    callback_results row."""
    return [
        (reference, OUTCOME_CREATED, job_id, None, reference not in expected)
        if errors is None else
        (reference, OUTCOME_REJECTED, None, _unicode_json(errors),
         reference not in expected)
        for reference, job_id, errors in entries
    ]


def result_rows(
    upload_id: str, entries: Sequence[Entry], expected: Collection[str]
) -> list[dict[str, Any]]:
    """One callback_results row per entry (event_id is added on insert)."""
    return _as_rows(upload_id, result_values(entries, expected))


def _as_rows(upload_id: str, values: list[tuple]) -> list[dict[str, Any]]:
    return [
        {"upload_id": upload_id, "position": position,
         **dict(zip(_VALUE_COLUMNS, row, strict=True))}
        for position, row in enumerate(values)
    ]


def kept_headers(headers: Mapping[str, str]) -> str:
    kept = {name: headers[name][:_HEADER_VALUE_CHARS] for name in KEPT_HEADERS
            if name in headers}
    return json.dumps(kept, sort_keys=True)


def land_callback(conn: sa.Connection, delivery: Delivery, entries: Sequence[Entry]) -> Landing:
    body_sha256 = hashlib.sha256(delivery.body).hexdigest()
    # A repeated delivery, the common case of at-least-once, answers before taking the lock.
    known = _event_with_body(conn, delivery.upload_id, body_sha256)
    if known is not None:
        return known
    expected = _upload_references(conn, delivery.upload_id)
    values = result_values(entries, expected)
    entries_sha256 = entries_digest(entries)

    if conn.dialect.name == "postgresql":
        conn.execute(_LOCK)
    earlier = conn.execute(_EARLIER_EVENTS, {"upload_id": delivery.upload_id}).all()
    if any(body == body_sha256 for _, _, body in earlier):
        return _event_with_body(conn, delivery.upload_id, body_sha256)
    duplicate_of, conflicting = judge([(i, d) for i, d, _ in earlier], entries_sha256)
    unexpected = sum(row[4] for row in values)
    created = sum(entry.fleet_job_id is not None for entry in entries)
    event_id = _insert_event(conn, {
        "upload_id": delivery.upload_id,
        "received_at": delivery.received_at,
        "body": delivery.body,
        "body_sha256": body_sha256,
        "entries_sha256": entries_sha256,
        "signature": delivery.signature,
        "signature_variant": delivery.signature_variant,
        "content_type": delivery.content_type[:CONTENT_TYPE_LENGTH],
        "remote_addr": None if delivery.remote_addr is None
        else delivery.remote_addr[:REMOTE_ADDR_LENGTH],
        "headers": kept_headers(delivery.headers),
        "entry_count": len(values),
        "created_count": created,
        "rejected_count": len(values) - created,
        "unexpected_count": unexpected,
        "duplicate_of": duplicate_of,
        "conflicting": conflicting,
    })
    if event_id is None:  # reachable only without the lock: a SQLite engine not from make_engine
        return _event_with_body(conn, delivery.upload_id, body_sha256)
    if values:
        _insert_results(conn, event_id, delivery.upload_id, values)
    return Landing(event_id, True, duplicate_of, conflicting, len(values), unexpected)


def _insert_results(conn: sa.Connection, event_id: int, upload_id: str,
                    values: list[tuple]) -> None:
    """The rows through the database's own bulk path: most of a 1,000-row landing's time went
    to building and binding parameters row by row in Python.
    PostgreSQL (psycopg2): COPY, a third to a quarter of the time of a batched INSERT for 1,000
    rows, but slower for a handful (10,000 callbacks of 5 rows: 78 s against 49 s), hence the
    threshold.
    SQLite: one INSERT ... SELECT over json_each of the rows as one JSON array, 40% less CPU
    than executemany, and one statement step: executemany gives up Python's lock for every
    row and waits to get it back behind the receiver's other threads."""
    dialect = conn.dialect
    if dialect.name == "sqlite":
        conn.exec_driver_sql(_INSERT_RESULTS_FROM_JSON,
                             (event_id, upload_id, _unicode_json(values)))
    elif (dialect.name == "postgresql" and dialect.driver == "psycopg2"
            and len(values) >= _COPY_FROM_ROWS):
        buffer = io.StringIO()
        # An unquoted empty field is NULL in COPY's CSV; None is written so, and no text column
        # that is NOT NULL can be empty (parse_entries refuses an empty reference number).
        csv.writer(buffer, lineterminator="\n").writerows(
            (event_id, upload_id, position, *row) for position, row in enumerate(values))
        buffer.seek(0)
        with conn.connection.dbapi_connection.cursor() as cursor:
            cursor.copy_expert(_COPY_RESULTS, buffer)
    else:
        conn.execute(callback_results.insert(),
                     [row | {"event_id": event_id} for row in _as_rows(upload_id, values)])


def _upload_references(conn: sa.Connection, upload_id: str) -> set[str]:
    """The references of the upload's jobs, straight from the driver's cursor: through
    SQLAlchemy's result rows the 1,000 of an upload took half as long again."""
    placeholder = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    result = conn.exec_driver_sql(_UPLOAD_REFERENCES.format(placeholder), (upload_id,))
    return {reference for reference, in result.cursor.fetchall()}


def _insert_event(conn: sa.Connection, row: dict[str, Any]) -> int | None:
    """The new event's id, or None when the upload already has an event with this body."""
    statement = _INSERT_EVENT.get(conn.dialect.name)
    if statement is None:  # elsewhere the UNIQUE constraint refuses the second one (retryable)
        return conn.execute(callback_events.insert(), row).inserted_primary_key[0]
    return conn.scalar(statement, row)


def _event_with_body(conn: sa.Connection, upload_id: str, body_sha256: str) -> Landing | None:
    row = conn.execute(_EVENT_WITH_BODY,
                       {"upload_id": upload_id, "body_sha256": body_sha256}).first()
    if row is None:
        return None
    return Landing(row.id, False, row.duplicate_of, row.conflicting, row.entry_count,
                   row.unexpected_count)
