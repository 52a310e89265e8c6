"""The per-account request budget, Laravel style: a window opens at an account's first request and
allows `limit` requests until it closes; every process using the same account shares it.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Refusal:
    retry_at: int  # unix time, whole seconds, as in `X-RateLimit-Retry-At`
    retry_after_s: int


class RateLimiter:
    def __init__(self, limit: int, window_s: float) -> None:
        self.limit = limit
        self.window_s = window_s
        self._windows: dict[str, tuple[float, int]] = {}  # account -> (window end, hits)
        self._lock = threading.Lock()

    def hit(self, account: str, now: float) -> Refusal | None:
        """Count one request at unix time `now`; a Refusal when the budget is spent."""
        if self.limit <= 0:
            return None
        with self._lock:
            ends_at, hits = self._windows.get(account, (0.0, 0))
            if now >= ends_at:
                ends_at, hits = now + self.window_s, 0
            if hits >= self.limit:
                return refusal_until(ends_at, now)
            self._windows[account] = (ends_at, hits + 1)
        return None


def refusal_until(ends_at: float, now: float) -> Refusal:
    return Refusal(retry_at=math.ceil(ends_at), retry_after_s=max(1, math.ceil(ends_at - now)))
