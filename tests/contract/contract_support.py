"""The pieces the contract tests share: simulator settings, fast clients, job payloads, a callback
receiver served over loopback, and the simulator's inspection endpoints. Imported as
`contract_support` (a unique module name on purpose)."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from fastapi import FastAPI, Request, Response

from fleet_pipeline.fleet_api import Credentials, FleetApiClient, RetryPolicy, Timeouts
from fleet_pipeline.fleet_api.signature import SIGNATURE_HEADER
from fleet_pipeline.simulator import RunningSimulator, SimulatorConfig
from fleet_pipeline.simulator.config import Faults
from fleet_pipeline.simulator.faults import CallbackPlan, FaultInjector

USER = "acme-dispatch"
PASSWORD = "contract-api-password"  # noqa: S105 - the simulated account's API password
NOW = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
TOMORROW = "2026-03-03 09:00:00"
YESTERDAY = "2026-03-01 09:00:00"

# Reads give up quickly so that a simulated slow answer is a time-out within a test's budget.
FAST_TIMEOUTS = Timeouts(connect=2.0, read=2.0, write=2.0, pool=2.0)
FAST_RETRIES = RetryPolicy(max_attempts=4, backoff_initial=0.01, backoff_max=0.02)


def fixed_clock() -> datetime:
    return NOW


def make_config(**overrides: Any) -> SimulatorConfig:
    """One account, no rate limit, callback retries a few milliseconds apart; then `overrides`."""
    settings: dict[str, Any] = {
        "accounts": [{"username": USER, "password": PASSWORD}],
        "rate_limit_per_minute": 0,
        "callback_retry_schedule_s": [0.02, 0.02],
        "callback_timeout_s": 2.0,
    }
    settings.update(overrides)
    return SimulatorConfig.model_validate(settings)


def make_client(
    simulator: RunningSimulator,
    *,
    password: str = PASSWORD,
    timeouts: Timeouts = FAST_TIMEOUTS,
    retry_policy: RetryPolicy = FAST_RETRIES,
) -> FleetApiClient:
    return FleetApiClient(
        simulator.base_url,
        Credentials(USER, password),
        timeouts=timeouts,
        retry_policy=retry_policy,
    )


def job(reference: str, **fields: Any) -> dict[str, Any]:
    """A single-stop job the simulator accepts, scheduled for the day after NOW."""
    payload: dict[str, Any] = {
        "reference_number": reference,
        "job_type_id": 3,
        "schedule_type_id": 2,
        "scheduled_delivery_ts": TOMORROW,
        "labels": ["contract"],
        "stops": [
            {
                "stop_type_id": 2,
                "customer_name": "Customer, Unit 4",
                "address_line_1": "12 Long Street",
                "note": 'Ring twice;\n"back gate"',
                "delivery_windows": [{"time_from": "08:00:00", "time_to": "12:00:00"}],
            }
        ],
        "items": [{"description": "Box", "quantity": 2, "tracking_number": f"TN-{reference}"}],
    }
    payload.update(fields)
    return payload


def unique(prefix: str) -> str:
    """A reference number no other test uses, so a shared simulator never mixes tests' jobs."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- the simulator's own account of what happened ----------------------------------------------


def inspect(simulator: RunningSimulator, what: str) -> dict[str, Any]:
    response = httpx.get(f"{simulator.root_url}/_simulator/{what}", timeout=5)
    response.raise_for_status()
    return response.json()


def injected(simulator: RunningSimulator) -> dict[str, int]:
    """Fault counters: how many of each fault the simulator injected."""
    return inspect(simulator, "faults")["injected"]


def job_ids_for(simulator: RunningSimulator, reference: str) -> list[int]:
    for entry in inspect(simulator, "references")["references"]:
        if entry["reference_number"] == reference:
            return entry["job_ids"]
    return []


def upload_for(simulator: RunningSimulator, webhook_url: str) -> dict[str, Any]:
    uploads = inspect(simulator, "uploads")["uploads"]
    (found,) = [upload for upload in uploads if upload["webhook_url"] == webhook_url]
    return found


def seed_with_callback_plans(wanted: list[dict[str, bool]], **rates: float) -> int:
    """The first seed whose first callback plans match `wanted` (e.g. [{"hold": True}, ...]),
    found with the simulator's own fault injector, so a test can rely on a given fault order."""
    for seed in range(1000):
        injector = FaultInjector(Faults(seed=seed, **rates))
        plans: list[CallbackPlan] = [injector.callback_plan() for _ in wanted]
        if all(
            getattr(plan, name) == value
            for plan, want in zip(plans, wanted, strict=True)
            for name, value in want.items()
        ):
            return seed
    raise AssertionError(f"no seed below 1000 gives callback plans {wanted}")


def seed_with_server_errors(endpoint: str, rate: float, wanted: list[bool]) -> int:
    """The first seed whose first 5xx decisions for `endpoint` are `wanted`."""
    for seed in range(1000):
        injector = FaultInjector(Faults(seed=seed, error_rate={endpoint: rate}))
        if [injector.server_error(endpoint) for _ in wanted] == wanted:
            return seed
    raise AssertionError(f"no seed below 1000 gives 5xx decisions {wanted}")


# --- the webhook receiver ---------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    token: str
    body: bytes
    signature: str | None
    at: float  # time.monotonic() on arrival


class CallbackReceiver:
    """A tiny webhook receiver: every upload gets its own URL (`/hooks/<token>`), as the
    pipeline does; deliveries are kept raw (body bytes and signature header)."""

    def __init__(self) -> None:
        self.root_url = ""
        self._deliveries: list[Delivery] = []
        self._changed = threading.Condition()
        self.app = FastAPI()

        @self.app.post("/hooks/{token}")
        async def receive(token: str, request: Request) -> Response:
            delivery = Delivery(
                token, await request.body(), request.headers.get(SIGNATURE_HEADER),
                time.monotonic(),
            )
            with self._changed:
                self._deliveries.append(delivery)
                self._changed.notify_all()
            return Response(status_code=200)

    def new_url(self) -> str:
        return f"{self.root_url}/hooks/{uuid.uuid4().hex}"

    def deliveries(self, url: str) -> list[Delivery]:
        token = url.rsplit("/", 1)[-1]
        with self._changed:
            return [d for d in self._deliveries if d.token == token]

    def wait_for(self, url: str, count: int, timeout_s: float = 10.0) -> list[Delivery]:
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(found := self.deliveries(url)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(found)} of {count} callback(s) arrived at {url}")
                self._changed.wait(left)
        return found

    def order(self, urls: list[str]) -> list[str]:
        """`urls` in the order their first callback arrived."""
        tokens = [url.rsplit("/", 1)[-1] for url in urls]
        with self._changed:
            seen = [d.token for d in self._deliveries if d.token in tokens]
        first = sorted(set(seen), key=seen.index)
        return [urls[tokens.index(token)] for token in first]
