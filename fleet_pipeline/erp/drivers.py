"""Driver settings for a fast, exact extraction, applied to the extraction's own connection only.

psycopg2 builds a Decimal object for every NUMERIC value, which costs more than fetching the row;
the canonical columns then want a float (or the text). Receiving NUMERIC as the exact text the
server sends lets Arrow parse it in bulk, correctly rounded, and leaves text columns with exactly
the digits the ERP holds. Other drivers are left as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


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
