"""What the Fleet API client costs on top of plain httpx.

Measures, against a local server on 127.0.0.1 run by uvicorn in its own process:
1. one 1,000-job bulk upload: building the template CSV, and the client's `bulk_upload` against
   plain httpx posting the same multipart bytes;
2. sustained `create_job` requests per second, sequential on one connection (sync client) and 8
   at a time (async `create_jobs`), against plain httpx posting the same JSON bytes.

The server is the project's simulator with latency, faults and the rate limit off and bulk
processing deferred (`--server simulator`, the default), or a canned-answer app that isolates the
client's own cost (`--server echo`). Runs alternate between client and plain httpx in blocks so
that drift on the server side hits both alike.

    .venv/bin/python benchmarks/client_overhead.py [--server simulator|echo] [--creates 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import httpx

from fleet_pipeline.fleet_api import (
    AsyncFleetApiClient,
    Credentials,
    FleetApiClient,
    build_upload_csv,
)
from fleet_pipeline.fleet_api.upload import encode_json

USERNAME = "bench"
PASSWORD = "bench-password"

SIMULATOR_SERVER = """
import sys, uvicorn
from pathlib import Path
from fleet_pipeline.simulator.app import create_app
from fleet_pipeline.simulator.config import SimulatorConfig
config = SimulatorConfig.model_validate({
    "db_path": Path(sys.argv[2]),
    "accounts": [{"username": "bench", "password": "bench-password"}],
    "rate_limit_per_minute": 0,
    "bulk_processing_delay": 86400,
})
uvicorn.run(create_app(config), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning",
            access_log=False)
"""

ECHO_SERVER = """
import sys, uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import Response
app = FastAPI()
JOB = (b'{"data":{"job_id":100001,"order_id":"ORD-100001","reference_number":"BENCH-1",'
       b'"job_status_id":2,"job_type_id":3,"schedule_type_id":3}}')
@app.post("/rest/delivery/jobs")
async def create():
    return Response(JOB, media_type="application/json")
