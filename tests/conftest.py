"""Shared fixtures: throw-away databases on the machine's real PostgreSQL and MariaDB.

Each fixture creates a database with a unique name and drops it afterwards, so test sessions
(and helpers running in parallel) never see each other's rows. A server that does not answer is
a test failure, not a skip: the database tests are the point of these fixtures.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

PG_ADMIN_URL = os.environ.get("FLEET_TEST_PG_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")
MARIADB_ADMIN_URL = os.environ.get("FLEET_TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/test")


def _unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _connect_or_fail(url: str, what: str) -> sa.Engine:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
    except sa.exc.OperationalError as exc:
        pytest.fail(f"{what} does not answer at {engine.url.render_as_string(hide_password=True)}: "
                    f"{exc.orig}. Start it (see .ci/run).")
    return engine


@pytest.fixture
def pg_url() -> Iterator[str]:
    """URL of a fresh, empty PostgreSQL database, dropped after the test."""
    admin = _connect_or_fail(PG_ADMIN_URL, "PostgreSQL")
    name = _unique_name("fleet_test")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def mariadb_url() -> Iterator[str]:
    """URL of a fresh, empty MariaDB database, dropped after the test."""
    admin = _connect_or_fail(MARIADB_ADMIN_URL, "MariaDB")
    name = _unique_name("fleet_test")
    with admin.connect() as conn:
        conn.execute(
            sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        )
    try:
        url = admin.url.set(database=name, query={"charset": "utf8mb4"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'test.sqlite'}"


_DB_FIXTURES = {"sqlite": "sqlite_url", "postgres": "pg_url", "mariadb": "mariadb_url"}


@pytest.fixture(params=list(_DB_FIXTURES))
def any_db_url(request) -> str:
    """Runs a test once per supported database: SQLite, PostgreSQL and MariaDB."""
    return request.getfixturevalue(_DB_FIXTURES[request.param])


@pytest.fixture
def fleet_home(tmp_path, monkeypatch):
    """An isolated FLEET_HOME for a test."""
    home = tmp_path / "fleet_home"
    home.mkdir()
    monkeypatch.setenv("FLEET_HOME", str(home))
    for var in ("FLEET_ERP_URL", "FLEET_DB_URL", "FLEET_DATA_DIR"):
        monkeypatch.delenv(var, raising=False)
    return home
