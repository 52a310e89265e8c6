"""Fixtures for the client/simulator contract: a callback receiver for the whole session, one
simulator per module for the plain contract, and a factory for simulators with faults."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from contract_support import CallbackReceiver, fixed_clock, make_client, make_config

from fleet_pipeline.fleet_api import FleetApiClient
from fleet_pipeline.simulator import RunningSimulator, running_simulator
from fleet_pipeline.simulator.server import serving


@pytest.fixture(scope="session")
def receiver() -> Iterator[CallbackReceiver]:
    callbacks = CallbackReceiver()
    with serving(callbacks.app) as root_url:
        callbacks.root_url = root_url
        yield callbacks


@pytest.fixture(scope="module")
def simulator() -> Iterator[RunningSimulator]:
    """A fault-free simulator shared by the tests of one module (each uses its own references)."""
    with running_simulator(make_config(), clock=fixed_clock) as running:
        yield running


@pytest.fixture
def client(simulator: RunningSimulator) -> Iterator[FleetApiClient]:
    with make_client(simulator) as fleet:
        yield fleet


@pytest.fixture
def start_simulator() -> Iterator[Callable[..., RunningSimulator]]:
    """`start_simulator(faults={...}, ...)`: a fresh simulator with these settings, stopped after
    the test."""
    with ExitStack() as stack:

        def start(**overrides: Any) -> RunningSimulator:
            config = make_config(**overrides)
            return stack.enter_context(running_simulator(config, clock=fixed_clock))

        yield start
