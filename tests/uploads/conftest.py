"""Fixtures of the sender tests: a migrated SQLite ledger, a data dir, a callback sink."""

from __future__ import annotations

import httpx
import pytest

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine


@pytest.fixture
def ledger_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'pipeline.sqlite'}"


@pytest.fixture
def engine(ledger_url):
    engine = make_engine(ledger_url)
    migrate.ensure_schema(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def callbacks() -> httpx.MockTransport:
    """Where the simulator's callbacks go: answered 200, never over the network."""
    return httpx.MockTransport(lambda request: httpx.Response(200))
