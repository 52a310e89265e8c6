"""Webhook receiver fixtures: a migrated pipeline database (SQLite, then PostgreSQL) with one
accepted upload, and the receiver app on it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from webhook_support import KEY, TestClient, Upload, add_upload

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.webhooks.app import create_app


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request) -> str:
    return request.getfixturevalue({"sqlite": "sqlite_url", "postgres": "pg_url"}[request.param])


@pytest.fixture
def engine(db_url) -> Iterator[sa.Engine]:
    engine = make_engine(db_url)
    migrate.upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def upload(engine) -> Upload:
    with engine.begin() as conn:
        return add_upload(conn, "U-2026-03-02-001", ["CART202502260001", "CART202502260002"])


@pytest.fixture
def client(engine) -> Iterator[TestClient]:
    with TestClient(create_app(engine, KEY), raise_server_exceptions=False) as test_client:
        yield test_client
