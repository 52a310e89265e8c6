"""Schema migrations of the pipeline database (Alembic, configured here, no alembic.ini).

The revisions ship inside the package (migrations/versions/). The version table has its own
name so that the pipeline database can never be mistaken for another Alembic-managed schema
(Dagster's storage keeps `alembic_version`).

A new revision is written by hand, or drafted with
`alembic.command.revision(alembic_config(conn), "message", autogenerate=True)` on a connection
to a database at head, and checked by tests/ledger/test_migrations.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL

from fleet_pipeline.ledger.engine import make_engine, safe_url

SCRIPT_LOCATION = "fleet_pipeline.ledger:migrations"
VERSION_TABLE = "fleet_pipeline_alembic_version"
# Any constant shared by every process of the pipeline; "fleet" in ASCII.
ADVISORY_LOCK_KEY = 0x666C656574


class SchemaError(RuntimeError):
    """The database's schema cannot be brought to this code's version automatically."""


def alembic_config(connection: sa.Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head() -> str:
    """The newest revision this code knows."""
    head_revision = _scripts().get_current_head()
    assert head_revision is not None, "the ledger has no migrations"
    return head_revision


def current(url_or_engine: str | URL | sa.Engine | None = None) -> str | None:
    """The revision the database is at (None: never migrated)."""
    with _engine(url_or_engine) as engine, engine.connect() as conn:
        return _current(conn)


def upgrade(
    url_or_engine: str | URL | sa.Engine | None = None, revision: str = "head"
) -> tuple[str | None, str | None]:
    """Migrate the database to `revision`; returns the revisions before and after."""
    with _engine(url_or_engine) as engine, engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            with _advisory_lock(conn):
                return _upgrade(conn, revision)
        return _upgrade(conn, revision)


def ensure_schema(engine: sa.Engine) -> None:
    """Bring the database to head where that is safe; otherwise raise SchemaError.

    Safe means: SQLite (a local file, and BEGIN IMMEDIATE serialises two processes), PostgreSQL
    (under an advisory lock, so two processes starting together do not race), or an empty
    database of any kind. Anything else waits for `fleet-pipeline db upgrade`.
    """
    target = head()
    with engine.connect() as conn:
        at = _current(conn)
        empty = not sa.inspect(conn).get_table_names()
    if at == target:
        return
    known = {script.revision for script in _scripts().walk_revisions()}
    if at is not None and at not in known:
        raise SchemaError(
            f"{safe_url(engine.url)} is at revision {at}, which this version of fleet_pipeline "
            f"does not know (its newest is {target}): upgrade fleet_pipeline"
        )
    if engine.dialect.name in ("sqlite", "postgresql") or empty:
        upgrade(engine)
        return
    raise SchemaError(
        f"{safe_url(engine.url)} is at revision {at}, not {target}: run `fleet-pipeline db "
        f"upgrade`"
    )


def _scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config())


def _upgrade(conn: sa.Connection, revision: str) -> tuple[str | None, str | None]:
    before = _current(conn)
    conn.commit()  # Alembic opens and commits its own transaction on an idle connection.
    command.upgrade(alembic_config(conn), revision)
    after = _current(conn)
    conn.commit()
    return before, after


def _current(conn: sa.Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


@contextmanager
def _advisory_lock(conn: sa.Connection) -> Iterator[None]:
    # A session-level lock: it outlives the commits the migration makes, until released.
    conn.execute(sa.select(sa.func.pg_advisory_lock(ADVISORY_LOCK_KEY)))
    conn.commit()
    try:
        yield
    finally:
        conn.rollback()
        conn.execute(sa.select(sa.func.pg_advisory_unlock(ADVISORY_LOCK_KEY)))
        conn.commit()


@contextmanager
def _engine(url_or_engine: str | URL | sa.Engine | None) -> Iterator[sa.Engine]:
    if isinstance(url_or_engine, sa.Engine):
        yield url_or_engine
        return
    engine = make_engine(url_or_engine)
    try:
        yield engine
    finally:
        engine.dispose()
