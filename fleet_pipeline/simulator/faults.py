"""Seeded fault decisions. Each fault kind draws from its own `random.Random` stream, so switching
one fault on or off never shifts the outcomes of another: the same seed and the same sequence of
requests give the same faults, run after run.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass

from fleet_pipeline.simulator.config import Endpoint, Faults, Seconds


@dataclass(frozen=True)
class CallbackPlan:
    """What will go wrong with one upload's callback, decided when the upload is processed."""

    drop: bool = False
    duplicate: bool = False
    delay_s: float = 0.0
    shuffle: bool = False
    hold: bool = False
    bad_signature: bool = False


class FaultInjector:
    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._streams: dict[str, random.Random] = {}
        self._api_requests = 0
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def _stream(self, kind: str) -> random.Random:
        if kind not in self._streams:
            self._streams[kind] = random.Random(f"{self.faults.seed}:{kind}")
        return self._streams[kind]

    def _chance(self, kind: str, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            hit = self._stream(kind).random() < rate
            if hit:
                self.injected[kind] += 1
        return hit

    def _duration(self, kind: str, spec: Seconds) -> float:
        if spec.is_zero:
            return 0.0
        with self._lock:
            return self._stream(kind).uniform(spec.low, spec.high)

    def latency(self, endpoint: Endpoint) -> float:
        spec = self.faults.latency.get(endpoint)
        return self._duration(f"latency.{endpoint}", spec) if spec else 0.0

    def server_error(self, endpoint: Endpoint) -> bool:
        return self._chance(f"server_error.{endpoint}", self.faults.error_rate.get(endpoint, 0.0))

    def rate_limit_burst(self) -> bool:
        """Counts every API request; requests N..N+K-1, 2N..2N+K-1, ... are refused."""
        every = self.faults.rate_limit_burst_every
        with self._lock:
            self._api_requests += 1
            number = self._api_requests
            hit = (
                bool(every)
                and number >= every
                and number % every < self.faults.rate_limit_burst_length
            )
            if hit:
                self.injected["rate_limit_burst"] += 1
        return hit

    def lost_response(self) -> bool:
        return self._chance("lost_response", self.faults.lost_response_rate)

    def bulk_delay(self, spec: Seconds) -> float:
        return self._duration("bulk_processing_delay", spec)

    def callback_plan(self) -> CallbackPlan:
        f = self.faults
        return CallbackPlan(
            drop=self._chance("callback_drop", f.callback_drop_rate),
            duplicate=self._chance("callback_duplicate", f.callback_duplicate_rate),
            delay_s=self._duration("callback_delay", f.callback_delay),
            shuffle=self._chance("callback_shuffle", f.callback_shuffle_rate),
            hold=self._chance("callback_hold", f.callback_hold_rate),
            bad_signature=self._chance("callback_bad_signature", f.callback_bad_signature_rate),
        )

    def shuffled(self, entries: list) -> list:
        with self._lock:
            copy = list(entries)
            self._stream("callback_shuffle_order").shuffle(copy)
        return copy
