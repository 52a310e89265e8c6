"""The pipeline database engine: SQLite settings that make several writers safe, PostgreSQL."""

from __future__ import annotations

import threading
import time

import pytest
import sqlalchemy as sa

from fleet_pipeline.ledger.engine import make_engine, safe_url


def _pragma(engine: sa.Engine, name: str):
    with engine.connect() as conn:
        return conn.exec_driver_sql(f"PRAGMA {name}").scalar()


def test_sqlite_settings_hold_on_every_connection(sqlite_url):
    engine = make_engine(sqlite_url, busy_timeout=12)
    try:
        for _ in range(2):  # a fresh pool connection each time
            assert _pragma(engine, "journal_mode") == "wal"
            assert _pragma(engine, "foreign_keys") == 1
            assert _pragma(engine, "busy_timeout") == 12_000
            assert _pragma(engine, "synchronous") == 2  # FULL
            engine.dispose()
    finally:
        engine.dispose()


def test_default_url_is_a_file_under_fleet_home(fleet_home):
    engine = make_engine()
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert (fleet_home / "pipeline.sqlite").exists()
    finally:
        engine.dispose()


def test_the_sqlite_folder_is_created(tmp_path):
    path = tmp_path / "not" / "yet" / "ledger.sqlite"
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        conn.exec_driver_sql("SELECT 1")
    engine.dispose()
    assert path.exists()


def test_postgres_uses_psycopg2_and_pre_ping(pg_url):
    plain = sa.make_url(pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    engine = make_engine(plain)
    try:
        assert engine.dialect.driver == "psycopg2"
        assert engine.pool._pre_ping
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT 1")).scalar() == 1
    finally:
        engine.dispose()


def test_safe_url_hides_the_password():
    shown = safe_url("postgresql+psycopg2://fleet:s3cret@db.internal:5432/pipeline")
    assert "s3cret" not in shown and "***" in shown


def _counter_table(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE counter (n INTEGER NOT NULL)")
        conn.exec_driver_sql("INSERT INTO counter VALUES (0)")


def test_two_writers_that_read_first_neither_fail_nor_lose_updates(sqlite_url):
    """Read-then-write from two connections: BEGIN IMMEDIATE makes the second one wait instead
    of failing with "database is locked" when it upgrades its read to a write."""
    engine = make_engine(sqlite_url)
    _counter_table(engine)
    errors: list[BaseException] = []

    def bump(times: int) -> None:
        try:
            for _ in range(times):
                with engine.begin() as conn:
                    n = conn.exec_driver_sql("SELECT n FROM counter").scalar()
                    time.sleep(0.001)  # widen the window between the read and the write
                    conn.exec_driver_sql(f"UPDATE counter SET n = {n + 1}")
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(25,)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 50
    engine.dispose()


def _hold_write_lock(engine: sa.Engine, seconds: float, locked: threading.Event) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE counter SET n = n + 1")
        locked.set()
        time.sleep(seconds)


def test_a_writer_waits_for_the_lock_within_the_busy_timeout(sqlite_url):
    engine = make_engine(sqlite_url)
    _counter_table(engine)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(engine, 0.5, locked))
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    with engine.begin() as conn:
        conn.exec_driver_sql("UPDATE counter SET n = n + 1")
    waited = time.monotonic() - started
    holder.join()
    assert waited >= 0.3
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 2
    engine.dispose()


def test_a_writer_gives_up_after_the_busy_timeout(sqlite_url):
    holder_engine = make_engine(sqlite_url)
    _counter_table(holder_engine)
    impatient = make_engine(sqlite_url, busy_timeout=0.05)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(holder_engine, 1.0, locked))
    holder.start()
    locked.wait(5)
    with pytest.raises(sa.exc.OperationalError, match="locked"), impatient.begin() as conn:
        conn.exec_driver_sql("UPDATE counter SET n = n + 1")
    holder.join()
    holder_engine.dispose()
    impatient.dispose()


def test_a_reader_sees_the_last_commit_without_waiting_for_a_writer(sqlite_url):
    engine = make_engine(sqlite_url)
    _counter_table(engine)
    reader = make_engine(sqlite_url, read_only=True)
    locked = threading.Event()
    holder = threading.Thread(target=_hold_write_lock, args=(engine, 1.0, locked))
    holder.start()
    locked.wait(5)
    started = time.monotonic()
    with reader.connect() as conn:
        assert conn.exec_driver_sql("SELECT n FROM counter").scalar() == 0
    assert time.monotonic() - started < 0.5
    with pytest.raises(sa.exc.OperationalError, match="readonly"), reader.begin() as conn:
        conn.exec_driver_sql("UPDATE counter SET n = 7")
    holder.join()
    engine.dispose()
    reader.dispose()
