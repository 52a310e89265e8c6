"""How long the ledger takes to plan, re-plan and count a partition of 100,000 jobs.

Runs on a throw-away SQLite file and, when it answers, a throw-away PostgreSQL database
(FLEET_TEST_PG_URL, default postgres@127.0.0.1:5432). Payloads are about 1 kB, like a real job
with one stop and a few items.

    .venv/bin/python benchmarks/ledger_plan.py [--jobs 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger import repository as repo
from fleet_pipeline.ledger.engine import make_engine

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
PG_ADMIN_URL = os.environ.get(
    "FLEET_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def _payload(i: int) -> str:
    return json.dumps({
        "reference_number": f"CART{i:08d}", "job_type_id": 3, "schedule_type_id": 2,
        "scheduled_delivery_ts": "2026-03-02 10:00:00",
        "stops": [{"stop_type_id": 2, "customer_name": "Customer name of some length",
                   "address_line_1": "12 Long Street, Some Suburb", "postal_code": "8001",
                   "country_id": 1, "latitude": -33.92, "longitude": 18.42,
                   "contact_number": "+27215550100", "email": "someone@example.com",
                   "note": "Ring at the back gate; ask for the stores manager.",
                   "delivery_windows": [{"time_from": "08:00:00", "time_to": "12:00:00"}]}],
        "items": [{"description": f"Item {n}", "quantity": n + 1, "weight": 2.5,
                   "weight_measure_id": 1, "sku": f"SKU-{i}-{n}"} for n in range(3)],
    })


def _timed(label: str, work: Callable[[], object]) -> None:
    started = time.perf_counter()
    work()
    print(f"  {label:<44} {time.perf_counter() - started:7.2f} s")


def run(engine: sa.Engine, n: int) -> None:
    migrate.upgrade(engine)
    planned = []
    for i in range(n):
        payload = _payload(i)
        planned.append((f"CART{i:08d}", hashlib.sha256(payload.encode()).hexdigest(), payload))
    changed = [(r, h[::-1], p) if i % 10 == 0 else (r, h, p)
               for i, (r, h, p) in enumerate(planned)]

    def step(work: Callable[[sa.Connection], object]) -> Callable[[], object]:
        def in_transaction() -> object:
            with engine.begin() as conn:
                return work(conn)
        return in_transaction

    _timed(f"plan_jobs, {n:,} new", step(lambda c: repo.plan_jobs(c, DAY, planned, now=NOW)))
    _timed(f"plan_jobs again, {n:,} unchanged",
           step(lambda c: repo.plan_jobs(c, DAY, planned, now=NOW)))
    _timed(f"plan_jobs again, {n // 10:,} payloads changed",
           step(lambda c: repo.plan_jobs(c, DAY, changed, now=NOW)))
    _timed("job_counts_by_state", step(lambda c: repo.job_counts_by_state(c, DAY)))
    _timed(f"jobs_to_send, all {n:,}", step(lambda c: repo.jobs_to_send(c, DAY, now=NOW)))

    def upload_cycle(conn: sa.Connection) -> None:
        refs = [j.reference_number for j in repo.jobs_to_send(conn, DAY, now=NOW, limit=1000)]
        repo.record_upload_intent(conn, "U1", DAY, refs, now=NOW)
        repo.record_upload_outcome(conn, "U1", "accepted", http_status=200,
                                   deadline_at=NOW + timedelta(hours=1), now=NOW)
        repo.mark_created(conn, [(r, i, None) for i, r in enumerate(refs[:900])], now=NOW)
        repo.mark_rejected(conn, [(r, None, {"stops": ["bad"]}, None) for r in refs[900:]],
                           upload_id="U1", now=NOW)

    _timed("one upload of 1,000: intent, answer, callback", step(upload_cycle))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    n = parser.parse_args().jobs
    with tempfile.TemporaryDirectory() as folder:
        print(f"SQLite ({n:,} jobs)")
        engine = make_engine(f"sqlite:///{folder}/ledger.sqlite")
        run(engine, n)
        engine.dispose()

    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"fleet_bench_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"PostgreSQL skipped: {str(exc.orig).strip()}")
        return
    try:
        print(f"PostgreSQL ({n:,} jobs)")
        engine = make_engine(admin.url.set(database=name))
        run(engine, n)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
