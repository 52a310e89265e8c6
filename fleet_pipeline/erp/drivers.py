"""Driver settings for a fast, exact extraction, applied to the extraction's own connection only.

The extraction reads rows straight from a DBAPI cursor (plain tuples, no SQLAlchemy Row per
row), so the one thing that differs between drivers, how to ask for a server-side cursor, is
here; everything else is plain DBAPI.

psycopg2 builds a Decimal object for every NUMERIC value, which costs more than fetching the row;
the canonical columns then want a float (or the text). Receiving NUMERIC as the exact text the
server sends lets Arrow parse it in bulk, correctly rounded, and leaves text columns with exactly
the digits the ERP holds. Other drivers are left as they are.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa


def streaming_cursor(conn: sa.Connection) -> Any:
    """A DBAPI cursor on `conn` that leaves the result on the server until it is fetched.

    Without one (SQLite, which steps through its result as it is fetched anyway, or a driver
    not named here) a plain cursor; `fetchmany` then still hands the rows over chunk by chunk.
    """
    dbapi = conn.connection.dbapi_connection
    driver = conn.dialect.driver
    if driver in ("psycopg2", "psycopg"):
        return dbapi.cursor(name=f"fleet_erp_{uuid.uuid4().hex}")  # DECLARE ... CURSOR
    if driver in ("pymysql", "mysqldb"):
        return dbapi.cursor(conn.dialect.loaded_dbapi.cursors.SSCursor)
    if driver == "mariadbconnector":
        return dbapi.cursor(buffered=False)
    return dbapi.cursor()


@contextmanager
def numerics_as_text(conn: sa.Connection) -> Iterator[None]:
    """While open, NUMERIC values on this psycopg2 connection arrive as their exact text."""
    if conn.dialect.driver != "psycopg2":
        yield
        return
    import psycopg2.extensions as ext

    dbapi = conn.connection.driver_connection
    as_text = ext.new_type(ext.DECIMAL.values, "NUMERIC_AS_TEXT", lambda value, _cursor: value)
    ext.register_type(as_text, dbapi)
    try:
        yield
    finally:
        # The connection goes back to the pool: give it back its usual Decimal values.
        ext.register_type(ext.DECIMAL, dbapi)
