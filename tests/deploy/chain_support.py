"""Run one partition of the asset chain the way an operator does: seed a sample ERP, start the
Fleet API simulator, `dagster asset materialize` in a subprocess. Shared by the deployment test
and the browser test (which puts this folder on its path).

The chain is read from the loaded Definitions, never listed here, so the tests follow the chain
as assets and checks are added to it.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OPERATIONS_GUIDE = ROOT / "docs" / "operations.md"


def cli(name: str) -> str:
    """A console script of this virtualenv (dagster, fleet-pipeline, dagster-webserver)."""
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Until `url` answers at all (any status): the server is listening."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args[0]} exited with {process.returncode} before "
                               f"answering at {url}")
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing answered at {url} within {timeout_s:.0f} s")


@contextmanager
def serving(command: list[str], url: str, env: Mapping[str, str], cwd: Path = ROOT,
            timeout_s: float = 60.0) -> Iterator[subprocess.Popen]:
    """Run a server for the duration of the block; stop it (and only it) afterwards."""
    process = subprocess.Popen(command, cwd=cwd, env=dict(env), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_for_http(url, process, timeout_s)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def chain() -> dict[str, list[str]]:
    """The daily-partitioned chain the Definitions hold now: asset key -> its check names, in
    dependency order."""
    from fleet_pipeline.definitions import defs
    from fleet_pipeline.defs.partitions import delivery_date_partitions

    graph = defs.resolve_asset_graph()
    return {key.to_user_string(): sorted(check.name
                                         for check in graph.get_check_keys_for_assets({key}))
            for key in graph.toposorted_asset_keys
            if key in graph.materializable_asset_keys
            and graph.get(key).partitions_def == delivery_date_partitions}


def documented_pool_limits() -> dict[str, int]:
    """The pool limits docs/operations.md tells operators to set, by pool."""
    text = OPERATIONS_GUIDE.read_text()
    return {pool: int(limit) for pool, limit
            in re.findall(r"dagster instance concurrency set (\w+) (\d+)", text)}


def pipeline_pools() -> set[str]:
    """Every pool an asset or check of the Definitions claims a slot of."""
    from fleet_pipeline.definitions import defs

    graph = defs.resolve_asset_graph()
    return {pool for key in graph.get_all_asset_keys()
            for pool in (graph.get(key).pools or ())}


def pipeline_env(fleet_home: Path, dagster_home: Path, **extra: str) -> dict[str, str]:
    """The environment of every process of one test deployment: its own homes, nothing
    inherited that could point at someone else's databases, API or receiver."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FLEET_", "DAGSTER_"))}
    env.update(FLEET_HOME=str(fleet_home), DAGSTER_HOME=str(dagster_home),
               # Callbacks of bulk uploads go to a port where nothing listens.
               FLEET_WEBHOOK_PUBLIC_URL=f"http://127.0.0.1:{free_port()}", **extra)
    return env


def seed_erp(env: Mapping[str, str], day: str, per_day: int = 20) -> None:
    erp = Path(env["FLEET_HOME"]) / "erp.sqlite"
    run([cli("fleet-pipeline"), "erp", "seed", "--url", f"sqlite:///{erp}", "--days", "1",
         "--per-day", str(per_day), "--seed", "1", "--start-date", day], env)


@contextmanager
def fleet_api_simulator(env: dict[str, str]) -> Iterator[None]:
    """Serve the simulator on a free port and point the pipeline's env at it."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}/rest"
    command = [cli("fleet-pipeline"), "simulator", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--db", str(Path(env["FLEET_HOME"]) / "simulator.sqlite")]
    with serving(command, f"{base_url}/delivery/jobs", env):
        env["FLEET_API_BASE_URL"] = base_url
        yield


def materialize_partition(env: Mapping[str, str], day: str, keys: list[str]) -> str:
    """`dagster asset materialize` of `keys` for `day`; returns the command's output."""
    return run([cli("dagster"), "asset", "materialize", "-m", "fleet_pipeline.definitions",
                "--select", ",".join(keys), "--partition", day], env, timeout_s=600)


def run(command: list[str], env: Mapping[str, str], timeout_s: float = 120) -> str:
    result = subprocess.run(command, cwd=ROOT, env=dict(env), capture_output=True, text=True,
                            timeout=timeout_s)
    output = result.stdout + result.stderr
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(command[:3])} failed ({result.returncode}):\n"
                             f"{output[-6000:]}")
    return output
