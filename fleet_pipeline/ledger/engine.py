"""The engine of the pipeline database: SQLite by default, PostgreSQL in production.

SQLite is made fit for several processes (Dagster runs, the webhook receiver) writing one file:
WAL journal so readers never block the writer, a busy time-out so a writer waits for the lock
instead of failing, foreign keys on, and every transaction opened with BEGIN IMMEDIATE. The last
one matters: a transaction that reads first and writes later would otherwise take the write lock
late, and SQLite fails such an upgrade at once ("database is locked") instead of waiting. Full
fsync on commit is kept because a lost intent could mean a job sent twice. A page cache of up to
256 MiB and temporary tables in memory keep a large transaction from spilling to disk. Readers
that must not wait behind a writer (sensors, status reports) use `make_engine(read_only=True)`.

PostgreSQL goes through psycopg2 with pre-ping (a connection dropped by the server is replaced,
not failed on) and batched executemany.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from fleet_pipeline.config import settings

BUSY_TIMEOUT_SECONDS = 30
CACHE_KIB = 256 * 1024  # per connection, an upper bound: pages are allocated as used


def make_engine(
    url: str | URL | None = None,
    *,
    busy_timeout: float = BUSY_TIMEOUT_SECONDS,
    read_only: bool = False,
) -> sa.Engine:
    """An engine for the pipeline database at `url` (default: FLEET_DB_URL or the home's file).

    `read_only` (SQLite): for readers such as sensors and status reports; their transactions
    read the last committed state without waiting for a writer, and cannot write.
    """
    url = make_url(url if url is not None else settings().pipeline_db_url)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url, busy_timeout, read_only)
    if url.drivername == "postgresql":
        # SQLAlchemy 2.1 would pick psycopg 3; the project ships psycopg2.
        url = url.set(drivername="postgresql+psycopg2")
    if url.drivername == "postgresql+psycopg2":
        # Without batch mode psycopg2 sends an executemany UPDATE one row per round trip.
        return sa.create_engine(url, pool_pre_ping=True, executemany_mode="values_plus_batch",
                                executemany_batch_page_size=500)
    return sa.create_engine(url, pool_pre_ping=True)


def safe_url(url: str | URL) -> str:
    """The URL as it may be shown: password hidden."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_engine(url: URL, busy_timeout: float, read_only: bool) -> sa.Engine:
    if url.database and url.database != ":memory:" and not url.database.startswith("file:"):
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(url, connect_args={"timeout": busy_timeout})

    @sa.event.listens_for(engine, "connect")
    def _configure(dbapi_connection, connection_record) -> None:
        # Hand transaction control to SQLAlchemy (the driver's own BEGIN is deferred and late).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=FULL")
            # The default 2 MiB page cache spills a large transaction (a day's callbacks, its
            # reconciliation) to the WAL page by page; temporary stages belong in memory.
            cursor.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
        finally:
            cursor.close()

    begin = "BEGIN" if read_only else "BEGIN IMMEDIATE"

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine
