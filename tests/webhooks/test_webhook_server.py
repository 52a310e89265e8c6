"""The receiver over real loopback HTTP: a streamed body over the limit, racing deliveries,
another writer on the same database, and a reader following events by cursor."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa
from webhook_support import (
    KEY,
    NOW,
    Upload,
    add_upload,
    body_of,
    counts,
    created,
    events,
    rejected,
    signed_headers,
)

from fleet_pipeline.ledger.callback_tables import callback_events
from fleet_pipeline.ledger.tables import job_events
from fleet_pipeline.webhooks.server import running_receiver


@pytest.fixture
def receiver(engine) -> Iterator[str]:
    with running_receiver(engine, KEY, max_body_bytes=2000) as base_url:
        yield base_url


def _uploads(engine: sa.Engine, count: int, rows: int = 2) -> list[Upload]:
    with engine.begin() as conn:
        return [add_upload(conn, f"U{u}", [f"R{u}-{r}" for r in range(rows)])
                for u in range(count)]


def test_a_streamed_body_is_cut_off_at_the_limit(receiver, engine):
    (upload,) = _uploads(engine, 1)
    body = body_of([created(f"R0-{i}", i + 1) for i in range(100)])
    assert len(body) > 2000

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for start in range(0, len(body), 500):
            yield body[start:start + 500]

    response = httpx.post(receiver + upload.path, content=chunks(),
                          headers=signed_headers(body))
    assert response.status_code == 413
    assert counts(engine) == (0, 0)


def test_the_same_body_delivered_many_times_at_once_lands_once(receiver, engine):
    uploads = _uploads(engine, 5)
    sends = [(u, body_of([created(r, 10 + i) for i, r in enumerate(u.references)]))
             for u in uploads for _ in range(6)]
    with httpx.Client() as client, ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(
            lambda send: client.post(receiver + send[0].path, content=send[1],
                                     headers=signed_headers(send[1])).status_code, sends))
    assert statuses == [200] * len(sends)
    assert counts(engine) == (5, 10)


def test_two_bodies_for_one_upload_at_once_flag_exactly_one_conflicting(receiver, engine):
    uploads = _uploads(engine, 8)
    sends = [(u, body_of([created(u.references[0], job_id), rejected(u.references[1], x=["y"])]))
             for u in uploads for job_id in (1, 2)]
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(
            lambda send: client.post(receiver + send[0].path, content=send[1],
                                     headers=signed_headers(send[1])).status_code, sends))
    assert statuses == [200] * len(sends)
    flags: dict[str, list[bool]] = {}
    for event in events(engine):
        flags.setdefault(event.upload_id, []).append(event.conflicting)
    assert all(per_upload == [False, True] for per_upload in flags.values())
    assert len(flags) == 8


def test_the_receiver_and_another_writer_write_at_once(receiver, engine):
    """SQLite: WAL and the busy time-out make each wait for the other instead of failing."""
    uploads = _uploads(engine, 20)
    stop = threading.Event()
    written: list[int] = []

    def ledger_writer() -> None:
        while not stop.is_set() or len(written) < 20:
            with engine.begin() as conn:
                conn.execute(job_events.insert().values(
                    reference_number="R0-0", event="note", to_state="submitted", at=NOW))
            written.append(1)

    writer = threading.Thread(target=ledger_writer)
    writer.start()
    try:
        # Waiting for the lock is the point; httpx's default 5 s read time-out is not the
        # receiver's (its busy time-out is 30 s) and a busy machine can exceed it.
        with httpx.Client(timeout=60) as client:
            for upload in uploads:
                body = body_of([created(upload.references[0], 1)])
                response = client.post(receiver + upload.path, content=body,
                                       headers=signed_headers(body))
                assert response.status_code == 200
    finally:
        stop.set()
        writer.join(timeout=30)
    assert counts(engine) == (20, 20)
    with engine.connect() as conn:
        assert conn.scalar(sa.select(sa.func.count()).select_from(job_events)) == len(written)


def test_a_cursor_on_event_ids_sees_every_event_landed_in_parallel(receiver, engine):
    """Events become visible in id order, so "id > last seen" never skips one."""
    uploads = _uploads(engine, 60, rows=1)
    seen: list[int] = []
    done = threading.Event()

    def follow() -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            with engine.connect() as conn:
                ids = conn.scalars(sa.select(callback_events.c.id)
                                   .where(callback_events.c.id > cursor)
                                   .order_by(callback_events.c.id)).all()
            seen.extend(ids)
            cursor = ids[-1] if ids else cursor
            if finished:
                return

    reader = threading.Thread(target=follow)
    reader.start()
    with httpx.Client() as client, ThreadPoolExecutor(8) as pool:
        def send(upload: Upload) -> int:
            body = body_of([created(upload.references[0], 1)])
            return client.post(receiver + upload.path, content=body,
                               headers=signed_headers(body)).status_code
        statuses = list(pool.map(send, uploads))
    done.set()
    reader.join(timeout=30)
    assert statuses == [200] * 60
    assert seen == [event.id for event in events(engine)]
