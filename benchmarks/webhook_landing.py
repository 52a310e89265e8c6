"""Benchmark: landing 1,000-row bulk-upload callbacks, against a plain insert of the same rows.

For each database (SQLite in a temporary folder; PostgreSQL in a throw-away database created and
dropped here), with `--callbacks` uploads of 1,000 jobs each in the ledger:

- route:     one signed POST after another to `fleet-pipeline webhooks serve` (its own process)
             over loopback; latency per callback, median and p99
- landing:   parse_entries + land_callback + commit in this process, no HTTP; median and p99
- sustained: the same callbacks posted by `--senders` threads at once; callbacks and rows per s
- plain:     SQLAlchemy Core executemany of the same result rows into a bare table of the same
             columns (no keys, flags or event), one transaction per callback

The landed rows are deleted between phases, so every phase lands every callback anew.
Goals: route median under 50 ms; route and sustained at least half the plain insert's rows/s.

Run: .venv/bin/python benchmarks/webhook_landing.py [--callbacks 200] [--senders 4]
     [--databases sqlite,postgres]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.callback_tables import callback_events, callback_results
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import jobs, uploads
from fleet_pipeline.webhooks import tokens
from fleet_pipeline.webhooks.landing import Delivery, land_callback, result_rows
from fleet_pipeline.webhooks.parse import parse_entries

ROWS = 1_000
KEY = "bench-signing-key"
DAY = date(2026, 12, 4)
PG_ADMIN_URL = os.environ.get("FLEET_TEST_PG_URL",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")

plain_results = sa.Table(
    "bench_plain_results", sa.MetaData(),
    *(sa.Column(c.name, c.type, nullable=c.nullable) for c in callback_results.columns),
)


def seed(engine: sa.Engine, count: int) -> list[tuple[str, str, bytes]]:
    """`count` accepted uploads of ROWS jobs; returns (upload_id, path, body) per upload."""
    rng = random.Random(4)
    now = datetime.now(UTC)
    callbacks = []
    with engine.begin() as conn:
        for u in range(count):
            upload_id, token = f"BENCH-{u:04d}", tokens.new_token()
            conn.execute(uploads.insert().values(
                upload_id=upload_id, partition_date=DAY, job_count=ROWS, state="accepted",
                webhook_token_hash=tokens.hash_token(token), created_at=now, updated_at=now))
            references = [f"{upload_id}-{r:04d}" for r in range(ROWS)]
            conn.execute(jobs.insert(), [
                {"reference_number": ref, "partition_date": DAY, "state": "submitted",
                 "upload_id": upload_id, "created_at": now, "updated_at": now,
                 "state_changed_at": now} for ref in references])
            entries = [{"reference_number": ref, "job_id": 10_000_000 + u * ROWS + r}
                       if rng.random() < 0.9 else
                       {"reference_number": ref,
                        "errors": {"job_type_id": ["The selected job_type_id is invalid."]}}
                       for r, ref in enumerate(references)]
            callbacks.append((upload_id, tokens.callback_path(upload_id, token),
                              json.dumps(entries).encode()))
    return callbacks


def clear(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(callback_results.delete())
        conn.execute(callback_events.delete())
        conn.execute(plain_results.delete())


def post(client: httpx.Client, path: str, body: bytes) -> float:
    started = time.perf_counter()
    response = client.post(path, content=body, headers={
        "Content-Type": "application/json",
        signature.SIGNATURE_HEADER: signature.sign(body, KEY)})
    elapsed = time.perf_counter() - started
    if response.status_code != 200 or not response.json()["landed"]:
        raise RuntimeError(f"callback not landed: {response.status_code} {response.text}")
    return elapsed


def bench_route(base_url: str, callbacks) -> list[float]:
    with httpx.Client(base_url=base_url, timeout=60) as client:
        return [post(client, path, body) for _, path, body in callbacks]


def bench_sustained(base_url: str, callbacks, senders: int) -> float:
    """Wall seconds to land every callback with `senders` at once."""
    clients = [httpx.Client(base_url=base_url, timeout=60) for _ in range(senders)]
    started = time.perf_counter()
    with ThreadPoolExecutor(senders) as pool:
        list(pool.map(lambda i: post(clients[i % senders], callbacks[i][1], callbacks[i][2]),
                      range(len(callbacks))))
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    return elapsed


def bench_landing(engine: sa.Engine, callbacks) -> list[float]:
    times = []
    for upload_id, _, body in callbacks:
        started = time.perf_counter()
        delivery = Delivery(upload_id, body, signature.sign(body, KEY), "raw", "application/json",
                            "127.0.0.1", {}, datetime.now(UTC))
        with engine.begin() as conn:
            landing = land_callback(conn, delivery, parse_entries(body))
        times.append(time.perf_counter() - started)
        assert landing.new and landing.entry_count == ROWS
    return times


def bench_plain(engine: sa.Engine, callbacks) -> list[float]:
    """The same rows, built before the clock starts, inserted with nothing else."""
    prepared = [[row | {"event_id": 1}
                 for row in result_rows(upload_id, parse_entries(body), ())]
                for upload_id, _, body in callbacks]
    times = []
    for rows in prepared:
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(plain_results.insert(), rows)
        times.append(time.perf_counter() - started)
    return times


@contextmanager
def receiver(url: str):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [str(Path(sys.executable).with_name("fleet-pipeline")), "webhooks", "serve",
               "--port", str(port), "--db-url", url]
    env = {**os.environ, "FLEET_WEBHOOK_SIGNING_KEY": KEY}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env=env)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(base_url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the receiver did not start") from None
            time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)


@contextmanager
def database(kind: str):
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as folder:
            yield f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"fleet_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def p99(times: list[float]) -> float:
    return statistics.quantiles(times, n=100)[98]


def run(kind: str, count: int, senders: int) -> None:
    with database(kind) as url:
        engine = make_engine(url)
        migrate.upgrade(engine)
        plain_results.create(engine)
        started = time.perf_counter()
        callbacks = seed(engine, count)
        print(f"\n{kind}: {count} uploads of {ROWS:,} jobs seeded in "
              f"{time.perf_counter() - started:.1f} s; body {len(callbacks[0][2]):,} bytes")
        plain = bench_plain(engine, callbacks)
        clear(engine)
        landing = bench_landing(engine, callbacks)
        clear(engine)
        with receiver(url) as base_url:
            route = bench_route(base_url, callbacks)
            clear(engine)
            sustained = bench_sustained(base_url, callbacks, senders)
        engine.dispose()
    plain_rate = ROWS / statistics.median(plain)
    print(f"  plain executemany  median {ms(statistics.median(plain))}  p99 {ms(p99(plain))}"
          f"  {plain_rate:10,.0f} rows/s")
    for name, times in (("landing function", landing), ("HTTP route", route)):
        rate = ROWS / statistics.median(times)
        print(f"  {name:<18} median {ms(statistics.median(times))}  p99 {ms(p99(times))}"
              f"  {rate:10,.0f} rows/s  = {rate / plain_rate:4.2f} x plain")
    rate = count * ROWS / sustained
    print(f"  sustained, {senders} senders  {count / sustained:6.1f} callbacks/s"
          f"  {rate:10,.0f} rows/s  = {rate / plain_rate:4.2f} x plain")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--callbacks", type=int, default=200)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--databases", default="sqlite,postgres")
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}, "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    for kind in args.databases.split(","):
        run(kind, args.callbacks, args.senders)


if __name__ == "__main__":
    main()
