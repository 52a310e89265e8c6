"""Keep every process that uses one Fleet account inside the account's request budget.

The budget (1,000 requests a minute by default) belongs to the account, not to a process, so the
limiter that counts is the one in a shared database. Requests are paced, not burst: each caller
reserves the next free slot, one `interval` after the previous one (GCRA without burst
tolerance), and sleeps until it. Any window of `period` seconds then holds at most the budget,
whatever the window's alignment on the server, and a margin (`headroom`) absorbs the jitter
between when we send and when the server counts.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import sqlalchemy as sa

DEFAULT_TABLE = "fleet_api_rate_limit"


@runtime_checkable
class RateLimiter(Protocol):
    def acquire(self) -> None:
        """Block until this process may send one request."""

    async def acquire_async(self) -> None:
        """Wait, without blocking the event loop, until one request may be sent."""


@dataclass(frozen=True)
class Budget:
    requests: int = 1000
    period: float = 60.0
    # Fraction of the budget left unused, for clock and network jitter.
    headroom: float = 0.05

    def __post_init__(self) -> None:
        if self.requests < 1 or self.period <= 0 or not 0 <= self.headroom < 1:
            raise ValueError("a budget needs requests >= 1, period > 0 and 0 <= headroom < 1")

    @property
    def interval(self) -> float:
        """Seconds between two requests of the account."""
        return self.period / (self.requests * (1 - self.headroom))


def reserve(tat: float | None, now: float, interval: float) -> tuple[float, float]:
    """Take the next free slot. Returns (the following slot, seconds to wait for ours)."""
    slot = now if tat is None else max(tat, now)
    return slot + interval, slot - now


def account_key(base_url: str, username: str) -> str:
    """A key naming one account's budget without writing its user name into the database."""
    digest = hashlib.sha256(f"{base_url.rstrip('/')}\n{username}".encode()).hexdigest()
    return f"fleet:{digest[:24]}"


class InProcessRateLimiter:
    """Paces the threads and tasks of one process. Enough only when one process uses the account."""

    def __init__(
        self,
        budget: Budget | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.budget = budget or Budget()
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tat: float | None = None

    def _reserve(self) -> float:
        with self._lock:
            self._tat, wait = reserve(self._tat, self._clock(), self.budget.interval)
        return wait

    def acquire(self) -> None:
        wait = self._reserve()
        if wait > 0:
            self._sleep(wait)

    async def acquire_async(self) -> None:
        wait = self._reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def __repr__(self) -> str:
        return f"InProcessRateLimiter({self.budget!r})"


class SqlRateLimiter:
    """Paces every process sharing `account_key` through one row of a SQL table.

    Each reservation is one short transaction: lock the row (`SELECT ... FOR UPDATE`; on SQLite
    `BEGIN IMMEDIATE`, which takes the database's write lock), read the clock, write the next
    slot. The clock is the database server's on PostgreSQL and MySQL/MariaDB, so hosts with
    skewed clocks still agree; SQLite is local, so the local clock is the shared one.
    The table is created if absent (it is not part of any migration history).
    """

    def __init__(
        self,
        engine: sa.Engine,
        account_key: str,
        budget: Budget | None = None,
        *,
        table_name: str = DEFAULT_TABLE,
    ) -> None:
        self.budget = budget or Budget()
        self.account_key = account_key
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._table = sa.Table(
            table_name,
            sa.MetaData(),
            sa.Column("account_key", sa.String(200), primary_key=True),
            # Unix time of the next free slot.
            sa.Column("tat", sa.Double, nullable=False),
        )
        self._now_sql = _server_clock(engine.dialect.name)
        self._create_table()
        self._create_row()

    def acquire(self) -> None:
        wait = self._reserve()
        if wait > 0:
            time.sleep(wait)

    async def acquire_async(self) -> None:
        wait = await asyncio.to_thread(self._reserve)
        if wait > 0:
            await asyncio.sleep(wait)

    def _reserve(self) -> float:
        table = self._table
        row = table.c.account_key == self.account_key
        with self._locked() as conn:
            tat = conn.execute(sa.select(table.c.tat).where(row).with_for_update()).scalar_one()
            now = self._now(conn)
            following, wait = reserve(tat, now, self.budget.interval)
            conn.execute(sa.update(table).where(row).values(tat=following))
        return wait

    @contextmanager
    def _locked(self) -> Iterator[sa.Connection]:
        if not self._sqlite:
            with self._engine.begin() as conn:
                yield conn
            return
        # pysqlite's own BEGIN is deferred: two readers would both read the slot before either
        # writes. Drive the transaction by hand on an autocommit connection instead.
        with self._engine.connect() as plain:
            conn = plain.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.exec_driver_sql("ROLLBACK")
                raise
            conn.exec_driver_sql("COMMIT")

    def _now(self, conn: sa.Connection) -> float:
        if self._now_sql is None:
            return time.time()
        return float(conn.exec_driver_sql(self._now_sql).scalar_one())

    def _create_table(self) -> None:
        try:
            self._table.create(self._engine, checkfirst=True)
        except sa.exc.DBAPIError:
            # Another process created it between the check and the CREATE.
            if not sa.inspect(self._engine).has_table(self._table.name):
                raise

    def _create_row(self) -> None:
        table = self._table
        with self._engine.begin() as conn:
            exists = conn.execute(
                sa.select(table.c.account_key).where(table.c.account_key == self.account_key)
            ).first()
        if exists:
            return
        try:
            with self._engine.begin() as conn:
                conn.execute(sa.insert(table).values(account_key=self.account_key, tat=0.0))
        except sa.exc.IntegrityError:
            pass  # another process inserted it first

    def __repr__(self) -> str:
        url = self._engine.url.render_as_string(hide_password=True)
        return f"SqlRateLimiter({url}, key={self.account_key!r}, {self.budget!r})"


def _server_clock(dialect: str) -> str | None:
    if dialect == "postgresql":
        return "SELECT extract(epoch from clock_timestamp())"
    if dialect in ("mysql", "mariadb"):
        return "SELECT UNIX_TIMESTAMP(NOW(6))"
    return None
