"""Kill the sender at every crash point (and at random instants); the next run must finish the day
with no reference created twice and every job in a final or waiting state.

The sender is `fleet-pipeline send` in a real process, killed with SIGKILL; the simulator is
`fleet-pipeline simulator serve` in its own process with its state in SQLite. Every scenario
has its own day of 30 jobs in one shared ledger, as days share one in production.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from uploads_support import PASSWORD, USER, payload, write_day

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import jobs
from fleet_pipeline.uploads.crash import CRASH_AT, POINTS, crash_transport

pytestmark = pytest.mark.slow

EXECUTABLE = str(Path(sys.executable).with_name("fleet-pipeline"))
JOBS_PER_DAY = 30
# A send unanswered this long lost its sender; a callback is this late. Both short, so that the
# run after a kill recovers at once.
IN_FLIGHT_TIMEOUT_S = 0.3
CALLBACK_DEADLINE_S = 0.3
FIRST_DAY = date(2026, 10, 1)


@dataclass
class Bench:
    root: str
    db_url: str
    data_dir: Path
    env: dict[str, str]
    days: Iterator[date]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def bench(tmp_path_factory) -> Iterator[Bench]:
    folder = tmp_path_factory.mktemp("crash")
    port = free_port()
    simulator = subprocess.Popen(
        [EXECUTABLE, "simulator", "serve", "--port", str(port), "--db",
         str(folder / "simulator.sqlite"), "--username", USER, "--password", PASSWORD,
         "--rate-limit", "0", "--latency", "create=0.03", "--latency", "bulk_upload=0.05",
         "--callback-retry-schedule", ""],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{root}/_simulator/faults", timeout=1)
            break
        except httpx.TransportError:
            assert simulator.poll() is None and time.monotonic() < deadline, \
                "the simulator did not start"
            time.sleep(0.1)
    db_url = f"sqlite:///{folder / 'pipeline.sqlite'}"
    engine = make_engine(db_url)
    migrate.ensure_schema(engine)
    engine.dispose()
    env = {key: value for key, value in os.environ.items() if not key.startswith("FLEET_")}
    env.update({
        "FLEET_HOME": str(folder), "FLEET_DB_URL": db_url, "FLEET_DATA_DIR": str(folder / "data"),
        "FLEET_API_BASE_URL": f"{root}/rest", "FLEET_API_USERNAME": USER,
        "FLEET_API_PASSWORD": PASSWORD,
        # Nothing listens there: callbacks fail at once and are given up.
        "FLEET_WEBHOOK_PUBLIC_URL": "http://127.0.0.1:9",
        "FLEET_API_RATE_LIMIT_PER_MINUTE": "60000",
        "FLEET_IN_FLIGHT_TIMEOUT_SECONDS": str(IN_FLIGHT_TIMEOUT_S),
        "FLEET_CALLBACK_DEADLINE_MINUTES": str(CALLBACK_DEADLINE_S / 60),
        "FLEET_RETRY_BASE_SECONDS": "0",
        "FLEET_UPLOAD_MAX_JOBS": "10",
        "FLEET_SINGLE_CONCURRENCY": "4",
    })
    days = (FIRST_DAY + timedelta(days=n) for n in range(1000))
    try:
        yield Bench(root, db_url, folder / "data", env, days)
        assert duplicates(root) == 0
    finally:
        simulator.terminate()
        simulator.wait(timeout=30)


def duplicates(root: str) -> int:
    report = httpx.get(f"{root}/_simulator/references", timeout=30).json()
    return report["summary"]["references_created_more_than_once"]


def new_day(bench: Bench) -> tuple[date, list[str]]:
    day = next(bench.days)
    refs = [f"K{day:%m%d}-{i:03d}" for i in range(JOBS_PER_DAY)]
    write_day(bench.data_dir, day, [payload(ref) for ref in refs])
    return day, refs


def send(bench: Bench, day: date, policy: str, crash_at: str | None = None
         ) -> subprocess.CompletedProcess:
    env = dict(bench.env, FLEET_ENDPOINT_POLICY=policy)
    if crash_at:
        env[CRASH_AT] = crash_at
    return subprocess.run([EXECUTABLE, "send", "--date", day.isoformat()], env=env,
                          capture_output=True, text=True, timeout=120)


def send_killed_at_random(bench: Bench, day: date, policy: str, seed: int) -> int:
    """Kill the run a random moment after it starts sending; returns its exit code."""
    env = dict(bench.env, FLEET_ENDPOINT_POLICY=policy)
    process = subprocess.Popen([EXECUTABLE, "send", "--date", day.isoformat()], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        if "uploads" in line or "one by one" in line:
            break
    time.sleep(random.Random(seed).uniform(0.0, 0.4))
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    return process.returncode


def finish(bench: Bench, day: date, policy: str, refs: list[str]) -> None:
    """Let the recovery delays pass, run the day again, and check what it left."""
    assert httpx.post(f"{bench.root}/_simulator/flush", params={"timeout": 20},
                      timeout=30).status_code == 200
    time.sleep(max(IN_FLIGHT_TIMEOUT_S, CALLBACK_DEADLINE_S) + 0.1)
    rerun = send(bench, day, policy)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert httpx.post(f"{bench.root}/_simulator/flush", params={"timeout": 20},
                      timeout=30).status_code == 200
    report = httpx.get(f"{bench.root}/_simulator/references", timeout=30).json()
    in_fleet = {entry["reference_number"]: entry["count"] for entry in report["references"]}
    engine = make_engine(bench.db_url)
    with engine.connect() as conn:
        ledger = {row.reference_number: row for row in conn.execute(
            sa.select(jobs.c.reference_number, jobs.c.state, jobs.c.deadline_at,
                      jobs.c.fleet_job_id).where(jobs.c.partition_date == day))}
    engine.dispose()
    assert sorted(ledger) == refs
    for ref, job in ledger.items():
        assert in_fleet.get(ref, 0) <= 1, f"{ref} created {in_fleet[ref]} times"
        assert job.state in ("created", "submitted", "rejected"), f"{ref} left {job.state}"
        if job.state == "created":
            assert in_fleet.get(ref) == 1 and job.fleet_job_id is not None
        if job.state == "submitted":
            assert job.deadline_at is not None
    assert "jobs per state: " in rerun.stdout.splitlines()[-1]


BULK_POINTS = [
    "plan.after_jobs", "bulk.before_intent", "bulk.after_intent", "bulk.after_request",
    "bulk.after_outcome", "bulk.after_intent:2", "bulk.after_outcome:2",
]
SINGLE_POINTS = [
    "single.before_intent:5", "single.after_intent", "single.after_intent:10",
    "single.after_request:7", "single.after_outcome:12",
]


MID_REQUEST = [("bulk", "bulk.during_request:2"), ("single", "single.during_request:6")]


def test_every_crash_point_is_exercised():
    named = {spec.partition(":")[0] for spec in BULK_POINTS + SINGLE_POINTS}
    mid_request = {spec.partition(":")[0] for _, spec in MID_REQUEST}
    assert named | mid_request | {"probe.after_batch"} == set(POINTS)


@pytest.mark.parametrize("crash_at", BULK_POINTS)
def test_bulk_killed_at_a_crash_point(bench, crash_at):
    day, refs = new_day(bench)
    killed = send(bench, day, "bulk", crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    finish(bench, day, "bulk", refs)


@pytest.mark.parametrize("crash_at", SINGLE_POINTS)
def test_single_killed_at_a_crash_point(bench, crash_at):
    day, refs = new_day(bench)
    killed = send(bench, day, "single", crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    finish(bench, day, "single", refs)


@pytest.mark.parametrize("crash_at", [None, "single.after_request:3", "bulk.after_intent"])
def test_no_crash_transport_unless_a_mid_request_point_is_named(monkeypatch, crash_at):
    if crash_at is None:
        monkeypatch.delenv(CRASH_AT, raising=False)
    else:
        monkeypatch.setenv(CRASH_AT, crash_at)
    assert crash_transport(4, asynchronous=True) is None
    assert crash_transport(4, asynchronous=False) is None
    monkeypatch.setenv(CRASH_AT, "single.during_request:2")
    assert isinstance(crash_transport(4, asynchronous=True), httpx.AsyncBaseTransport)
    assert isinstance(crash_transport(4, asynchronous=False), httpx.BaseTransport)


@pytest.mark.parametrize(("policy", "crash_at"), MID_REQUEST)
def test_killed_with_a_request_on_the_wire(bench, policy, crash_at):
    """Killed once a request is written and before its answer: the API goes on to create jobs
    the ledger still has in flight, and the next run must find them rather than send them."""
    day, refs = new_day(bench)
    killed = send(bench, day, policy, crash_at)
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert httpx.post(f"{bench.root}/_simulator/flush", timeout=30).status_code == 200
    report = httpx.get(f"{bench.root}/_simulator/references", timeout=30).json()
    in_fleet = {entry["reference_number"] for entry in report["references"]}
    engine = make_engine(bench.db_url)
    with engine.connect() as conn:
        in_flight = set(conn.scalars(sa.select(jobs.c.reference_number).where(
            jobs.c.partition_date == day, jobs.c.state == "in_flight")))
    engine.dispose()
    assert in_flight & in_fleet, "no job was created by the API while its sender was killed"
    finish(bench, day, policy, refs)


@pytest.mark.parametrize("policy", ["single", "bulk"])
def test_killed_again_while_probing(bench, policy):
    day, refs = new_day(bench)
    first = f"{policy}.after_request:2"
    assert send(bench, day, policy, first).returncode == -signal.SIGKILL
    assert httpx.post(f"{bench.root}/_simulator/flush", timeout=30).status_code == 200
    time.sleep(max(IN_FLIGHT_TIMEOUT_S, CALLBACK_DEADLINE_S) + 0.1)
    probing = send(bench, day, policy, "probe.after_batch")
    assert probing.returncode == -signal.SIGKILL, probing.stdout + probing.stderr
    finish(bench, day, policy, refs)


@pytest.mark.parametrize(("policy", "seed"), [("single", 1), ("single", 2), ("bulk", 3)])
def test_killed_at_a_random_instant(bench, policy, seed):
    day, refs = new_day(bench)
    assert send_killed_at_random(bench, day, policy, seed) in (0, -signal.SIGKILL)
    finish(bench, day, policy, refs)
