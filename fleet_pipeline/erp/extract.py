"""Extract one day of deliveries and items from the ERP into Parquet files of canonical schema.

Each query's result is streamed (a server-side cursor where the driver has one) in chunks of
`chunk_rows`; each chunk is turned column by column into an Arrow record batch and appended to a
Parquet file, so memory stays bounded by the chunk size whatever the day's volume.

The rows are fetched from the DBAPI cursor of the SQLAlchemy connection, as the driver's plain
tuples: a SQLAlchemy Row per row (and a copy back into a tuple) cost as much as the conversion.
SQLAlchemy still compiles the SQL for the dialect, so the window dates stay bind parameters.

Both files are written to temporary names and renamed into place only when both are complete:
a failed run leaves the previous day's files as they were, never a partial file or a new
deliveries file next to old items.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from fleet_pipeline.erp import arrow_sqlite
from fleet_pipeline.erp.canonical import ITEM_SCHEMA, JOB_SCHEMA
from fleet_pipeline.erp.convert import columns_of, to_array
from fleet_pipeline.erp.drivers import numerics_as_text, streaming_cursor
from fleet_pipeline.erp.source import (
    ColumnMatch,
    Source,
    SourceQuery,
    connection,
    guarded,
    match_columns,
    require_columns,
    window,
)
from fleet_pipeline.storage import atomic_write, partition_dir

ASSET = "erp_deliveries"
DELIVERIES_FILE = "deliveries.parquet"
ITEMS_FILE = "items.parquet"
DEFAULT_CHUNK_ROWS = 50_000

# Dialects that can give both queries one consistent snapshot, so that every item's delivery
# is in the deliveries file even while the ERP is being written to.
_SNAPSHOT_DIALECTS = {"postgresql": "REPEATABLE READ", "mysql": "REPEATABLE READ",
                      "mariadb": "REPEATABLE READ"}


@dataclass(frozen=True)
class ExtractStats:
    day: date
    deliveries: int
    items: int
    bytes: int  # size of both files
    seconds: float
    deliveries_path: Path
    items_path: Path
    absent_columns: dict[str, tuple[str, ...]]  # optional canonical columns written as NULL
    extra_columns: dict[str, tuple[str, ...]]  # returned by a query but not canonical: ignored
    readers: dict[str, str] = field(default_factory=dict)  # how each query's rows were read


def day_files(data_dir: Path, day: date | str) -> tuple[Path, Path]:
    """Where a day's extraction lives: (deliveries.parquet, items.parquet)."""
    folder = partition_dir(data_dir, ASSET, day)
    return folder / DELIVERIES_FILE, folder / ITEMS_FILE


def extract_day(engine: sa.Engine, source: Source, day: date, data_dir: Path,
                chunk_rows: int = DEFAULT_CHUNK_ROWS) -> ExtractStats:
    """Write the day's deliveries and items to their Parquet files and return what was written."""
    started = time.perf_counter()
    deliveries_path, items_path = day_files(data_dir, day)
    isolation = _SNAPSHOT_DIALECTS.get(engine.dialect.name)
    with connection(engine) as conn, numerics_as_text(conn):
        if isolation:
            conn.execution_options(isolation_level=isolation)
        run = _QueryRun(engine, conn, source, window(day), chunk_rows)
        with conn.begin(), arrow_reader(engine) as run.arrow:

            def write_both(deliveries_tmp: Path) -> None:
                run.write(source.deliveries, JOB_SCHEMA, deliveries_tmp)
                # Items are renamed into place just before deliveries; both or neither change.
                atomic_write(items_path, partial(run.write, source.items, ITEM_SCHEMA))

            atomic_write(deliveries_path, write_both)

    return ExtractStats(
        day=day,
        deliveries=run.counts["deliveries"],
        items=run.counts["items"],
        bytes=deliveries_path.stat().st_size + items_path.stat().st_size,
        seconds=time.perf_counter() - started,
        deliveries_path=deliveries_path,
        items_path=items_path,
        absent_columns={n: m.absent_optional for n, m in run.matches.items()
                        if m.absent_optional},
        extra_columns={n: m.extra for n, m in run.matches.items() if m.extra},
        readers=run.readers,
    )


@contextmanager
def arrow_reader(engine: sa.Engine) -> Iterator[Any]:
    """An ADBC connection in a read transaction when the ERP is a SQLite file and the driver
    is installed (arrow_sqlite), else None: the rows then come through the DBAPI cursor."""
    with ExitStack() as stack:
        conn = None
        if arrow_sqlite.available(engine):
            with suppress(arrow_sqlite.ArrowReadFailed):
                conn = stack.enter_context(arrow_sqlite.read_transaction(engine))
        yield conn


