"""Ledger fixtures: a migrated pipeline database, once on SQLite and once on PostgreSQL."""

from __future__ import annotations

import pytest

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request) -> str:
    """An empty database URL: SQLite file, then a throw-away PostgreSQL database."""
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])


@pytest.fixture
def engine(ledger_url):
    """An engine on a database migrated to head."""
    engine = make_engine(ledger_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
