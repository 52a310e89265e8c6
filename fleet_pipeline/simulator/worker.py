"""The background worker: processes received uploads and delivers their signed callbacks.

Everything it acts on is in the store, so a restarted simulator picks up where it stopped:
unprocessed uploads are processed, pending callbacks resume their retry schedule. A delivery
that was in flight when the process died is sent again (at-least-once, like the real API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import httpx

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.simulator.config import SimulatorConfig
from fleet_pipeline.simulator.service import FleetService
from fleet_pipeline.simulator.store import DELIVERED, GIVEN_UP, Callback, SimulatorStore

log = logging.getLogger(__name__)

_IDLE_WAIT_S = 0.5
_FLUSH_POLL_S = 0.02


def next_status(attempt: int, status_code: int | None, schedule: tuple[float, ...]) -> str | float:
    """After attempt number `attempt`: DELIVERED, GIVEN_UP, or the wait before the next one."""
    if status_code is not None and 200 <= status_code < 300:
        return DELIVERED
    if attempt <= len(schedule):
        return schedule[attempt - 1]
    return GIVEN_UP


class CallbackWorker:
    def __init__(
        self,
        config: SimulatorConfig,
        store: SimulatorStore,
        service: FleetService,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.service = service
        self._transport = transport
        self._wake = asyncio.Event()
        self._in_flight: dict[int, asyncio.Task] = {}
        self._flushing = 0
        self._task: asyncio.Task | None = None
        self._client: httpx.AsyncClient | None = None

    def start(self) -> None:
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(
            transport=self._transport, timeout=self.config.callback_timeout_s
        )
        self._task = asyncio.create_task(self._run(), name="simulator-callback-worker")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._in_flight.values()) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._in_flight.clear()
        if self._client is not None:
            await self._client.aclose()

    def wake(self) -> None:
        self._wake.set()

    async def flush(self, timeout_s: float) -> bool:
        """Wait until no upload is unprocessed and no callback pending; held ones are let go."""
        self._flushing += 1
        deadline = time.monotonic() + timeout_s
        try:
            while time.monotonic() < deadline:
                if not self._in_flight and not any(self.store.unsettled().values()):
                    return True
                self.wake()
                await asyncio.sleep(_FLUSH_POLL_S)
            return False
        finally:
            self._flushing -= 1

    async def _run(self) -> None:
        while True:
            try:
                wait = await self._tick()
            except Exception:
                log.exception("callback worker tick failed; retrying")
                wait = _IDLE_WAIT_S
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=wait)

    async def _tick(self) -> float:
        """One pass over due work; returns how long to sleep before the next pass."""
        now = time.time()
        next_due = now + _IDLE_WAIT_S
        for upload in self.store.unprocessed_uploads():
            if upload["process_after"] <= now:
                await asyncio.to_thread(
                    self.service.process_upload,
                    upload["upload_id"],
                    upload["account"],
                    upload["webhook_url"],
                )
            else:
                next_due = min(next_due, upload["process_after"])
        now = time.time()
        pending = self.store.pending_callbacks()
        # A flush lets held callbacks go only once nothing else could overtake them.
        only_held_left = (
            self._flushing > 0
            and not self._in_flight
            and not self.store.unsettled()["uploads"]
            and all(callback.held for callback in pending)
        )
        for callback in pending:
            if callback.callback_id in self._in_flight:
                continue
            if callback.held and not self._release(callback, now, only_held_left):
                continue
            if callback.next_attempt_at <= now:
                self._in_flight[callback.callback_id] = asyncio.create_task(
                    self._deliver(callback)
                )
            else:
                next_due = min(next_due, callback.next_attempt_at)
        return max(0.0, next_due - time.time())

    def _release(self, callback: Callback, now: float, flushing: bool) -> bool:
        """A held callback goes once a later upload's callback has gone, or when time is up."""
        release = (
            flushing
            or now >= callback.created_at + self.config.faults.callback_hold_max_s
            or self.store.settled_after(callback.callback_id, callback.upload_id)
        )
        if release:
            self.store.update_callback(callback.callback_id, released=True)
        return release

    def _signing_key(self, account: str) -> str:
        if self.config.callback_signing_key is not None:
            return self.config.callback_signing_key.get_secret_value()
        configured = self.config.account(account)
        return configured.password.get_secret_value() if configured else ""

    async def _deliver(self, callback: Callback) -> None:
        attempt = callback.attempts + 1
        key = self._signing_key(callback.account)
        if callback.bad_signature:
            key = "not-" + key
        headers = {
            "Content-Type": "application/json",
            signature.SIGNATURE_HEADER: signature.sign(callback.body, key),
        }
        status_code: int | None = None
        error: str | None = None
        try:
            assert self._client is not None
            response = await self._client.post(callback.url, content=callback.body, headers=headers)
            status_code = response.status_code
        except Exception as exc:  # any failure to get an answer is a failed attempt, kept as data
            error = type(exc).__name__
        now = time.time()
        outcome = next_status(attempt, status_code, self.config.callback_retry_schedule_s)
        with self.store.transaction():
            self.store.record_attempt(callback.callback_id, attempt, now, status_code, error)
            if isinstance(outcome, str):
                self.store.update_callback(callback.callback_id, status=outcome)
            else:
                self.store.update_callback(callback.callback_id, next_attempt_at=now + outcome)
        self._in_flight.pop(callback.callback_id, None)
        log.info(
            "callback %s of upload %s: attempt %s -> %s",
            callback.callback_id,
            callback.upload_id,
            attempt,
            status_code or error,
        )
        self.wake()
