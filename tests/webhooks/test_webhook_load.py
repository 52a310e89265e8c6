"""Two receiver processes on one PostgreSQL database, 10,000 concurrent callbacks with repeats:
every distinct body lands exactly once, with every entry, and none lands twice."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from webhook_support import (
    DAY,
    free_port,
    signed_headers,
    start_receiver,
)

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.callback_tables import callback_events, callback_results
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import jobs, uploads
from fleet_pipeline.webhooks import tokens

UPLOADS = 4_000
ROWS = 5
SECOND_BODY_EVERY = 10  # one upload in ten is called back twice with different entries
CALLBACKS = 10_000
CONCURRENCY = 32


def _seed(engine: sa.Engine, rng: random.Random) -> list[tuple[str, str, bytes]]:
    """The uploads and their jobs in the ledger; returns every distinct (upload, path, body)."""
    now = datetime.now(UTC)
    upload_rows, job_rows, bodies = [], [], []
    for u in range(UPLOADS):
        upload_id, token = f"LOAD-{u:05d}", tokens.new_token()
        upload_rows.append({"upload_id": upload_id, "partition_date": DAY, "job_count": ROWS,
                            "webhook_token_hash": tokens.hash_token(token), "state": "accepted",
                            "created_at": now, "updated_at": now})
        references = [f"{upload_id}-{r}" for r in range(ROWS)]
        job_rows += [{"reference_number": ref, "partition_date": DAY, "state": "submitted",
                      "upload_id": upload_id, "created_at": now, "updated_at": now,
                      "state_changed_at": now} for ref in references]
        for variant in range(2 if u % SECOND_BODY_EVERY == 0 else 1):
            entries = [{"reference_number": ref, "job_id": u * 100 + r + variant + 1}
                       if rng.random() < 0.8 else
                       {"reference_number": ref, "errors": {"job_type_id": ["invalid"]}}
                       for r, ref in enumerate(references)]
            bodies.append((upload_id, tokens.callback_path(upload_id, token),
                           json.dumps(entries).encode()))
    with engine.begin() as conn:
        conn.execute(uploads.insert(), upload_rows)
        conn.execute(jobs.insert(), job_rows)
    return bodies


def _copies(count: int, rng: random.Random) -> list[int]:
    """1 to 3 deliveries per body, CALLBACKS in all."""
    copies = [1] * count
    room = [i for i in range(count) for _ in range(2)]
    for i in rng.sample(room, CALLBACKS - count):
        copies[i] += 1
    return copies


async def _deliver(ports: list[int], bodies, copies, rng: random.Random) -> list[int]:
    gate = asyncio.Semaphore(CONCURRENCY)
    statuses: list[int] = []
    # One client per receiver: a pool shared by two hosts would keep closing one's connections
    # to open the other's.
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    clients = {port: httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                       timeout=60) for port in ports}

    async def post(port: int, path: str, body: bytes) -> None:
        async with gate:
            response = await clients[port].post(path, content=body,
                                                headers=signed_headers(body))
        statuses.append(response.status_code)

    async def deliver_all(path: str, body: bytes, n: int) -> None:
        if n >= 2:  # the first two at once, one to each receiver
            await asyncio.gather(post(ports[0], path, body), post(ports[1], path, body))
            n -= 2
        for _ in range(n):
            await post(rng.choice(ports), path, body)

    try:
        await asyncio.gather(*(deliver_all(path, body, n)
                               for (_, path, body), n in zip(bodies, copies, strict=True)))
    finally:
        for client in clients.values():
            await client.aclose()
    return statuses


@pytest.mark.slow
@pytest.mark.load
def test_two_receivers_land_every_distinct_callback_exactly_once(pg_url, tmp_path):
    rng = random.Random(20260302)
    engine = make_engine(pg_url)
    migrate.upgrade(engine)
    bodies = _seed(engine, rng)
    copies = _copies(len(bodies), rng)
    order = list(range(len(bodies)))
    rng.shuffle(order)
    ports = [free_port(), free_port()]
    with ThreadPoolExecutor(2) as pool:
        receivers = list(pool.map(
            lambda port: start_receiver(pg_url, port, tmp_path / f"{port}.log"), ports))
    try:
        statuses = asyncio.run(_deliver(ports, [bodies[i] for i in order],
                                        [copies[i] for i in order], rng))
    finally:
        for receiver in receivers:
            receiver.stop()
    assert len(statuses) == CALLBACKS and set(statuses) == {200}

    expected = {(upload_id, hashlib.sha256(body).hexdigest()) for upload_id, _, body in bodies}
    expected_rows = {(upload_id, hashlib.sha256(body).hexdigest(), position,
                      entry["reference_number"], entry.get("job_id"))
                     for upload_id, _, body in bodies
                     for position, entry in enumerate(json.loads(body))}
    with engine.connect() as conn:
        landed = conn.execute(sa.select(callback_events.c.upload_id,
                                        callback_events.c.body_sha256,
                                        callback_events.c.conflicting)).all()
        rows = conn.execute(
            sa.select(callback_events.c.upload_id, callback_events.c.body_sha256,
                      callback_results.c.position, callback_results.c.reference_number,
                      callback_results.c.fleet_job_id, callback_results.c.unexpected)
            .join(callback_events, callback_events.c.id == callback_results.c.event_id)
        ).all()
    engine.dispose()
    assert len(landed) == len(expected) and {(u, s) for u, s, _ in landed} == expected
    assert len(rows) == len(expected_rows) and {tuple(r)[:5] for r in rows} == expected_rows
    assert not any(r.unexpected for r in rows)
    conflicting = [u for u, _, flag in landed if flag]
    assert len(conflicting) == len(set(conflicting)) == UPLOADS // SECOND_BODY_EVERY
