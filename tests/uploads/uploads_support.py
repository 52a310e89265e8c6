"""Test support for the sender: payloads the simulator accepts, a day's valid_jobs.parquet, a
simulator config and its reports. Imported as `uploads_support` (a unique module name)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyarrow as pa
import pyarrow.parquet as pq

from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.repository import QueuedJob
from fleet_pipeline.simulator import SimulatorConfig
from fleet_pipeline.storage import atomic_write
from fleet_pipeline.uploads.settings import ApiSettings, SendSettings
from fleet_pipeline.validation.partition import job_files
from fleet_pipeline.validation.payloads import canonical_json, payload_digest

USER = "acme"
PASSWORD = "s3cret-api-password"  # noqa: S105
DAY = date(2026, 11, 30)


def payload(reference: str, **fields: Any) -> dict[str, Any]:
    """An unscheduled single-stop job the simulator creates (no time that could pass)."""
    body: dict[str, Any] = {
        "reference_number": reference,
        "job_type_id": 3,
        "schedule_type_id": 3,
        "stops": [{"customer_name": "C. Customer", "address_line_1": "1 Main Rd"}],
        "items": [{"description": "Box", "quantity": 2}],
    }
    body.update(fields)
    return body


def references(count: int, prefix: str = "REF") -> list[str]:
    return [f"{prefix}-{i:05d}" for i in range(count)]


def queued(payloads: Iterable[dict[str, Any]], attempts: int = 0) -> list[QueuedJob]:
    jobs = []
    for body in payloads:
        text = canonical_json(body)
        jobs.append(QueuedJob(body["reference_number"], payload_digest(text), text, attempts))
    return jobs


def write_day(data_dir: Path, day: date, payloads: Iterable[dict[str, Any]],
              rejected: Iterable[str] = ()) -> None:
    """The day's delivery_jobs output as the validation asset writes it (the columns the sender
    reads)."""
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


def sim_config(**overrides: Any) -> SimulatorConfig:
    base: dict[str, Any] = {
        "accounts": [{"username": USER, "password": PASSWORD}],
        "rate_limit_per_minute": 0,
        "callback_retry_schedule_s": [],
    }
    base.update(overrides)
    return SimulatorConfig.model_validate(base)


def send_settings(base_url: str, **overrides: Any) -> SendSettings:
    api = ApiSettings(base_url=base_url, username=USER, password=PASSWORD,
                      read_timeout_s=overrides.pop("read_timeout_s", 10.0),
                      rate_limit_per_minute=overrides.pop("rate_limit_per_minute", 0))
    base: dict[str, Any] = {"webhook_public_url": "https://hooks.example.com",
                            "callback_deadline": timedelta(minutes=30)}
    base.update(overrides)
    return SendSettings(api=api, **base)


def fleet_references(root_url: str) -> dict[str, int]:
    """reference_number -> how many jobs the simulator holds for it."""
    report = httpx.get(f"{root_url}/_simulator/references", timeout=10).json()
    return {entry["reference_number"]: entry["count"] for entry in report["references"]}


def fleet_uploads(root_url: str) -> list[dict[str, Any]]:
    return httpx.get(f"{root_url}/_simulator/uploads", params={"rows": "true"},
                     timeout=10).json()["uploads"]


def states(engine, refs: Iterable[str]) -> dict[str, str]:
    with engine.connect() as conn:
        return {ref: ledger.get_job(conn, ref).state for ref in refs}


class CountingTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """The network, counting requests by method and path."""

    def __init__(self) -> None:
        self.sync = httpx.HTTPTransport()
        self.asynchronous = httpx.AsyncHTTPTransport()
        self.requests: list[tuple[str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return self.sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        return await self.asynchronous.handle_async_request(request)

    def posts(self) -> int:
        return sum(1 for method, _ in self.requests if method == "POST")
