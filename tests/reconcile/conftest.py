"""Reconciliation fixtures: a migrated pipeline database on SQLite, then on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])


@pytest.fixture
def engine(db_url) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()
