"""Run the simulator over real loopback HTTP inside the current process, for tests and demos."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI

from fleet_pipeline.http_server import serving
from fleet_pipeline.simulator.app import create_app
from fleet_pipeline.simulator.config import SimulatorConfig
from fleet_pipeline.simulator.service import Clock, utc_now

__all__ = ["RunningSimulator", "running_simulator", "serving"]


@dataclass(frozen=True)
class RunningSimulator:
    base_url: str  # what a Fleet API client is given, e.g. http://127.0.0.1:PORT/rest
    root_url: str  # where /_simulator/... lives
    app: FastAPI

    def flush(self, timeout_s: float = 30.0) -> bool:
        """Block until every upload is processed and every callback delivered or given up."""
        response = httpx.post(
            f"{self.root_url}/_simulator/flush",
            params={"timeout": timeout_s},
            timeout=timeout_s + 5,
        )
        return response.status_code == 200


@contextmanager
def running_simulator(
    config: SimulatorConfig,
    *,
    host: str = "127.0.0.1",
    clock: Clock = utc_now,
    callback_transport: httpx.AsyncBaseTransport | None = None,
) -> Iterator[RunningSimulator]:
    """The simulator for `config`, served over loopback until the block ends."""
    app = create_app(config, clock=clock, callback_transport=callback_transport)
    with serving(app, host=host) as root:
        yield RunningSimulator(base_url=root + config.api_prefix, root_url=root, app=app)
