"""The simulator over real loopback HTTP: uvicorn in a thread, a real receiver, the CLI."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi import FastAPI, Request, Response
from sim_support import PASSWORD, USER, bulk_csv, fixed_clock, job_payload, make_config, stop

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.simulator.cli import serve_config, simulator
from fleet_pipeline.simulator.server import serving

AUTH = (USER, PASSWORD)


def receiver_app(received: list[bytes], first_status: int = 500) -> FastAPI:
    """A webhook receiver that refuses the first delivery, then verifies and keeps the rest."""
    app = FastAPI()

    @app.post("/callbacks/{token}")
    async def callback(token: str, request: Request) -> Response:
        raw = await request.body()
        if not received and first_status != 200:
            received.append(b"refused")
            return Response(status_code=first_status)
        if not signature.verify(raw, request.headers.get("X-Webhook-Signature"), PASSWORD):
            return Response(status_code=401)
        received.append(raw)
        return Response(status_code=204)

    return app


def test_bulk_upload_over_loopback_reaches_a_real_receiver() -> None:
    received: list[bytes] = []
    config = make_config(callback_retry_schedule_s=[0.05])
    with (
        serving(receiver_app(received)) as receiver,
        running_simulator(config, clock=fixed_clock) as sim,
    ):
        assert sim.base_url.endswith("/rest")
        rows = [
            {"reference_number": "L-1", "job_type_id": 3, "stops": [stop()]},
            {"reference_number": "L-2", "job_type_id": 3, "stops": []},
        ]
        response = httpx.post(
            f"{sim.base_url}/delivery/jobs/bulk-upload",
            auth=AUTH,
            files={"file": ("jobs.csv", bulk_csv(rows), "text/csv")},
            data={"webhook_url": f"{receiver}/callbacks/abc"},
        )
        assert response.status_code == 200
        assert sim.flush(timeout_s=10)
        assert received[0] == b"refused"
        (entries,) = [json.loads(raw) for raw in received[1:]]
        assert entries[0]["reference_number"] == "L-1" and "job_id" in entries[0]
        assert entries[1] == {
            "reference_number": "L-2",
            "errors": {"stops": ["The stops field is required."]},
        }
        job = httpx.get(f"{sim.base_url}/delivery/jobs/{entries[0]['job_id']}", auth=AUTH)
        assert job.json()["data"]["reference_number"] == "L-1"


def test_latency_does_not_block_other_requests() -> None:
    config = make_config(faults={"latency": {"list": 0.5}})
    with running_simulator(config, clock=fixed_clock) as sim:
        codes: list[int] = []

        def call() -> None:
            codes.append(httpx.get(f"{sim.base_url}/delivery/jobs", auth=AUTH).status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert codes == [200] * 6
        assert time.monotonic() - started < 1.5  # six 0.5 s waits side by side, not in a row


def lost_reference_count(sim, reference: str) -> int:
    response = httpx.get(
        f"{sim.base_url}/delivery/jobs", params={"filter[reference_number]": reference}, auth=AUTH
    )
    return response.json()["meta"]["total"]


def test_dropped_connection_after_create() -> None:
    faults = {"lost_response_rate": 1.0, "lost_response_mode": "drop"}
    with running_simulator(make_config(faults=faults), clock=fixed_clock) as sim:
        with pytest.raises(httpx.RemoteProtocolError):
            httpx.post(f"{sim.base_url}/delivery/jobs", json=job_payload("DROP-1"), auth=AUTH)
        assert lost_reference_count(sim, "DROP-1") == 1


def test_response_slower_than_the_client_time_out() -> None:
    faults = {
        "lost_response_rate": 1.0,
        "lost_response_mode": "sleep",
        "lost_response_sleep_s": 0.5,
    }
    with running_simulator(make_config(faults=faults), clock=fixed_clock) as sim:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(
                f"{sim.base_url}/delivery/jobs",
                json=job_payload("SLOW-1"),
                auth=AUTH,
                timeout=0.1,
            )
        assert lost_reference_count(sim, "SLOW-1") == 1


def test_inspect_command_prints_the_reports() -> None:
    with running_simulator(make_config(), clock=fixed_clock) as sim:
        for _ in range(2):
            httpx.post(f"{sim.base_url}/delivery/jobs", json=job_payload("TWICE"), auth=AUTH)
        runner = CliRunner()
        text = runner.invoke(simulator, ["inspect", "--url", sim.base_url])
        assert text.exit_code == 0, text.output
        assert "created more than once: 1" in text.output
        assert "DUPLICATE TWICE" in text.output
        as_json = runner.invoke(simulator, ["inspect", "--url", sim.root_url, "--json"])
        report = json.loads(as_json.output)
        assert report["references"]["summary"]["total_jobs"] == 2
        assert report["uploads"]["uploads"] == []


def test_inspect_command_reports_an_unreachable_simulator() -> None:
    result = CliRunner().invoke(simulator, ["inspect", "--url", "http://127.0.0.1:9"])
    assert result.exit_code != 0
    assert "could not read the simulator" in result.output


def test_serve_settings_layer_defaults_file_and_flags(fleet_home: Path, tmp_path: Path) -> None:
    defaults = serve_config()
    assert defaults.db_path == fleet_home / "simulator.sqlite"
    assert [a.username for a in defaults.accounts] == ["demo"]
    settings = tmp_path / "sim.json"
    settings.write_text(
        json.dumps(
            {"duplicate_reference": "reject", "faults": {"seed": 3, "callback_drop_rate": 0.1}}
        ),
        encoding="utf-8",
    )
    config = serve_config(
        config_file=settings,
        db=tmp_path / "x.sqlite",
        username="ops",
        password="pw",
        rate_limit=0,
        flags={"duplicate_reference": None, "max_page_size": 50},
        faults={"seed": 9, "latency": {"create": "11"}},
    )
    assert config.duplicate_reference == "reject"  # from the file, no flag given
    assert config.max_page_size == 50
    assert config.faults.seed == 9 and config.faults.callback_drop_rate == 0.1
    assert config.faults.latency["create"].low == 11
    assert config.rate_limit_per_minute == 0
    assert config.db_path == tmp_path / "x.sqlite"
    assert config.accounts[0].password.get_secret_value() == "pw"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_serve_command_runs_the_api(tmp_path: Path) -> None:
    port = _free_port()
    command = [
        str(Path(sys.executable).with_name("fleet-pipeline")),
        "simulator",
        "serve",
        "--port",
        str(port),
        "--db",
        str(tmp_path / "sim.sqlite"),
        "--username",
        "ops",
        "--password",
        "s3cret",
        "--rate-limit",
        "2",
        "--latency",
        "create=0.01",
        "--callback-retry-schedule",
        "0.1,0.2",
    ]
    env = {**os.environ, "FLEET_HOME": str(tmp_path)}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        base = f"http://127.0.0.1:{port}/rest"
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.get(f"{base}/delivery/jobs", auth=("ops", "s3cret"))
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    process.terminate()
                    pytest.fail(f"the simulator did not start: {process.communicate()[0]!r}")
                time.sleep(0.1)
        assert response.status_code == 200
        assert httpx.get(f"{base}/delivery/jobs", auth=("ops", "s3cret")).status_code == 200
        assert httpx.get(f"{base}/delivery/jobs", auth=("ops", "s3cret")).status_code == 429
    finally:
        process.terminate()
        output = process.communicate(timeout=10)[0].decode()
    assert f"Fleet API simulator: {base}" in output
    assert "s3cret" not in output
    assert (tmp_path / "sim.sqlite").exists()
