"""Test support for the Fleet API simulator: configs, a fixed clock, clients, payloads, a callback
recorder. Imported by the simulator tests as `sim_support` (a unique module name on purpose)."""

from __future__ import annotations

import csv
import io
import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import httpx

from fleet_pipeline.fleet_api.template import TEMPLATE_V1_COLUMNS
from fleet_pipeline.simulator import SimulatorConfig, create_app

with warnings.catch_warnings():
    # Starlette nudges towards another HTTP library for its test client; httpx is ours.
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from fastapi.testclient import TestClient

NOW = datetime(2026, 3, 2, 8, 0, 0, tzinfo=UTC)
USER = "acme"
PASSWORD = "s3cret-api-password"  # noqa: S105
TOMORROW = "2026-03-03 09:00:00"


def fixed_clock() -> datetime:
    return NOW


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def make_config(**overrides: Any) -> SimulatorConfig:
    """A test account, no rate limit, and callback retries a few milliseconds apart."""
    base = {
        "accounts": [{"username": USER, "password": PASSWORD}],
        "rate_limit_per_minute": 0,
        "callback_retry_schedule_s": [0.01, 0.01],
        "faults": {},
    }
    return SimulatorConfig.model_validate(_merge(base, overrides))


def stop(**fields: Any) -> dict[str, Any]:
    base = {"stop_type_id": 2, "customer_name": "C. Customer", "address_line_1": "1 Main Rd"}
    return {**base, **fields}


def job_payload(reference: str | None = "REF-1", **fields: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "job_type_id": 3,
        "schedule_type_id": 2,
        "scheduled_delivery_ts": TOMORROW,
        "stops": [stop()],
        "items": [{"description": "Box", "quantity": 2, "tracking_number": "TN-1"}],
    }
    if reference is not None:
        payload["reference_number"] = reference
    payload.update(fields)
    return {key: value for key, value in payload.items() if value is not None}


def bulk_csv(rows: list[dict[str, Any]]) -> bytes:
    """A template-v1 file; dict/list cells are written as JSON, as the template asks."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=TEMPLATE_V1_COLUMNS, extrasaction="raise")
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {k: json.dumps(v) if isinstance(v, list | dict) else v for k, v in row.items()}
        )
    return out.getvalue().encode("utf-8")


class CallbackRecorder:
    """Stands in for the webhook receiver: records each delivery, answers the queued statuses."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.statuses.pop(0) if self.statuses else 200)

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    def bodies(self) -> list[list[dict[str, Any]]]:
        return [json.loads(request.content) for request in self.requests]


@contextmanager
def simulator_client(
    config: SimulatorConfig, recorder: CallbackRecorder | None = None
) -> Iterator[TestClient]:
    transport = (recorder or CallbackRecorder()).transport
    app = create_app(config, clock=fixed_clock, callback_transport=transport)
    with TestClient(app) as client:
        client.auth = (USER, PASSWORD)
        yield client


def upload(client: TestClient, content: bytes, **form: str) -> httpx.Response:
    return client.post(
        "/rest/delivery/jobs/bulk-upload", files={"file": ("jobs.csv", content)}, data=form
    )


def flush(client: TestClient) -> None:
    response = client.post("/_simulator/flush", params={"timeout": 10})
    assert response.status_code == 200, response.json()
