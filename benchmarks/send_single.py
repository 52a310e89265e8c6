"""Single creates at the production pace: does the sender use the account's rate budget?

The simulator runs in its own process with every create taking 11 s (as seen in production) and
the limit of 1,000 requests a minute on. `fleet-pipeline send --date D` runs as real processes
with the single endpoint: first one process with 1,000 jobs, then two processes at once (two
days of 500 jobs each by default) sharing the budget through the SQL rate limiter in the one
pipeline database. Figures per scenario: wall time, creates a minute between the first and the
last create answered (the steady pace) and over the whole send, the share of the budget that
is, 429 answers seen by the simulator, and references created more than once.

`--unshared` is the control: each process of the two-process run gets a pipeline database of
its own, hence a rate limiter of its own, and together they overrun the account's budget; the
429 count is then expected to be above zero (it shows that the count can catch a pacing fault).

    .venv/bin/python benchmarks/send_single.py [--jobs 1000] [--two-by 500] [--latency 11]
        [--ledger sqlite|postgresql] [--unshared] [--skip-one]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from pathlib import Path

import httpx
import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import job_events, jobs
from fleet_pipeline.storage import atomic_write
from fleet_pipeline.validation.partition import job_files
from fleet_pipeline.validation.payloads import canonical_json, payload_digest

PG_ADMIN_URL = os.environ.get("FLEET_BENCH_PG_URL",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
USERNAME = "bench"
PASSWORD = "bench-password"
FIRST_DAY = date(2026, 11, 2)
EXECUTABLE = str(Path(sys.executable).with_name("fleet-pipeline"))


def payload(reference: str) -> dict:
    """About 1 kB, like a real job with one stop and a few items."""
    return {
        "reference_number": reference, "job_type_id": 3, "schedule_type_id": 3,
        "stops": [{"customer_name": "Customer name of some length",
                   "address_line_1": "12 Long Street, Some Suburb", "postal_code": "8001",
                   "latitude": -33.92, "longitude": 18.42, "contact_number": "+27215550123",
                   "email": "someone@example.com", "note": "Ring twice at the back gate",
                   "delivery_windows": [{"time_from": "08:00:00", "time_to": "12:00:00"}]}],
        "items": [{"description": f"Item {n} of the order", "quantity": 2, "weight": 1.5,
                   "weight_measure_id": 1, "sku": f"SKU-{n:05d}",
                   "tracking_number": f"{reference}-{n}"} for n in range(4)],
    }


def write_day(data_dir: Path, day: date, count: int) -> list[str]:
    """The day's valid_jobs.parquet as the validation asset writes it."""
    references = [f"B{day:%m%d}{i:06d}" for i in range(count)]
    bodies = [canonical_json(payload(r)) for r in references]
    table = pa.table({"reference_number": references, "payload": bodies,
                      "payload_hash": [payload_digest(b) for b in bodies]})
    valid_path, _ = job_files(data_dir, day)
    atomic_write(valid_path, lambda tmp: pq.write_table(table, tmp))
    return references


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_simulator(folder: Path, *flags: str) -> tuple[subprocess.Popen, str, Path]:
    """`fleet-pipeline simulator serve` in its own process; returns it, its root URL and the
    file its access log goes to."""
    port = free_port()
    log_path = folder / "simulator.log"
    process = subprocess.Popen(
        [EXECUTABLE, "simulator", "serve", "--port", str(port), "--db",
         str(folder / "simulator.sqlite"), "--username", USERNAME, "--password", PASSWORD,
         "--callback-retry-schedule", "", *flags],
        stdout=log_path.open("w"), stderr=subprocess.STDOUT)
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{root}/_simulator/faults", timeout=1)
            return process, root, log_path
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text()) from None
            time.sleep(0.1)


