"""A SQLite ERP read straight into Arrow, with the ADBC SQLite driver.

Python's sqlite3 module builds a Python object for every value of the result and the extraction
then turns those objects back into Arrow columns: at a million deliveries that is about two
thirds of the extraction's time. The ADBC driver steps through the same query in C and fills
Arrow record batches directly. Both queries run on one read-only connection inside one read
transaction, so the items and the deliveries come from the same snapshot of the file.

The driver types a column from the first batch of the result (a column of integers is int64,
text is string, a mix of both in that batch is string). A later batch holding a value of
another type is an error of the driver, not of the data: the extraction then reads that query
again through the DBAPI cursor (`ArrowReadFailed`), which takes values of any type. Values are
converted to the canonical types by the same rules either way (convert.to_array), so the
Parquet files are the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib.util import find_spec
from pathlib import Path
from typing import Any

import pyarrow as pa
import sqlalchemy as sa

# SQLite's page cache for the extraction's connection: about 1.3 s less at a million
# deliveries of the sample ERP, for 128 MB more in the extraction's process.
CACHE_KIB = 128 * 1024
READER = "ADBC SQLite driver, straight into Arrow"


class ArrowReadFailed(Exception):
    """The driver could not read the query's result into Arrow; the DBAPI path reads it."""


def available(engine: sa.Engine) -> bool:
    """The ERP is a SQLite file and the ADBC SQLite driver is installed."""
    database = engine.url.database
    return (engine.dialect.name == "sqlite" and bool(database) and database != ":memory:"
            and not database.startswith("file:") and Path(database).is_file()
            and find_spec("adbc_driver_sqlite") is not None)


@contextmanager
def read_transaction(engine: sa.Engine) -> Iterator[Any]:
    """An ADBC connection to the engine's SQLite file, read-only, in one read transaction.
    ArrowReadFailed when the driver cannot open it: the DBAPI cursor reads the file then."""
    import adbc_driver_sqlite.dbapi as adbc

    uri = f"file:{Path(engine.url.database).resolve()}?mode=ro"
    try:
        conn = adbc.connect(uri)  # autocommit off: the queries share one transaction
    except Exception as exc:
        raise ArrowReadFailed(str(exc)) from exc
    with conn:
        try:
            with conn.cursor() as cursor:
                # The queries look up every delivery's addresses, customer and driver by key:
                # in SQLite's default 2 MB page cache most lookups go back to the file.
                cursor.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        except Exception as exc:
            raise ArrowReadFailed(str(exc)) from exc
        try:
            yield conn
        finally:
            conn.rollback()


@contextmanager
def batches(conn: Any, sql: str, arguments: list, chunk_rows: int
            ) -> Iterator[tuple[list[str], Iterator[pa.RecordBatch]]]:
    """The query's column names and its result as record batches of at most `chunk_rows`."""
    cursor = conn.cursor()
    try:
        cursor.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(chunk_rows)})
        try:
            cursor.execute(sql, arguments)
            reader = cursor.fetch_record_batch()
        except Exception as exc:
            raise ArrowReadFailed(str(exc)) from exc

        def read() -> Iterator[pa.RecordBatch]:
            while True:
                try:
                    batch = reader.read_next_batch()
                except StopIteration:
                    return
                except Exception as exc:  # a value of another type than its column's
                    raise ArrowReadFailed(str(exc)) from exc
                if batch.num_rows:
                    yield batch

        yield list(reader.schema.names), read()
    finally:
        cursor.close()
