"""Pacing one account's requests, in one process and across processes through SQL."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

from fleet_pipeline.fleet_api.ratelimit import (
    Budget,
    InProcessRateLimiter,
    RateLimiter,
    SqlRateLimiter,
    account_key,
    reserve,
)


def test_reserve_takes_the_next_free_slot():
    assert reserve(None, 100.0, 0.5) == (100.5, 0.0)
    assert reserve(99.0, 100.0, 0.5) == (100.5, 0.0)  # an idle account starts now
    assert reserve(101.0, 100.0, 0.5) == (101.5, 1.0)  # a busy one waits its turn


def test_budget_interval_leaves_headroom():
    assert Budget().interval == pytest.approx(60 / 950)
    assert Budget(requests=10, period=1.0, headroom=0).interval == 0.1
    with pytest.raises(ValueError):
        Budget(headroom=1.0)


def test_account_key_hides_the_user_name():
    key = account_key("https://fleetapi-za.cartrack.com/rest/", "acme-dispatch-user")
    assert "acme" not in key
    assert key == account_key("https://fleetapi-za.cartrack.com/rest", "acme-dispatch-user")
    assert key != account_key("https://fleetapi-sg.cartrack.com/rest", "acme-dispatch-user")


def test_in_process_limiter_spaces_requests_evenly():
    now = [0.0]
    waits = []
    limiter = InProcessRateLimiter(Budget(requests=4, period=1.0, headroom=0),
                                   clock=lambda: now[0], sleep=waits.append)
    for _ in range(4):
        limiter.acquire()
    assert waits == [0.25, 0.5, 0.75]
    now[0] = 5.0  # after a pause no credit is saved up: still one every 0.25 s
    limiter.acquire()
    limiter.acquire()
    assert waits[-1] == 0.25


def test_in_process_limiter_paces_threads_and_tasks_together():
    limiter = InProcessRateLimiter(Budget(requests=50, period=1.0, headroom=0))
    assert isinstance(limiter, RateLimiter)
    stamps = []

    def worker():
        for _ in range(5):
            limiter.acquire()
            stamps.append(time.monotonic())

    async def tasks():
        async def one():
            await limiter.acquire_async()
            stamps.append(time.monotonic())
        await asyncio.gather(*(one() for _ in range(5)))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    asyncio.run(tasks())
    for thread in threads:
        thread.join()
    stamps.sort()
    assert len(stamps) == 15
    assert stamps[-1] - stamps[0] >= 14 * 0.02 - 0.005


def test_sql_limiter_creates_its_table_and_paces(sqlite_url):
    engine = sa.create_engine(sqlite_url)
    budget = Budget(requests=50, period=1.0, headroom=0)
    limiter = SqlRateLimiter(engine, "fleet:test", budget)
    other = SqlRateLimiter(engine, "fleet:other", budget)
    assert isinstance(limiter, RateLimiter)
    assert sa.inspect(engine).has_table("fleet_api_rate_limit")
    started = time.monotonic()
    for _ in range(5):
        limiter.acquire()
    asyncio.run(limiter.acquire_async())
    other.acquire()  # another account does not queue behind this one
    elapsed = time.monotonic() - started
    assert 5 * 0.02 - 0.005 <= elapsed < 5 * 0.02 + 0.5
    again = SqlRateLimiter(engine, "fleet:test", budget)  # table and row already there
    assert "fleet:test" in repr(again)
    with engine.connect() as conn:
        keys = conn.execute(sa.text("SELECT account_key FROM fleet_api_rate_limit")).scalars()
        assert sorted(keys) == ["fleet:other", "fleet:test"]
    engine.dispose()


WORKER = """
import json, sys, time
import sqlalchemy as sa
from fleet_pipeline.fleet_api.ratelimit import Budget, SqlRateLimiter
url, count, start_at = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
engine = sa.create_engine(url)
limiter = SqlRateLimiter(engine, "fleet:shared", Budget(requests=20, period=1.0, headroom=0.1))
time.sleep(max(start_at - time.time(), 0))
stamps = []
for _ in range(count):
    limiter.acquire()
    stamps.append(time.time())
print(json.dumps(stamps))
"""


def most_in_any_window(stamps: list[float], period: float) -> int:
    stamps = sorted(stamps)
    return max(
        sum(1 for other in stamps[i:] if other < start + period)
        for i, start in enumerate(stamps)
    )


def run_two_processes(url: str, per_process: int = 20) -> tuple[list[float], list[float]]:
    start_at = time.time() + 2.0
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(per_process), str(start_at)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = []
    for worker in workers:
        out, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
        results.append(json.loads(out))
    return results[0], results[1]


@pytest.mark.parametrize("db", ["sqlite_url", "pg_url", "mariadb_url"])
def test_two_processes_share_one_budget(db, request):
    url = request.getfixturevalue(db)
    first, second = run_two_processes(url)
    both = sorted(first + second)
    interval = Budget(requests=20, period=1.0, headroom=0.1).interval
    # Never more than the budget (20 a second) in any one-second window, ...
    assert most_in_any_window(both, 1.0) <= 20
    # ... paced one interval apart across both processes, not each at its own rate ...
    assert both[-1] - both[0] >= 39 * interval - 0.05
    # ... interleaved, and without idling away the budget.
    assert min(first) < max(second) and min(second) < max(first)
    assert both[-1] - both[0] < 39 * interval + 1.0
