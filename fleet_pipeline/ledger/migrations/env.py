"""Alembic environment of the pipeline database: runs on the connection migrate.py hands over."""

from __future__ import annotations

from alembic import context

from fleet_pipeline.ledger.migrate import VERSION_TABLE
from fleet_pipeline.ledger.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None or context.is_offline_mode():
    raise RuntimeError("run migrations through fleet_pipeline.ledger.migrate (a live connection)")

is_sqlite = connection.dialect.name == "sqlite"
context.configure(
    connection=connection,
    target_metadata=metadata,
    version_table=VERSION_TABLE,
    compare_type=True,
    # SQLite cannot ALTER most things: later revisions rebuild tables in batch mode. With the
    # engine's explicit BEGIN its DDL is transactional, so a failed upgrade leaves no half schema.
    render_as_batch=is_sqlite,
    transactional_ddl=True,
)

with context.begin_transaction():
    context.run_migrations()
