"""Work on a few threads, results in the order of the inputs, with bounded memory."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


def in_order(work: Callable[[In], Out], inputs: Iterable[In], workers: int) -> Iterator[Out]:
    """`map(work, inputs)` on `workers` threads: results come out in input order, and at most
    `workers` + 1 of them exist at a time (Executor.map would start every input at once and
    hold every result the consumer has not taken yet). With one worker, no thread at all."""
    if workers <= 1:
        yield from map(work, inputs)
        return
    with ThreadPoolExecutor(workers) as pool:
        pending: deque[Future[Out]] = deque()
        try:
            for item in inputs:
                pending.append(pool.submit(work, item))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:  # the consumer stopped or a result failed: start no more
                future.cancel()
