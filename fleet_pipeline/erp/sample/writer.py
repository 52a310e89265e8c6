"""Create the sample ERP's tables on any SQLAlchemy URL and fill them from the generator."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from fleet_pipeline.erp.sample.generator import DEFAULT_DEFECT_RATE, SampleData, iter_batches
from fleet_pipeline.erp.sample.schema import TABLES, metadata
from fleet_pipeline.erp.source import connect


@dataclass
class SeedReport:
    rows: Counter = field(default_factory=Counter)  # table -> rows inserted
    defects: Counter = field(default_factory=Counter)  # defect kind -> delivery numbers
    pending: int = 0  # pending delivery notes, the ones the pipeline sends


def recreate_tables(engine: sa.Engine) -> None:
    """Drop the sample tables (only those) and create them empty: re-seeding replaces them."""
    metadata.drop_all(engine)
    metadata.create_all(engine)


def analyze_tables(engine: sa.Engine) -> None:
    """Refresh the planner's statistics, as a live ERP has them; after a bulk load the planner
    would otherwise guess a handful of rows and pick nested loops over a million."""
    dialect = engine.dialect.name
    with engine.begin() as conn:
        if dialect == "sqlite":
            conn.exec_driver_sql("ANALYZE")
            return
        for table in TABLES:
            name = engine.dialect.identifier_preparer.format_table(table)
            conn.exec_driver_sql(f"ANALYZE TABLE {name}" if dialect in ("mysql", "mariadb")
                                 else f"ANALYZE {name}")


def insert_batch(conn: sa.Connection, batch: SampleData) -> None:
    for table in TABLES:
        rows = batch.rows.get(table.name)
        if rows:
            # A list of dicts is an executemany; drivers batch it into multi-row INSERTs.
            conn.execute(table.insert(), rows)


def seed(url: str, days: int, per_day: int, seed: int, start_date: date,
         defect_rate: float = DEFAULT_DEFECT_RATE,
         progress: Callable[[int], None] | None = None) -> SeedReport:
    """Replace the sample tables at `url` with generated rows, one transaction per batch.

    `progress` is called with the number of pending deliveries each batch added.
    """
    report = SeedReport()
    engine = connect(url)
    try:
        recreate_tables(engine)
        for batch in iter_batches(days, per_day, seed, defect_rate, start_date):
            with engine.begin() as conn:
                insert_batch(conn, batch)
            for table, rows in batch.rows.items():
                report.rows[table] += len(rows)
            report.defects.update(batch.defect_counts())
            pending = sum(1 for note in batch.rows.get("delivery_notes", ())
                          if note["status"] == "pending")
            report.pending += pending
            if progress is not None:
                progress(pending)
        analyze_tables(engine)
    finally:
        engine.dispose()
    return report
