"""Fixtures for the Fleet API simulator tests; the building blocks live in sim_support.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sim_support import CallbackRecorder, TestClient, make_config, simulator_client


@pytest.fixture
def recorder() -> CallbackRecorder:
    return CallbackRecorder()


@pytest.fixture
def client(recorder: CallbackRecorder) -> Iterator[TestClient]:
    with simulator_client(make_config(), recorder) as test_client:
        yield test_client
