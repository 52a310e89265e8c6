"""How long reconciling one day of 1,000,000 jobs takes, on SQLite and on PostgreSQL.

The day (built first, not timed): 1,000 bulk uploads of 1,000 jobs, accepted and past their
callback deadline; 1% of the rows failed our validation; every upload but one was called back
(2% of its rows rejected by the API, the rest created); one callback arrived twice in other
bytes, one conflicting callback names a second Fleet job for one reference and a reference we
never sent. Payloads are about 1 kB and every job has an event in its audit trail, as in a real
ledger. Timed: taking the day's callbacks into the ledger (`apply_callbacks`, the first step
of a reconciliation), then `reconcile_day` without the retry step (it needs the Fleet API):
classifying every job, syncing escalations, writing the CSV report; the same day reconciled
again, and `day_status`.

    .venv/bin/python benchmarks/reconcile.py [--jobs 1000000] [--db sqlite|postgres|both]

PostgreSQL: a throw-away database on FLEET_TEST_PG_URL (default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.callback_tables import callback_events, callback_results
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.jobstore import insert_many
from fleet_pipeline.ledger.tables import job_events, jobs, uploads, validation_failures
from fleet_pipeline.reconcile.callbacks import apply_callbacks
from fleet_pipeline.reconcile.run import reconcile_day
from fleet_pipeline.reconcile.settings import ReconcileSettings
from fleet_pipeline.reconcile.status import day_status

DAY = date(2026, 3, 2)
SENT = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
NOW = SENT + timedelta(hours=2)
PER_UPLOAD = 1000
PG_ADMIN_URL = os.environ.get(
    "FLEET_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
ERRORS = json.dumps({"items.0.quantity": ["The items.0.quantity must be greater than 0."]})
PAYLOAD = json.dumps({
    "job_type_id": 3, "schedule_type_id": 2, "scheduled_delivery_ts": "2026-03-02 10:00:00",
    "stops": [{"stop_type_id": 2, "customer_name": "Customer name of some length",
               "address_line_1": "12 Long Street, Some Suburb", "postal_code": "8001",
               "country_id": 1, "latitude": -33.92, "longitude": 18.42,
               "contact_number": "+27215550100", "email": "someone@example.com",
               "note": "Ring at the back gate; ask for the stores manager.",
               "delivery_windows": [{"time_from": "08:00:00", "time_to": "12:00:00"}]}],
    "items": [{"description": f"Item {n}", "quantity": n + 1, "weight": 2.5,
               "weight_measure_id": 1, "sku": f"SKU-{n}"} for n in range(3)],
})


def invalid(i: int) -> bool:
    return i % 100 == 99


def refused(i: int) -> bool:
    return i % 50 == 7


def reference(i: int) -> str:
    return f"CART{i:08d}"


def _batches(rows: Iterator[dict], size: int = 50_000) -> Iterator[list[dict]]:
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def build_day(engine: sa.Engine, n: int) -> None:
    count = (n + PER_UPLOAD - 1) // PER_UPLOAD
    deadline = SENT + timedelta(hours=1)
    with engine.begin() as conn:
        insert_many(conn, uploads, [
            {"upload_id": f"U{u:05d}", "partition_date": DAY, "job_count": PER_UPLOAD,
             "state": "accepted", "sent_at": SENT, "accepted_at": SENT, "deadline_at": deadline,
             "created_at": SENT, "updated_at": SENT} for u in range(count)])

    def job_rows() -> Iterator[dict]:
        for i in range(n):
            bad = invalid(i)
            yield {"reference_number": reference(i), "partition_date": DAY,
                   "payload_hash": f"{i:064d}", "payload": None if bad else PAYLOAD,
                   "state": "rejected_invalid" if bad else "submitted",
                   "endpoint": None if bad else "bulk",
                   "upload_id": None if bad else f"U{i // PER_UPLOAD:05d}",
                   "attempts": 0 if bad else 1, "deadline_at": None if bad else deadline,
                   "last_error": "failed validation: contact_number: phone_format" if bad
                   else None, "created_at": SENT, "updated_at": SENT, "state_changed_at": SENT}

    def event_rows() -> Iterator[dict]:
        for i in range(n):
            yield {"reference_number": reference(i), "event": "bulk_intent",
                   "from_state": "queued", "to_state": "in_flight", "at": SENT,
                   "detail": json.dumps({"upload_id": f"U{i // PER_UPLOAD:05d}"})}

    for table, rows in ((jobs, job_rows()), (job_events, event_rows())):
        for batch in _batches(rows):
            with engine.begin() as conn:
                conn.execute(table.insert(), batch)
    with engine.begin() as conn:
        insert_many(conn, validation_failures, [
            {"partition_date": DAY, "reference_number": reference(i), "record": "delivery",
             "row_position": i, "column_name": "contact_number", "check_name": "phone_format",
             "masked_value": "+***(12)", "recorded_at": SENT} for i in range(n) if invalid(i)])

    def results(u: int, event_id: int) -> list[dict]:
        rows = []
        for position, i in enumerate(i for i in range(u * PER_UPLOAD, min(n, (u + 1) * PER_UPLOAD))
                                     if not invalid(i)):
            rows.append({"event_id": event_id, "upload_id": f"U{u:05d}", "position": position,
                         "reference_number": reference(i),
                         "outcome": "rejected" if refused(i) else "created",
                         "fleet_job_id": None if refused(i) else 1_000_000 + i,
                         "errors": ERRORS if refused(i) else None, "unexpected": False})
        return rows

    def event(event_id: int, u: int, rows: list[dict], **flags) -> dict:
        created = sum(r["outcome"] == "created" for r in rows)
        return {"id": event_id, "upload_id": f"U{u:05d}", "received_at": SENT,
                "body": b"[]", "body_sha256": f"{event_id:064d}", "entries_sha256": f"{u:064d}",
                "signature": "0" * 64, "signature_variant": "raw",
                "content_type": "application/json", "headers": "{}",
                "entry_count": len(rows), "created_count": created,
                "rejected_count": len(rows) - created,
                "unexpected_count": sum(r["unexpected"] for r in rows),
                "duplicate_of": flags.get("duplicate_of"),
                "conflicting": flags.get("conflicting", False)}

    # Every upload but the last is called back; upload 0 twice (the repeat in other bytes).
    next_id = 1
    for first in range(0, count - 1, 100):
        events, rows = [], []
        for u in range(first, min(first + 100, count - 1)):
            upload_rows = results(u, next_id)
            events.append(event(next_id, u, upload_rows))
            rows += upload_rows
            next_id += 1
        with engine.begin() as conn:
            conn.execute(callback_events.insert(), events)
            conn.execute(callback_results.insert(), rows)
    repeat = results(0, next_id)
    conflict = [{"event_id": next_id + 1, "upload_id": "U00001", "position": 0,
                 "reference_number": reference(PER_UPLOAD), "outcome": "created",
                 "fleet_job_id": 9_999_999, "errors": None, "unexpected": False},
                {"event_id": next_id + 1, "upload_id": "U00001", "position": 1,
                 "reference_number": "NEVER-SENT-1", "outcome": "created",
                 "fleet_job_id": 9_999_998, "errors": None, "unexpected": True}]
    with engine.begin() as conn:
        conn.execute(callback_events.insert(), [event(next_id, 0, repeat, duplicate_of=1),
                                                event(next_id + 1, 1, conflict,
                                                      conflicting=True)])
        conn.execute(callback_results.insert(), repeat + conflict)
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(sa.text("ANALYZE"))


def run(engine: sa.Engine, n: int, data_dir: Path) -> dict[str, float]:
    migrate.upgrade(engine)
    started = time.perf_counter()
    build_day(engine, n)
    print(f"  building the day (not timed below)          {time.perf_counter() - started:7.1f} s")
    settings = ReconcileSettings()
    figures: dict[str, float] = {}
    cpu: dict[str, float] = {}  # this process and, on PostgreSQL, its server backends

    def timed(label: str, step):
        started, cpu_started = time.perf_counter(), _cpu(engine)
        value = step()
        figures[label], cpu[label] = time.perf_counter() - started, _cpu(engine) - cpu_started
        return value

    intake = timed("callbacks into the ledger (apply_callbacks)",
                   lambda: apply_callbacks(engine, DAY, now=NOW))
    result = timed("reconcile_day, callbacks already in",
                   lambda: reconcile_day(engine, DAY, data_dir, settings, now=NOW))
    for step, seconds in result.seconds.items():
        figures[f"  {step}"] = seconds
    again = timed("reconcile_day again, nothing new",
                  lambda: reconcile_day(engine, DAY, data_dir, settings,
                                        now=NOW + timedelta(minutes=5)))
    status = timed("day_status (live counts)",
                   lambda: day_status(engine, DAY, data_dir=data_dir, now=NOW))

    assert sum(result.counts.values()) - result.counts["unexpected"] == n
    assert status["extracted"] == n and again.escalations.opened == 0
    print(f"  {'step':<44} {'wall':>9} {'CPU':>9}")
    for label, seconds in figures.items():
        used = f"{cpu[label]:7.2f} s" if label in cpu else ""
        print(f"  {label:<44} {seconds:7.2f} s {used:>9}   load {os.getloadavg()[0]:.2f}"
              if used else f"  {label:<44} {seconds:7.2f} s")
    print("  classes: " + ", ".join(f"{k} {v:,}" for k, v in result.counts.items() if v))
    print("  callback rows: " + ", ".join(f"{k} {v:,}" for k, v in
                                          intake.effects.items() if v)
          + f"; escalations open {result.escalations.total_open:,}, report "
          f"{result.report_rows:,} rows")
    return figures


def _cpu(engine: sa.Engine) -> float:
    """CPU seconds used so far by this process and, on PostgreSQL, by the server processes of
    the benchmark's database (from /proc; 0 for them where it cannot be read)."""
    used = time.process_time()
    if engine.dialect.name != "postgresql":
        return used
    with engine.connect() as conn:
        pids = conn.scalars(sa.text("SELECT pid FROM pg_stat_activity WHERE datname = "
                                    "current_database()")).all()
    ticks = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    return used


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    args = parser.parse_args()
    n = args.jobs
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, load average {os.getloadavg()[0]:.2f} "
          f"{os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}; {' '.join(sys.argv)}")
    with tempfile.TemporaryDirectory() as folder:
        if args.db in ("sqlite", "both"):
            print(f"SQLite ({n:,} jobs)")
            engine = make_engine(f"sqlite:///{folder}/ledger.sqlite")
            run(engine, n, Path(folder) / "data")
            engine.dispose()
        if args.db in ("postgres", "both"):
            run_postgres(n, Path(folder) / "data-pg")
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


def run_postgres(n: int, data_dir: Path) -> None:
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"fleet_bench_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        print(f"PostgreSQL ({n:,} jobs)")
        engine = make_engine(admin.url.set(database=name))
        run(engine, n, data_dir)
        engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