@dataclass
class _QueryRun:
    """The source queries of one day, run on one connection inside one transaction."""

    engine: sa.Engine
    conn: sa.Connection
    source: Source
    params: dict
    chunk_rows: int
    arrow: Any = None  # an ADBC connection (arrow_sqlite), when the ERP can be read so
    matches: dict[str, ColumnMatch] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    readers: dict[str, str] = field(default_factory=dict)  # how each query's rows were read

    def write(self, query: SourceQuery, schema: pa.Schema, path: Path) -> None:
        """Stream the query's result into a Parquet file at `path`."""
        match = None
        if self.arrow is not None:
            sql, arguments = driver_sql(query, self.conn.dialect, self.params)
            try:
                with arrow_sqlite.batches(self.arrow, sql, arguments,
                                          self.chunk_rows) as (names, chunks):
                    match = self._convert(query, schema, path, names, chunks)
                self.readers[query.name] = arrow_sqlite.READER
            except arrow_sqlite.ArrowReadFailed as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                self.readers[query.name] = f"DBAPI cursor (the Arrow reader failed: {reason})"
        if match is None:
            with guarded(self.engine, query), fetched(self.conn, query, self.params,
                                                      self.chunk_rows) as (names, chunks):
                match = self._convert(query, schema, path, names, chunks)
            self.readers.setdefault(query.name, "DBAPI cursor")
        if match.missing_required:  # the result is closed: MariaDB allows one streaming result
            self._raise_missing()

    def _convert(self, query: SourceQuery, schema: pa.Schema, path: Path, names: list[str],
                 chunks: Iterable) -> ColumnMatch:
        """Write the chunks (driver tuples or record batches) to `path` in `schema`."""
        match = self.matches[query.name] = match_columns(query, names)
        if not match.missing_required:
            self.counts[query.name] = write_parquet(
                path, schema, chunks, partial(rows_to_batch, match=match, schema=schema))
        return match

    def _raise_missing(self) -> None:
        """MissingColumnsError naming the missing columns of both queries, not just the first."""
        day = self.params["window_start"]
        empty = {"window_start": day, "window_end": day}  # only the column names are wanted
        for query in self.source.queries():
            if query.name not in self.matches:
                with guarded(self.engine, query), fetched(self.conn, query, empty,
                                                          1) as (names, _):
                    self.matches[query.name] = match_columns(query, names)
        require_columns(self.matches, self.source)


@contextmanager
def fetched(conn: sa.Connection, query: SourceQuery, params: dict,
            chunk_rows: int) -> Iterator[tuple[list[str], Iterator[list[tuple]]]]:
    """The query's column names and its rows, as lists of at most `chunk_rows` driver tuples."""
    sql, arguments = driver_sql(query, conn.dialect, params)
    cursor = streaming_cursor(conn)
    try:
        cursor.execute(sql, arguments)
        rows = cursor.fetchmany(chunk_rows)
        # After the first fetch: a PostgreSQL server-side cursor has no description before.
        names = [column[0] for column in cursor.description]

        def chunks() -> Iterator[list[tuple]]:
            chunk = rows
            while chunk:
                yield chunk
                chunk = cursor.fetchmany(chunk_rows)

        yield names, chunks()
    finally:
        cursor.close()


def driver_sql(query: SourceQuery, dialect: sa.Dialect, params: dict) -> tuple[str, dict | list]:
    """The query in the dialect's SQL and paramstyle, with its bind values as SQLAlchemy would
    send them (SQLite, for one, gets a date as ISO text)."""
    compiled = query.statement().compile(dialect=dialect)
    values = {}
    for name, value in compiled.construct_params(params).items():
        process = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        values[name] = process(value) if process else value
    if dialect.positional:
        return str(compiled), [values[name] for name in compiled.positiontup]
    return str(compiled), values


def rows_to_batch(rows: Sequence[Sequence] | pa.RecordBatch, match: ColumnMatch,
                  schema: pa.Schema) -> pa.RecordBatch:
    """A chunk of result rows (driver tuples, or a record batch of the driver's types) as a
    record batch of `schema`, converted column by column."""
    columns = rows.columns if isinstance(rows, pa.RecordBatch) else columns_of(rows)
    arrays = []
    for column in schema:
        position = match.positions.get(column.name)
        if position is None:
            arrays.append(pa.nulls(len(rows), column.type))
        else:
            arrays.append(to_array(columns[position], column.type, column.name))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def write_parquet(path: Path, schema: pa.Schema, chunks: Iterable[Sequence[Sequence]],
                  to_batch: Callable[[Sequence[Sequence]], pa.RecordBatch]) -> int:
    """Convert each chunk of rows and append it to one Parquet file; returns the row count.

    One worker thread converts and writes a chunk while the database driver fetches the next
    (drivers and the Parquet writer release the GIL for much of their work), and at most two
    chunks are in memory at a time. With no chunks, the file is empty but has the schema.
    """
    rows = 0
    with pq.ParquetWriter(path, schema) as writer, ThreadPoolExecutor(1) as worker:

        def convert_and_write(chunk: Sequence[Sequence]) -> int:
            batch = to_batch(chunk)
            writer.write_batch(batch)
            return batch.num_rows

        pending: Future[int] | None = None
        for chunk in chunks:
            if pending is not None:
                rows += pending.result()
            pending = worker.submit(convert_and_write, chunk)
        if pending is not None:
            rows += pending.result()
    return rows