def sender_env(folder: Path, root: str, db_url: str, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLEET_")}
    env.update({
        "FLEET_HOME": str(folder), "FLEET_DB_URL": db_url, "FLEET_DATA_DIR": str(folder / "data"),
        "FLEET_API_BASE_URL": f"{root}/rest", "FLEET_API_USERNAME": USERNAME,
        "FLEET_API_PASSWORD": PASSWORD, "FLEET_WEBHOOK_PUBLIC_URL": "http://127.0.0.1:9",
    })
    env.update(extra)
    return env


def run_senders(days: list[date], envs: list[dict[str, str]]) -> list[tuple[float, float, str]]:
    """`fleet-pipeline send` for each day, all at once; (seconds, CPU seconds, output) of each."""
    started = time.monotonic()
    processes = [subprocess.Popen([EXECUTABLE, "send", "--date", day.isoformat()], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for day, env in zip(days, envs, strict=True)]
    results = []
    for process in processes:
        output = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(output)
        results.append((time.monotonic() - started, usage.ru_utime + usage.ru_stime, output))
    return results


def answers_429(log_path: Path) -> int:
    return len(re.findall(r'" 429 ', log_path.read_text()))


def duplicates(root: str) -> int:
    report = httpx.get(f"{root}/_simulator/references", timeout=60).json()
    return report["summary"]["references_created_more_than_once"]


def event_times(db_urls: list[str], event: str) -> list[datetime]:
    times = []
    for db_url in db_urls:
        engine = make_engine(db_url)
        with engine.connect() as conn:
            times += conn.scalars(sa.select(job_events.c.at).where(job_events.c.event == event))
        engine.dispose()
    return sorted(times)


def job_states(db_urls: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Jobs per state, and jobs not created per last error."""
    states: Counter[str] = Counter()
    not_created: Counter[str] = Counter()
    for db_url in db_urls:
        engine = make_engine(db_url)
        with engine.connect() as conn:
            states.update(dict(conn.execute(sa.select(jobs.c.state, sa.func.count())
                                            .group_by(jobs.c.state)).all()))
            not_created.update(dict(conn.execute(
                sa.select(jobs.c.last_error, sa.func.count())
                .where(jobs.c.state != "created").group_by(jobs.c.last_error)).all()))
        engine.dispose()
    return dict(states), dict(not_created)


@contextmanager
def pipeline_databases(kind: str, folder: Path, count: int) -> Iterator[list[str]]:
    """`count` empty, migrated pipeline databases: SQLite files, or PostgreSQL databases on
    PG_ADMIN_URL created for the run and dropped after it."""
    if kind == "sqlite":
        urls = [f"sqlite:///{folder / f'pipeline-{n}.sqlite'}" for n in range(count)]
    else:
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        names = [f"bench_send_single_{uuid.uuid4().hex[:8]}" for _ in range(count)]
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        urls = [make_url(PG_ADMIN_URL).set(database=name)
                .render_as_string(hide_password=False) for name in names]
    try:
        for url in urls:
            engine = make_engine(url)
            migrate.ensure_schema(engine)
            engine.dispose()
        yield urls
    finally:
        if kind != "sqlite":
            with admin.connect() as conn:
                for name in names:
                    conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def scenario(name: str, counts: list[int], latency: float, rate_limit: int,
             concurrency: int, *, shared: bool = True, ledger: str = "sqlite") -> None:
    with tempfile.TemporaryDirectory(prefix="send-single-") as tmp, \
            pipeline_databases(ledger, Path(tmp), 1 if shared else len(counts)) as db_urls:
        # One pipeline database for every process (one shared limiter), or one each (control).
        folder = Path(tmp)
        days = [FIRST_DAY + timedelta(days=i) for i in range(len(counts))]
        for day, count in zip(days, counts, strict=True):
            write_day(folder / "data", day, count)
        simulator, root, log_path = start_simulator(
            folder, "--rate-limit", str(rate_limit), "--latency", f"create={latency}")
        try:
            envs = [sender_env(folder, root, db_urls[n % len(db_urls)],
                               FLEET_ENDPOINT_POLICY="single",
                               FLEET_SINGLE_CONCURRENCY=str(concurrency),
                               FLEET_API_RATE_LIMIT_PER_MINUTE=str(rate_limit))
                    for n in range(len(counts))]
            load_before = os.getloadavg()
            results = run_senders(days, envs)
            load_after = os.getloadavg()
            created = event_times(db_urls, "created")
            intents = event_times(db_urls, "single_intent")
            total = sum(counts)
            steady = (len(created) - 1) / (created[-1] - created[0]).total_seconds() * 60
            overall = len(created) / (created[-1] - intents[0]).total_seconds() * 60
            states, not_created = job_states(db_urls)
            print(json.dumps({
                "scenario": name, "jobs": total, "processes": len(counts),
                "ledger": ledger, "shared_limiter": shared,
                "wall_s": [round(seconds, 1) for seconds, _, _ in results],
                "cpu_s": [round(cpu, 1) for _, cpu, _ in results],
                "first_intent_to_last_created_s": round(
                    (created[-1] - intents[0]).total_seconds(), 1),
                "created": len(created), "states": states, "not_created_why": not_created,
                "creates_per_min_steady": round(steady, 1),
                "creates_per_min_overall": round(overall, 1),
                "budget_share_steady": round(steady / rate_limit, 3),
                "answers_429": answers_429(log_path),
                "references_created_more_than_once": duplicates(root),
                "loadavg_before": [round(x, 2) for x in load_before],
                "loadavg_after": [round(x, 2) for x in load_after],
            }))
            for _, _, output in results:
                print("  " + output.strip().splitlines()[-1])
        finally:
            simulator.terminate()
            simulator.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=1000, help="jobs of the one-process run")
    parser.add_argument("--two-by", type=int, default=500,
                        help="jobs per process of the two-process run (0 skips it)")
    parser.add_argument("--latency", type=float, default=11.0, help="seconds per create")
    parser.add_argument("--rate-limit", type=int, default=1000, help="requests a minute")
    parser.add_argument("--concurrency", type=int, default=200, help="creates in flight")
    parser.add_argument("--unshared", action="store_true",
                        help="control: two processes with a database (and a limiter) each")
    parser.add_argument("--skip-one", action="store_true", help="skip the one-process run")
    parser.add_argument("--ledger", choices=["sqlite", "postgresql"], default="sqlite",
                        help="pipeline database (and rate limiter): a SQLite file, or a "
                             "throwaway database on FLEET_BENCH_PG_URL's server")
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.now():%Y-%m-%d %H:%M}; latency {args.latency} s per create, limit "
          f"{args.rate_limit}/min, concurrency {args.concurrency}")
    if not args.skip_one:
        scenario("one process", [args.jobs], args.latency, args.rate_limit, args.concurrency,
                 ledger=args.ledger)
    if args.two_by:
        scenario("two processes", [args.two_by, args.two_by], args.latency, args.rate_limit,
                 args.concurrency, shared=not args.unshared, ledger=args.ledger)


if __name__ == "__main__":
    main()
