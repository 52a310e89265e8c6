"""The simulator and the webhook receiver of a scenario, each a real `fleet-pipeline` process on
its own loopback port, so that the receiver can be killed and started again mid-stream."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

EXECUTABLE = str(Path(sys.executable).with_name("fleet-pipeline"))
START_TIMEOUT_S = 30.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_up(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the {what} did not start (exit {process.poll()})") from None
            time.sleep(0.1)


class Simulator:
    """`fleet-pipeline simulator serve --config FILE` with the scenario's faults."""

    def __init__(self, folder: Path, config: dict[str, Any], env: dict[str, str]) -> None:
        path = folder / "simulator.json"
        path.write_text(json.dumps(config), encoding="utf-8")
        port = free_port()
        self.root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self.root}/rest"
        self._log = (folder / "simulator.log").open("wb")
        self.process = subprocess.Popen(
            [EXECUTABLE, "simulator", "serve", "--port", str(port), "--config", str(path)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_up(self) -> None:
        _wait_up(f"{self.root}/_simulator/faults", self.process, "simulator")

    def flush(self, timeout_s: float = 60.0) -> bool:
        """Every upload processed and every callback delivered or given up."""
        response = httpx.post(f"{self.root}/_simulator/flush", params={"timeout": timeout_s},
                              timeout=timeout_s + 10)
        return response.status_code == 200

    def references(self) -> dict[str, list[int]]:
        """The simulator's own record: job ids per reference number."""
        report = httpx.get(f"{self.root}/_simulator/references", timeout=60).json()
        return {entry["reference_number"]: entry["job_ids"] for entry in report["references"]}

    def callbacks(self) -> dict[str, int]:
        report = httpx.get(f"{self.root}/_simulator/uploads", params={"rows": "false"},
                           timeout=60).json()
        return report["summary"]["callbacks"]

    def stop(self) -> None:
        _stop(self.process)
        self._log.close()


class Receiver:
    """`fleet-pipeline webhooks serve` on a fixed port, so a restart keeps the callback URL."""

    def __init__(self, folder: Path, env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = env
        self._log = (folder / "receiver.log").open("ab")
        self.restarts = 0
        self.process = self._spawn()

    def _spawn(self) -> subprocess.Popen:
        return subprocess.Popen(
            [EXECUTABLE, "webhooks", "serve", "--port", str(self.port)],
            env=self._env, stdout=self._log, stderr=subprocess.STDOUT)

    def wait_up(self) -> None:
        _wait_up(f"{self.url}/healthz", self.process, "webhook receiver")

    def kill(self) -> None:
        """SIGKILL, as a lost machine: callbacks in flight get no answer."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def start(self) -> None:
        self.process = self._spawn()
        self.wait_up()
        self.restarts += 1

    def stop(self) -> None:
        _stop(self.process)
        self._log.close()


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


def base_environment() -> dict[str, str]:
    """This process's environment without any FLEET_* setting of the caller's."""
    return {key: value for key, value in os.environ.items() if not key.startswith("FLEET_")}