@app.post("/rest/delivery/jobs/bulk-upload")
async def bulk(request: Request):
    await request.form()
    return Response(b'{"data":{"message":"accepted"}}', media_type="application/json")
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
"""


def payload(i: int) -> dict:
    return {
        "reference_number": f"BENCH-{i:06d}",
        "job_type_id": 3,
        "schedule_type_id": 3,
        "labels": ["bench"],
        "stops": [{
            "stop_type_id": 2,
            "customer_name": f"Customer {i}, Unit 4",
            "address_line_1": "12 Long Street",
            "address_line_2": "Cape Town City Centre",
            "postal_code": "8001",
            "latitude": -33.9221,
            "longitude": 18.4231,
            "contact_number": "+27821234567",
            "note": "Ring the bell twice;\nback gate after 17:00",
            "delivery_windows": [{"time_from": "08:00:00", "time_to": "12:00:00"}],
        }],
        "items": [
            {"description": f"Item {n}", "quantity": 1 + n, "weight": 2.5, "weight_measure_id": 1,
             "item_type_id": 1, "sku": f"SKU-{n:04d}"}
            for n in range(3)
        ],
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(kind: str, db_path: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    code = SIMULATOR_SERVER if kind == "simulator" else ECHO_SERVER
    process = subprocess.Popen([sys.executable, "-c", code, str(port), db_path])
    root = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(root + "/", timeout=1)
            return process, root + "/rest"
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the benchmark server did not start")


@dataclass
class Runs:
    """Wall and client-process CPU seconds of repeated runs of one variant."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def run(self, work: Callable[[], object]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        work()
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)

    async def run_async(self, work: Callable[[], Awaitable[object]]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        await work()
        self.cpu.append(time.process_time() - cpu)
        self.wall.append(time.perf_counter() - wall)

    @property
    def wall_median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def bench_bulk(
    client: FleetApiClient, plain: httpx.Client, rounds: int
) -> tuple[dict[str, Runs], int]:
    jobs = [payload(i) for i in range(1000)]
    content = build_upload_csv(jobs)
    form = {"template_version": "v1", "webhook_url": "http://127.0.0.1:9/callback"}

    def with_plain() -> None:
        response = plain.post("/delivery/jobs/bulk-upload", data=form,
                              files={"file": ("jobs.csv", content, "text/csv")})
        assert response.status_code == 200, response.text

    variants = {
        "build": lambda: build_upload_csv(jobs),
        "payloads": lambda: client.bulk_upload(jobs, webhook_url=form["webhook_url"]),
        "csv": lambda: client.bulk_upload(content, webhook_url=form["webhook_url"]),
        "plain": with_plain,
    }
    runs = {name: Runs() for name in variants}
    for _ in range(rounds + 1):  # the first round warms up and is dropped
        for name, work in variants.items():
            runs[name].run(work)
    for result in runs.values():
        del result.wall[0], result.cpu[0]
    return runs, len(content)


def bench_creates(
    client: FleetApiClient, plain: httpx.Client, total: int, block: int = 100
) -> dict[str, Runs]:
    dicts = [payload(i) for i in range(block)]
    bodies = [encode_json(one).encode() for one in dicts]
    headers = {"Content-Type": "application/json"}

    def with_client() -> None:
        for one in dicts:
            client.create_job(one)

    def with_plain() -> None:
        for body in bodies:
            response = plain.post("/delivery/jobs", content=body, headers=headers)
            assert response.status_code == 200, response.text
            response.json()

    with_client()
    with_plain()
    runs = {"client": Runs(), "plain": Runs()}
    for _ in range(max(total // block, 1)):
        runs["client"].run(with_client)
        runs["plain"].run(with_plain)
    return runs


async def bench_async_creates(
    base_url: str, total: int, rounds: int = 5, concurrency: int = 8
) -> dict[str, Runs]:
    dicts = [payload(i) for i in range(total)]
    bodies = [encode_json(one).encode() for one in dicts]

    async def with_client() -> None:
        async with AsyncFleetApiClient(base_url, Credentials(USERNAME, PASSWORD)) as client:
            async for _, outcome in client.create_jobs(dicts, concurrency=concurrency):
                assert not isinstance(outcome, Exception), outcome

    async def with_plain() -> None:
        gate = asyncio.Semaphore(concurrency)
        async with httpx.AsyncClient(base_url=base_url, auth=(USERNAME, PASSWORD)) as plain:
            async def one(body: bytes) -> None:
                async with gate:
                    response = await plain.post(
                        "/delivery/jobs", content=body,
                        headers={"Content-Type": "application/json"})
                    assert response.status_code == 200, response.text
                    response.json()

            await asyncio.gather(*(one(body) for body in bodies))

    await with_client()
    await with_plain()
    runs = {"client": Runs(), "plain": Runs()}
    for _ in range(rounds):
        await runs["client"].run_async(with_client)
        await runs["plain"].run_async(with_plain)
    return runs


def overhead(client_cost: float, plain_cost: float) -> str:
    return f"{(client_cost / plain_cost - 1) * 100:+.1f}%"


def report_rates(title: str, runs: dict[str, Runs], per_run: int) -> None:
    client, plain = runs["client"], runs["plain"]
    print(title)
    for name, result in (("client", client), ("plain httpx", plain)):
        print(f"  {name:<14}{per_run / result.wall_median:8.0f} req/s   "
              f"{result.cpu_median / per_run * 1e6:6.0f} us client CPU/request")
    print(f"  client overhead: {overhead(client.wall_median, plain.wall_median)} time per request, "
          f"{overhead(client.cpu_median, plain.cpu_median)} client CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--server", choices=["simulator", "echo"], default="simulator")
    parser.add_argument("--creates", type=int, default=2000, help="sequential creates per side")
    parser.add_argument("--async-creates", type=int, default=1000, help="creates per async run")
    parser.add_argument("--bulk-rounds", type=int, default=15)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        process, base_url = start_server(args.server, os.path.join(tmp, "simulator.sqlite"))
        try:
            credentials = Credentials(USERNAME, PASSWORD)
            with FleetApiClient(base_url, credentials) as client, httpx.Client(
                base_url=base_url, auth=(USERNAME, PASSWORD), timeout=60
            ) as plain:
                bulk, size = bench_bulk(client, plain, args.bulk_rounds)
                creates = bench_creates(client, plain, args.creates)
            concurrent = asyncio.run(bench_async_creates(base_url, args.async_creates))
        finally:
            process.terminate()
            process.wait(timeout=10)

    print(f"server: {args.server} (uvicorn on 127.0.0.1, its own process); "
          f"python {platform.python_version()}, httpx {httpx.__version__}, "
          f"{os.cpu_count()} cores; medians")
    plain_bulk = bulk["plain"]
    print(f"bulk upload of 1,000 jobs ({size / 1e6:.2f} MB CSV), {args.bulk_rounds} rounds:")
    for name, label in (("build", "build_upload_csv alone"),
                        ("payloads", "client, from payloads"),
                        ("csv", "client, from CSV bytes"),
                        ("plain", "plain httpx, same bytes")):
        result = bulk[name]
        versus = "" if name in ("build", "plain") else (
            f"  {overhead(result.wall_median, plain_bulk.wall_median)} time, "
            f"{overhead(result.cpu_median, plain_bulk.cpu_median)} CPU")
        print(f"  {label:<24}{result.wall_median * 1e3:7.1f} ms  "
              f"{result.cpu_median * 1e3:6.1f} ms CPU{versus}")
    report_rates(f"create_job, sequential on one connection, {args.creates} per side:",
                 creates, 100)
    report_rates(f"create_jobs, async, 8 at a time, {args.async_creates} per run:",
                 concurrent, args.async_creates)


if __name__ == "__main__":
    main()
