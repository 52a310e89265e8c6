"""in_order: threaded map with results in input order and a bounded number in flight."""

from __future__ import annotations

import threading
import time

import pytest

from fleet_pipeline.threads import in_order


def test_results_come_in_input_order_whatever_order_they_finish_in():
    def slow_first(n: int) -> int:
        time.sleep(0.02 if n % 3 == 0 else 0)
        return n * n

    assert list(in_order(slow_first, range(20), workers=2)) == [n * n for n in range(20)]


def test_at_most_workers_plus_one_inputs_are_taken_before_a_result_is():
    started: list[int] = []
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            started.append(n)
        return n

    results = in_order(work, range(100), workers=2)
    assert next(results) == 0
    time.sleep(0.05)
    assert len(started) <= 3
    assert list(results) == list(range(1, 100))


def test_a_failure_reaches_the_consumer_and_stops_the_rest():
    done: list[int] = []

    def work(n: int) -> int:
        if n == 5:
            raise ValueError("slice 5 is broken")
        done.append(n)
        return n

    taken = []
    with pytest.raises(ValueError, match="slice 5 is broken"):
        for n in in_order(work, range(100), workers=2):
            taken.append(n)
    assert taken == [0, 1, 2, 3, 4]
    assert max(done) < 10


def test_one_worker_runs_in_the_callers_thread():
    threads = set(in_order(lambda n: threading.get_ident(), range(5), workers=1))
    assert threads == {threading.get_ident()}
