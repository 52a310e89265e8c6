"""The end-to-end test's pieces: payloads the simulator takes or refuses, a day on disk, and
transports that lose, repeat and refuse what the test says. Imported as `e2e_support`."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.simulator import SimulatorConfig
from fleet_pipeline.storage import atomic_write
from fleet_pipeline.validation.partition import job_files
from fleet_pipeline.validation.payloads import canonical_json, payload_digest

USER = "acme"
PASSWORD = "s3cret-api-password"  # noqa: S105


def payload(reference: str, quantity: int = 2) -> dict[str, Any]:
    """An unscheduled single-stop job; quantity 0 makes the API refuse it for its data."""
    return {
        "reference_number": reference,
        "job_type_id": 3,
        "schedule_type_id": 3,
        "stops": [{"customer_name": "C. Customer", "address_line_1": "1 Main Rd",
                   "contact_email": "c.customer@example.com"}],
        "items": [{"description": "Box", "quantity": quantity}],
    }


def write_day(data_dir, day: date, payloads: Iterable[dict[str, Any]],
              rejected: Iterable[str] = ()) -> None:
    """The day's delivery_jobs output, as the validation asset writes it."""
    bodies = [canonical_json(p) for p in payloads]
    table = pa.table({
        "reference_number": [json.loads(b)["reference_number"] for b in bodies],
        "payload": bodies,
        "payload_hash": [payload_digest(b) for b in bodies],
    })
    valid_path, rejections_path = job_files(data_dir, day)
    atomic_write(valid_path, lambda tmp: pq.write_table(table, tmp))
    failures = pa.table({"reference_number": pa.array(list(rejected), pa.string())})
    atomic_write(rejections_path, lambda tmp: pq.write_table(failures, tmp))


def sim_config() -> SimulatorConfig:
    return SimulatorConfig.model_validate({
        "accounts": [{"username": USER, "password": PASSWORD}],
        "rate_limit_per_minute": 0,
        "callback_retry_schedule_s": [],
    })


def fleet_references(root_url: str) -> dict[str, int]:
    report = httpx.get(f"{root_url}/_simulator/references", timeout=10).json()
    return {entry["reference_number"]: entry["count"] for entry in report["references"]}


class LossyCallbacks(httpx.AsyncBaseTransport):
    """The network between Fleet and our receiver: the first callback is lost (Fleet sees a
    200), the second arrives twice, the second time in other bytes (re-signed, same entries)."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.network = httpx.AsyncHTTPTransport()
        self.lost: list[str] = []
        self.doubled: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        upload_id = request.url.path.rstrip("/").split("/")[-2]
        if not self.lost:
            self.lost.append(upload_id)
            return httpx.Response(200)
        response = await self.network.handle_async_request(request)
        await response.aread()
        if not self.doubled:
            self.doubled.append(upload_id)
            body = json.dumps(json.loads(request.content), indent=2).encode()
            again = httpx.Request("POST", request.url, content=body, headers={
                "Content-Type": "application/json",
                signature.SIGNATURE_HEADER: signature.sign(body, self.key)})
            repeated = await self.network.handle_async_request(again)
            await repeated.aread()
        return response


class OneUploadRefused(httpx.BaseTransport):
    """The network to Fleet: the `nth` bulk upload never reaches it and the caller gets a 503
    (so its jobs' outcome is unknown and a lookup finds them absent)."""

    def __init__(self, nth: int) -> None:
        self.nth = nth
        self.network = httpx.HTTPTransport()
        self.uploads = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/bulk-upload"):
            self.uploads += 1
            if self.uploads == self.nth:
                return httpx.Response(503, json={"message": "Service Unavailable"})
        return self.network.handle_request(request)
