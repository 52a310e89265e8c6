"""When a call is sent again, and how long it waits.

Only errors whose `retryable` is set are retried: 429 (the API processed nothing), a request that
was never sent, and a read that got a 5xx or no answer. A create or bulk upload that may have
reached the API is never sent again here; the caller gets OutcomeUnknown and looks the job up.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential_jitter,
)

from fleet_pipeline.fleet_api.classify import DEFAULT_RETRY_AFTER
from fleet_pipeline.fleet_api.errors import FleetApiError, RateLimited

log = logging.getLogger("fleet_pipeline.fleet_api")

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds on resending a call; `sleep`/`async_sleep` are replaceable so tests need not wait."""

    max_attempts: int = 5
    # Stop before a wait would take the call past this many seconds since its first retry.
    max_total_wait: float = 180.0
    # For a 429 that announces no time.
    default_retry_after: float = DEFAULT_RETRY_AFTER
    backoff_initial: float = 0.5
    backoff_max: float = 10.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    async_sleep: Callable[[float], Awaitable[None]] = field(
        default=asyncio.sleep, repr=False, compare=False
    )

    def call(self, attempt: Callable[..., T], *args: Any) -> T:
        """Run `attempt`, resending while its error is retryable and the bounds allow."""
        try:
            return attempt(*args)
        except FleetApiError as error:
            if not error.retryable:
                raise
            first = error
        return Retrying(sleep=self.sleep, **self._arguments())(_replay(first, attempt), *args)

    async def call_async(self, attempt: Callable[..., Awaitable[T]], *args: Any) -> T:
        try:
            return await attempt(*args)
        except FleetApiError as error:
            if not error.retryable:
                raise
            first = error
        # A fresh AsyncRetrying per call: tenacity keeps its state per thread, and concurrent
        # tasks share one thread.
        retrying = AsyncRetrying(sleep=self.async_sleep, **self._arguments())
        return await retrying(_replay_async(first, attempt), *args)

    def _arguments(self) -> dict[str, Any]:
        backoff = wait_exponential_jitter(multiplier=self.backoff_initial, max=self.backoff_max)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimited):
                return error.retry_after
            return backoff(state)

        return {
            "retry": retry_if_exception(_is_retryable),
            "stop": stop_after_attempt(self.max_attempts) | stop_before_delay(self.max_total_wait),
            "wait": wait,
            "before_sleep": _log_retry,
            "reraise": True,
        }


# The first attempt runs without tenacity, whose bookkeeping costs more than a local request:
# only a retryable failure enters it, replayed as tenacity's own first attempt so that attempt
# counts and waits are the policy's.
def _replay(first: FleetApiError, attempt: Callable[..., T]) -> Callable[..., T]:
    pending = [first]

    def replayed(*args: Any) -> T:
        if pending:
            raise pending.pop()
        return attempt(*args)

    return replayed


def _replay_async(
    first: FleetApiError, attempt: Callable[..., Awaitable[T]]
) -> Callable[..., Awaitable[T]]:
    pending = [first]

    async def replayed(*args: Any) -> T:
        if pending:
            raise pending.pop()
        return await attempt(*args)

    return replayed


def _is_retryable(error: BaseException) -> bool:
    return isinstance(error, FleetApiError) and error.retryable


def _log_retry(state: RetryCallState) -> None:
    error = state.outcome.exception() if state.outcome else None
    log.warning(
        "%s; attempt %d failed, next in %.1f s",
        error,
        state.attempt_number,
        state.upcoming_sleep,
    )
