"""A SQLite ERP read straight into Arrow (ADBC) writes the files the DBAPI cursor writes."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from erp_seeded import DAY

from fleet_pipeline.erp import arrow_sqlite
from fleet_pipeline.erp.extract import extract_day
from fleet_pipeline.erp.source import connect, load_source


def _extract_both_ways(url, source, tmp_path, monkeypatch, chunk_rows=50_000):
    """(stats, tables) read by the Arrow reader, then by the DBAPI cursor."""
    outcomes = []
    for way in ("arrow", "dbapi"):
        if way == "dbapi":
            monkeypatch.setattr(arrow_sqlite, "available", lambda engine: False)
        stats = extract_day(connect(url), source, DAY, tmp_path / way, chunk_rows=chunk_rows)
        outcomes.append((stats, [pq.read_table(stats.deliveries_path),
                                 pq.read_table(stats.items_path)]))
    return outcomes


def test_the_sample_erp_read_into_arrow_gives_the_same_files(seeded_sqlite, tmp_path,
                                                             monkeypatch):
    (arrow_stats, arrow_tables), (dbapi_stats, dbapi_tables) = _extract_both_ways(
        seeded_sqlite.url, load_source(), tmp_path, monkeypatch)

    assert arrow_stats.readers == {"deliveries": arrow_sqlite.READER,
                                   "items": arrow_sqlite.READER}
    assert dbapi_stats.readers == {"deliveries": "DBAPI cursor", "items": "DBAPI cursor"}
    assert arrow_stats.deliveries == dbapi_stats.deliveries > 0
    assert arrow_stats.items == dbapi_stats.items > 0
    for arrow_table, dbapi_table in zip(arrow_tables, dbapi_tables, strict=True):
        assert arrow_table.schema.equals(dbapi_table.schema)
        assert arrow_table.equals(dbapi_table)


def test_a_value_of_another_type_after_the_first_batch_is_read_by_the_dbapi_cursor(
        sqlite_url, tmp_path, monkeypatch):
    """The driver types a column from the first batch; a later value of another type makes it
    fail mid-stream, and the query is read again through the DBAPI cursor, from the start."""
    engine = sa.create_engine(sqlite_url)
    day, other_day = DAY.isoformat(), date(2026, 1, 1).isoformat()
    rows = [(f"D-{i}", day, 3, None, 1) for i in range(4)]
    rows += [("D-4", day, "1", "8001", 2.5), ("D-5", other_day, 3, 1, 1)]
    with engine.begin() as conn:
        # Columns without a declared type: SQLite keeps each value as it was given.
        conn.exec_driver_sql("CREATE TABLE drifting (ref TEXT, day TEXT, jt, zip, qty)")
        conn.exec_driver_sql("INSERT INTO drifting VALUES (?, ?, ?, ?, ?)", rows)
    engine.dispose()
    where = "WHERE day >= :window_start AND day < :window_end ORDER BY ref"
    deliveries = tmp_path / "d.sql"
    deliveries.write_text(
        "SELECT ref AS reference_number, day AS scheduled_date, jt AS job_type_id, "
        "3 AS schedule_type_id, 'Shop' AS dropoff_customer_name, "
        "'Main Rd' AS dropoff_address_line_1, 'ZA' AS dropoff_country_code, "
        f"zip AS dropoff_postal_code FROM drifting {where}")
    items = tmp_path / "i.sql"
    items.write_text("SELECT ref AS reference_number, 1 AS line_number, 'Box' AS description, "
                     f"qty AS quantity FROM drifting {where}")

    (arrow_stats, arrow_tables), (_, dbapi_tables) = _extract_both_ways(
        sqlite_url, load_source(deliveries, items), tmp_path, monkeypatch, chunk_rows=2)

    assert arrow_stats.readers["deliveries"].startswith(
        "DBAPI cursor (the Arrow reader failed: ")
    assert arrow_stats.readers["items"].startswith("DBAPI cursor (the Arrow reader failed: ")
    assert arrow_stats.deliveries == 5
    for arrow_table, dbapi_table in zip(arrow_tables, dbapi_tables, strict=True):
        assert arrow_table.equals(dbapi_table)
    delivered = arrow_tables[0].to_pydict()
    assert delivered["job_type_id"] == [3, 3, 3, 3, 1]
    assert delivered["dropoff_postal_code"] == [None, None, None, None, "8001"]
    assert arrow_tables[1].column("quantity").to_pylist() == [1.0, 1.0, 1.0, 1.0, 2.5]


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_database_is_read_by_the_dbapi_cursor(url):
    assert not arrow_sqlite.available(sa.create_engine(url))


def test_the_arrow_reader_never_writes_to_the_erp(seeded_sqlite):
    engine = sa.create_engine(seeded_sqlite.url)
    with (arrow_sqlite.read_transaction(engine) as conn, conn.cursor() as cursor,
          pytest.raises(Exception, match="readonly")):
        cursor.execute("DELETE FROM delivery_notes")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM delivery_notes")) > 0
    engine.dispose()


def test_a_file_the_driver_cannot_open_is_read_by_the_dbapi_cursor(seeded_sqlite, tmp_path,
                                                                  monkeypatch):
    import adbc_driver_sqlite.dbapi as adbc

    def refuse(uri):
        raise adbc.OperationalError("unable to open database file")

    monkeypatch.setattr(adbc, "connect", refuse)
    stats = extract_day(connect(seeded_sqlite.url), load_source(), DAY, tmp_path)
    assert stats.readers == {"deliveries": "DBAPI cursor", "items": "DBAPI cursor"}
    assert stats.deliveries > 0 and stats.items > 0
