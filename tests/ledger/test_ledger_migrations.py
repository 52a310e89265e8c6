"""Migrations build exactly tables.metadata, and ensure_schema upgrades only where it is safe."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from fleet_pipeline.ledger import migrate, states
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import jobs, metadata, uploads

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _diff(engine: sa.Engine) -> list:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "version_table": migrate.VERSION_TABLE})
        return compare_metadata(context, metadata)


def test_upgrade_from_empty_builds_exactly_the_metadata(ledger_url):
    assert migrate.current(ledger_url) is None
    assert migrate.upgrade(ledger_url) == (None, migrate.head())
    assert migrate.current(ledger_url) == migrate.head()
    engine = make_engine(ledger_url)
    try:
        assert _diff(engine) == []
        names = set(sa.inspect(engine).get_table_names())
        assert names == set(metadata.tables) | {migrate.VERSION_TABLE}
    finally:
        engine.dispose()


def test_upgrade_twice_is_a_no_op(ledger_url):
    migrate.upgrade(ledger_url)
    assert migrate.upgrade(ledger_url) == (migrate.head(), migrate.head())


def test_a_drifted_table_shows_in_the_comparison(sqlite_url):
    """The comparison used above does see a difference when there is one."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE jobs ADD COLUMN stray TEXT")
    assert [d[0] for d in _diff(engine)] == ["remove_column"]
    engine.dispose()


def test_the_schema_holds_every_state_and_refuses_others(engine):
    def insert_upload(upload_id: str, state: str) -> None:
        conn.execute(uploads.insert().values(
            upload_id=upload_id, partition_date=date(2026, 3, 2), job_count=1, state=state,
            created_at=NOW, updated_at=NOW))

    def insert_job(reference: str, state: str) -> None:
        conn.execute(jobs.insert().values(
            reference_number=reference, partition_date=date(2026, 3, 2), state=state,
            created_at=NOW, updated_at=NOW, state_changed_at=NOW))

    with engine.begin() as conn:
        for state in states.UPLOAD_STATES:
            insert_upload(f"U-{state}", state)
        for state in states.STATES:
            insert_job(f"R-{state}", state)
    for bad in (lambda: insert_job("R-bad", "lost"), lambda: insert_upload("U-bad", "lost")):
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            bad()


def test_foreign_keys_are_enforced(engine):
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(jobs.insert().values(
            reference_number="R1", partition_date=date(2026, 3, 2), state=states.QUEUED,
            upload_id="no-such-upload", created_at=NOW, updated_at=NOW, state_changed_at=NOW))


def test_ensure_schema_migrates_sqlite_and_postgres(ledger_url):
    engine = make_engine(ledger_url)
    try:
        migrate.ensure_schema(engine)
        assert migrate.current(engine) == migrate.head()
        migrate.ensure_schema(engine)  # at head: nothing to do
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_ensure_schema_on_postgres_from_two_processes_at_once(pg_url):
    """The advisory lock makes the second starter wait, then find the schema at head."""
    errors: list[BaseException] = []
    engines = [make_engine(pg_url) for _ in range(3)]

    def start(engine: sa.Engine) -> None:
        try:
            migrate.ensure_schema(engine)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for engine in engines:
        engine.dispose()
    assert errors == []
    assert migrate.current(pg_url) == migrate.head()


def test_ensure_schema_refuses_a_database_newer_than_the_code(sqlite_url):
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {migrate.VERSION_TABLE} SET version_num = '9999'")
    with pytest.raises(migrate.SchemaError, match="9999"):
        migrate.ensure_schema(engine)
    engine.dispose()


def test_ensure_schema_elsewhere_migrates_only_an_empty_database(mariadb_url):
    """A database it cannot lock (neither SQLite nor PostgreSQL) is left to the operator
    unless it is empty."""
    engine = make_engine(mariadb_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE somebody_elses (id INTEGER)")
        with pytest.raises(migrate.SchemaError, match="fleet-pipeline db upgrade"):
            migrate.ensure_schema(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE somebody_elses")
        migrate.ensure_schema(engine)
        assert migrate.current(engine) == migrate.head()
    finally:
        engine.dispose()


def test_the_version_table_is_our_own(engine):
    names = sa.inspect(engine).get_table_names()
    assert migrate.VERSION_TABLE in names and "alembic_version" not in names
