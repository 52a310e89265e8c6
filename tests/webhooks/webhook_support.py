"""Building blocks of the webhook receiver tests: uploads in the ledger, signed requests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.ledger.callback_tables import callback_events, callback_results
from fleet_pipeline.ledger.tables import jobs, uploads
from fleet_pipeline.webhooks import tokens

with warnings.catch_warnings():
    # Starlette nudges towards another HTTP library for its test client; httpx is ours.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient as TestClient

KEY = "test-api-password"
NOW = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)


@dataclass(frozen=True)
class Upload:
    upload_id: str
    token: str
    references: tuple[str, ...]

    @property
    def path(self) -> str:
        return tokens.callback_path(self.upload_id, self.token)


def add_upload(conn: sa.Connection, upload_id: str, references: list[str]) -> Upload:
    """An accepted bulk upload of `references` with its own callback token."""
    token = tokens.new_token()
    conn.execute(uploads.insert().values(
        upload_id=upload_id, partition_date=DAY, job_count=len(references),
        webhook_token_hash=tokens.hash_token(token), state="accepted", created_at=NOW,
        updated_at=NOW))
    if references:
        conn.execute(jobs.insert(), [
            {"reference_number": r, "partition_date": DAY, "state": "submitted",
             "endpoint": "bulk", "upload_id": upload_id, "attempts": 1, "created_at": NOW,
             "updated_at": NOW, "state_changed_at": NOW}
            for r in references])
    return Upload(upload_id, token, tuple(references))


def created(reference: str, job_id: int) -> dict[str, Any]:
    return {"reference_number": reference, "job_id": job_id}


def rejected(reference: str, **errors: list[str]) -> dict[str, Any]:
    return {"reference_number": reference, "errors": errors}


def body_of(entries: Any) -> bytes:
    return json.dumps(entries).encode()


def signed_headers(body: bytes, key: str = KEY, **extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json",
            signature.SIGNATURE_HEADER: signature.sign(body, key), **extra}


def counts(engine: sa.Engine) -> tuple[int, int]:
    """(callback_events rows, callback_results rows)."""
    with engine.connect() as conn:
        return (conn.scalar(sa.select(sa.func.count()).select_from(callback_events)),
                conn.scalar(sa.select(sa.func.count()).select_from(callback_results)))


def events(engine: sa.Engine) -> list[sa.Row]:
    with engine.connect() as conn:
        return conn.execute(sa.select(callback_events).order_by(callback_events.c.id)).all()


def results(engine: sa.Engine, event_id: int | None = None) -> list[sa.Row]:
    query = sa.select(callback_results).order_by(callback_results.c.event_id,
                                                 callback_results.c.position)
    if event_id is not None:
        query = query.where(callback_results.c.event_id == event_id)
    with engine.connect() as conn:
        return conn.execute(query).all()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Receiver:
    """`fleet-pipeline webhooks serve` in its own process; its output goes to a file (a pipe
    nobody reads would fill up and block it)."""

    process: subprocess.Popen
    log: Path

    def stop(self) -> str:
        """Stop it and return everything it printed."""
        self.process.terminate()
        self.process.wait(timeout=20)
        return self.log.read_text()


def start_receiver(db_url: str, port: int, log: Path, *extra: str) -> Receiver:
    """Start a receiver and return once its /healthz says ok."""
    command = [str(Path(sys.executable).with_name("fleet-pipeline")), "webhooks", "serve",
               "--port", str(port), "--db-url", db_url, *extra]
    env = {**os.environ, "FLEET_WEBHOOK_SIGNING_KEY": KEY}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    receiver = Receiver(process, log)
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return receiver
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            raise RuntimeError(f"the receiver did not start: {receiver.stop()}")
        time.sleep(0.1)
