"""The webhook receiver: `POST /callbacks/{upload_id}/{token}` lands a bulk-upload callback.

Checks, in order, each answered before anything is written (docs/webhooks.md):
  404  no upload of that id in the ledger (upload ids are no secret; the token is)
  401  wrong token, or an upload sent without a webhook (constant-time comparison)
  413  body over `max_body_bytes` (Content-Length, then counted while the stream is read)
  415  not JSON (or compressed)
  401  `X-Webhook-Signature` missing or not the HMAC of the raw body
  400  not a JSON array of callback entries
Then the event and its entries land in one transaction and 200 goes out after the commit.
A database failure answers 503 with Retry-After: Fleet (or whoever sends) may safely retry, a
repeated body lands nothing new.
"""

from __future__ import annotations

import logging
import threading
from contextlib import nullcontext
from datetime import UTC, datetime

import sqlalchemy as sa
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.ledger.callback_tables import callback_events, callback_results
from fleet_pipeline.ledger.tables import UPLOAD_ID_LENGTH, jobs, uploads
from fleet_pipeline.webhooks.landing import Delivery, Landing, land_callback, stored_token_hash
from fleet_pipeline.webhooks.parse import (
    Entry,
    InvalidCallback,
    is_json_content_type,
    parse_entries,
)
from fleet_pipeline.webhooks.tokens import CALLBACK_PREFIX, token_matches

# A 1,000-row callback with long error messages is well under 1 MiB.
DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024
RETRY_AFTER_SECONDS = 5

log = logging.getLogger(__name__)


class _Refused(Exception):
    def __init__(self, status: int, detail: str, why: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.why = why  # for the log only: may say more than the caller is told


def create_app(
    engine: sa.Engine,
    signing_key: str,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    accept_json_encoded_signature: bool = False,
) -> FastAPI:
    """The receiver on the pipeline database `engine` (migrated to head by the caller).

    `signing_key`: the account's API key (password) the signatures are made with.
    `accept_json_encoded_signature`: also accept the reading of Cartrack's PHP sample (HMAC of
    the body as a JSON string; fleet_api/signature.py).
    """
    if not signing_key:
        raise ValueError("the webhook receiver needs a signing key")
    if max_body_bytes < 1:
        raise ValueError("max_body_bytes must be positive")
    app = FastAPI(title="fleet_pipeline webhook receiver", docs_url=None, redoc_url=None,
                  openapi_url=None)

    def check_address(upload_id: str, token: str) -> None:
        known, stored = False, None
        if len(upload_id) <= UPLOAD_ID_LENGTH and upload_id.isprintable():
            with engine.connect() as conn:
                known, stored = stored_token_hash(conn, upload_id)
        if not known:
            raise _Refused(404, "unknown upload", "no upload of that id in the ledger")
        if not token_matches(stored, token):
            why = "wrong token" if stored else "upload sent without a webhook"
            raise _Refused(401, "invalid callback token", why)

    def signature_variant(body: bytes, given: str | None) -> str:
        if signature.verify(body, given, signing_key):
            return "raw"
        if accept_json_encoded_signature and signature.verify(
            body, given, signing_key, accept_json_encoded_variant=True
        ):
            return "json_encoded"
        why = "no signature" if not given else "signature does not match the body"
        raise _Refused(401, "invalid signature", why)

    async def read_delivery(upload_id: str, token: str, request: Request) -> tuple[Delivery,
                                                                                  list[Entry]]:
        received_at = datetime.now(UTC)
        await run_in_threadpool(check_address, upload_id, token)
        declared = request.headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > max_body_bytes):
            raise _Refused(413, f"the body is over {max_body_bytes} bytes", "Content-Length")
        content_type = request.headers.get("content-type")
        if not is_json_content_type(content_type):
            raise _Refused(415, "the body must be application/json", f"{content_type!r}")
        if request.headers.get("content-encoding", "identity").lower() != "identity":
            raise _Refused(415, "compressed bodies are not accepted", "Content-Encoding")
        body = await _read_body(request, max_body_bytes)
        given = request.headers.get(signature.SIGNATURE_HEADER)
        variant = signature_variant(body, given)
        try:
            entries = parse_entries(body)
        except InvalidCallback as exc:
            raise _Refused(400, str(exc), str(exc)) from None
        delivery = Delivery(
            upload_id=upload_id, body=body, signature=(given or "").strip().lower(),
            signature_variant=variant, content_type=content_type or "",
            remote_addr=request.client.host if request.client else None,
            headers=request.headers, received_at=received_at,
        )
        return delivery, entries

    # SQLite has one writer at a time. Threads of this process queue here for it; left to
    # SQLite's busy handler, a waiting writer sleeps in growing steps (up to 100 ms) and misses
    # the moment the lock is free: with 4 callbacks at once, a third of the throughput.
    write_lock = threading.Lock() if engine.dialect.name == "sqlite" else nullcontext()

    def land(delivery: Delivery, entries: list[Entry]) -> Landing:
        with write_lock, engine.begin() as conn:
            return land_callback(conn, delivery, entries)

    @app.post(CALLBACK_PREFIX + "/{upload_id}/{token}")
    async def callback(upload_id: str, token: str, request: Request) -> JSONResponse:
        shown = repr(upload_id[:UPLOAD_ID_LENGTH])
        try:
            delivery, entries = await read_delivery(upload_id, token, request)
            landing = await run_in_threadpool(land, delivery, entries)
        except _Refused as refused:
            log.warning("callback for upload %s refused (%d): %s", shown, refused.status,
                        refused.why)
            return JSONResponse({"detail": refused.detail}, status_code=refused.status)
        except sa.exc.SQLAlchemyError as exc:
            log.error("callback for upload %s not landed, answered 503: %s", shown,
                      _database_error(exc))
            return JSONResponse({"detail": "the database is unavailable; retry later"},
                                status_code=503,
                                headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        _log_landing(shown, landing)
        return JSONResponse({
            "event_id": landing.event_id,
            "landed": landing.new,
            "duplicate_of": landing.duplicate_of,
            "conflicting": landing.conflicting,
            "entries": landing.entry_count,
            "unexpected": landing.unexpected_count,
        })

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
                for table in (uploads, jobs, callback_events, callback_results):
                    conn.execute(sa.select(sa.literal(1)).select_from(table).limit(0))
        except sa.exc.SQLAlchemyError as exc:
            log.error("health check failed: %s", _database_error(exc))
            return JSONResponse({"status": "unavailable"}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused as soon as it passes `limit`: a lying or absent Content-Length cannot
    make the receiver hold more than `limit` bytes."""
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _Refused(413, f"the body is over {limit} bytes", "while reading")
            chunks.append(chunk)
    except ClientDisconnect:
        raise _Refused(400, "the body was cut short", "client disconnected") from None
    return b"".join(chunks)


def _database_error(exc: sa.exc.SQLAlchemyError) -> str:
    # Only the first line: a driver's DETAIL can quote the row, which holds callback data.
    cause = getattr(exc, "orig", None) or exc
    first_line = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first_line}"[:300]


def _log_landing(shown: str, landing: Landing) -> None:
    if not landing.new:
        log.info("callback for upload %s: repeated body of event %d, nothing new", shown,
                 landing.event_id)
        return
    flags = " (conflicting)" if landing.conflicting else ""
    if landing.duplicate_of is not None:
        flags += f" (same entries as event {landing.duplicate_of})"
    log.info("callback for upload %s: landed event %d, %d entries, %d unexpected%s", shown,
             landing.event_id, landing.entry_count, landing.unexpected_count, flags)
