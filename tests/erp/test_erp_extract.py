"""Extraction of a day into Parquet, on SQLite, PostgreSQL and MariaDB, values untouched."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from erp_seeded import DAY, seed_sample

from fleet_pipeline.erp.canonical import ITEM_SCHEMA, JOB_SCHEMA
from fleet_pipeline.erp.convert import ConversionError
from fleet_pipeline.erp.drivers import numerics_as_text
from fleet_pipeline.erp.extract import day_files, extract_day, fetched
from fleet_pipeline.erp.source import (
    ErpQueryError,
    MissingColumnsError,
    connect,
    load_source,
    window,
)


def _expected_deliveries(seeded, day):
    rows = seeded.data.rows
    addresses = {a["address_id"]: a for a in rows["addresses"]}
    customers = {c["customer_id"]: c for c in rows["customers"]}
    orders = {o["order_id"]: o for o in rows["sales_orders"]}
    drivers = {d["driver_id"]: d for d in rows["drivers"]}
    out = []
    for note in seeded.pending_notes(day):
        drop = addresses[note["deliver_to_address_id"]]
        pick = addresses.get(note["collect_from_address_id"])
        out.append({
            "reference_number": note["delivery_no"],
            "scheduled_date": note["ship_date"],
            "job_type_id": 3 if pick is None else 1,
            "schedule_type_id": 3 if note["planned_arrival"] is None else 2,
            "scheduled_delivery_ts": note["planned_arrival"],
            "delivery_driver_name": (drivers[note["driver_id"]]["display_name"]
                                     if note["driver_id"] else None),
            "labels": note["tags"],
            "pickup_customer_name": customers[pick["customer_id"]]["name"] if pick else None,
            "dropoff_customer_name": customers[orders[note["order_id"]]["customer_id"]]["name"],
            "dropoff_address_line_2": drop["locality"],
            "dropoff_postal_code": drop["postcode"],
            "dropoff_latitude": drop["geo_lat"],
            "dropoff_longitude": drop["geo_lon"],
            "dropoff_contact_number": drop["phone"],
            "dropoff_email": drop["email"],
            "dropoff_note": note["driver_instructions"],
            "dropoff_window_from": note["window_from"],
            "dropoff_duration_minutes": note["unload_minutes"],
            "delivery_driver_id": None,
        })
    return out


def test_seed_and_extract_every_database(any_db_url, tmp_path):
    seeded = seed_sample(any_db_url)
    engine = connect(any_db_url)
    stats = extract_day(engine, load_source(), DAY, tmp_path, chunk_rows=17)

    deliveries = pq.read_table(stats.deliveries_path)
    items = pq.read_table(stats.items_path)
    assert deliveries.schema == JOB_SCHEMA and items.schema == ITEM_SCHEMA
    expected = _expected_deliveries(seeded, DAY)
    assert stats.deliveries == deliveries.num_rows == len(expected) == 60
    got = deliveries.to_pylist()
    for want, row in zip(expected, got, strict=True):
        assert {k: row[k] for k in want} == want

    notes = {n["delivery_note_id"] for n in seeded.pending_notes(DAY)}
    lines = [line for line in seeded.data.rows["delivery_lines"]
             if line["delivery_note_id"] in notes]
    assert stats.items == items.num_rows == len(lines)
    assert items.column("quantity").to_pylist() == [line["qty"] for line in lines]
    assert items.column("line_number").to_pylist() == [line["line_no"] for line in lines]

    refs = deliveries.column("reference_number").to_pylist()
    kinds = {seeded.data.manifest[r] for r in refs}
    assert {"over_long_text", "non_ascii_name", "duplicate_reference",
            "missing_coordinates"} <= kinds
    assert len(refs) > len(set(refs))  # duplicates are extracted, not merged
    assert stats.bytes == (stats.deliveries_path.stat().st_size
                           + stats.items_path.stat().st_size)
    engine.dispose()


def test_empty_day_gives_empty_files_of_the_right_schema(any_db_url, tmp_path):
    seed_sample(any_db_url)
    engine = connect(any_db_url)
    stats = extract_day(engine, load_source(), date(2030, 1, 1), tmp_path)
    assert (stats.deliveries, stats.items) == (0, 0)
    assert pq.read_table(stats.deliveries_path).schema == JOB_SCHEMA
    assert pq.read_table(stats.items_path).num_rows == 0
    engine.dispose()


def test_rows_arrive_in_chunks_as_driver_tuples(any_db_url):
    seeded = seed_sample(any_db_url)
    engine = connect(any_db_url)
    query = load_source().items
    with engine.connect() as conn, numerics_as_text(conn), conn.begin(), fetched(
            conn, query, window(DAY), chunk_rows=50) as (names, chunks):
        sizes = [len(chunk) for chunk in chunks]
        assert names[:2] == ["reference_number", "line_number"]
    notes = {n["delivery_note_id"] for n in seeded.pending_notes(DAY)}
    lines = sum(1 for line in seeded.data.rows["delivery_lines"]
                if line["delivery_note_id"] in notes)
    assert sum(sizes) == lines > 100
    assert sizes[:-1] == [50] * (len(sizes) - 1) and 0 < sizes[-1] <= 50
    engine.dispose()


def test_postgresql_rows_stay_on_the_server_until_fetched(pg_url):
    seed_sample(pg_url)
    engine = connect(pg_url)
    with engine.connect() as conn, conn.begin(), fetched(
            conn, load_source().deliveries, window(DAY), chunk_rows=10) as (_, chunks):
        first = next(chunks)
        open_cursors = conn.execute(sa.text("SELECT name FROM pg_cursors")).scalars().all()
        assert len(first) == 10
        assert [name[:10] for name in open_cursors] == ["fleet_erp_"]
        assert sum(len(chunk) for chunk in chunks) == 50
    engine.dispose()


def test_files_land_in_the_day_partition_folder(seeded_sqlite, tmp_path):
    stats = extract_day(connect(seeded_sqlite.url), load_source(), DAY, tmp_path)
    assert (stats.deliveries_path, stats.items_path) == day_files(tmp_path, "2026-12-04")
    assert stats.deliveries_path.parent == tmp_path / "erp_deliveries" / "date=2026-12-04"
    assert sorted(p.name for p in stats.deliveries_path.parent.iterdir()) == [
        "deliveries.parquet", "items.parquet"]


def test_a_failed_extraction_leaves_the_previous_files_intact(seeded_sqlite, tmp_path):
    engine = connect(seeded_sqlite.url)
    first = extract_day(engine, load_source(), DAY, tmp_path)
    before = {p: p.read_bytes() for p in (first.deliveries_path, first.items_path)}
    broken = tmp_path / "items.sql"
    broken.write_text("SELECT * FROM delivery_lines JOIN nowhere ON 1 = 1 "
                      "WHERE :window_start < :window_end")
    with pytest.raises(ErpQueryError):
        extract_day(engine, load_source(items_query=broken), DAY, tmp_path)
    assert {p: p.read_bytes() for p in before} == before
    assert sorted(p.name for p in first.deliveries_path.parent.iterdir()) == [
        "deliveries.parquet", "items.parquet"]


def test_missing_columns_stop_the_extraction_before_any_file(any_db_url, tmp_path):
    seed_sample(any_db_url)
    engine = connect(any_db_url)
    deliveries = tmp_path / "deliveries.sql"
    deliveries.write_text("SELECT delivery_no AS reference_number, ship_date AS scheduled_date "
                          "FROM delivery_notes "
                          "WHERE ship_date >= :window_start AND ship_date < :window_end")
    items = tmp_path / "items.sql"
    items.write_text("SELECT delivery_no AS reference_number FROM delivery_notes "
                     "WHERE ship_date >= :window_start AND ship_date < :window_end")
    # The deliveries query has rows, still unread when the items query is checked.
    with pytest.raises(MissingColumnsError) as raised:
        extract_day(engine, load_source(deliveries, items), DAY, tmp_path, chunk_rows=5)
    assert raised.value.missing == {
        "deliveries": ("job_type_id", "schedule_type_id", "dropoff_customer_name",
                       "dropoff_address_line_1", "dropoff_country_code"),
        "items": ("line_number", "description", "quantity")}
    assert not (tmp_path / "erp_deliveries" / "date=2026-12-04" / "deliveries.parquet").exists()
    engine.dispose()


def test_a_query_failing_while_rows_are_fetched_fails_the_day_cleanly(pg_url, tmp_path):
    seed_sample(pg_url)
    engine = connect(pg_url)
    items = tmp_path / "items.sql"
    items.write_text(  # line numbers are 10, 20, ...: the second line of a note divides by 0
        "SELECT dn.delivery_no AS reference_number, 1 / (dl.line_no - 20) AS line_number, "
        "dl.description, dl.qty AS quantity FROM delivery_lines dl JOIN delivery_notes dn "
        "ON dn.delivery_note_id = dl.delivery_note_id "
        "WHERE dn.ship_date >= :window_start AND dn.ship_date < :window_end "
        "ORDER BY dn.delivery_note_id, dl.line_no")
    with pytest.raises(ErpQueryError, match="items query .* division by zero"):
        extract_day(engine, load_source(items_query=items), DAY, tmp_path, chunk_rows=1)
    folder = day_files(tmp_path, DAY)[0].parent
    assert not folder.exists() or list(folder.iterdir()) == []  # no file, no temporary
    # The connection went back to the pool usable.
    assert extract_day(engine, load_source(), DAY, tmp_path).deliveries == 60
    engine.dispose()


ODD_JOBS = sa.Table(
    "odd_jobs", sa.MetaData(),
    sa.Column("ref", sa.String(40)), sa.Column("day", sa.Date), sa.Column("jt", sa.String(5)),
    sa.Column("st", sa.Integer), sa.Column("ts", sa.DateTime), sa.Column("cust", sa.Text),
    sa.Column("street", sa.Text), sa.Column("country", sa.String(2)),
    sa.Column("lat", sa.Numeric(9, 6)), sa.Column("phone", sa.BigInteger),
    sa.Column("qty", sa.String(10)), sa.Column("zip", sa.Integer),
    mysql_charset="utf8mb4",
)


def test_odd_values_pass_through_and_numbers_as_text_convert_losslessly(any_db_url, tmp_path):
    engine = sa.create_engine(any_db_url)
    long_text = "Gate 4 — ring twice 🚚 " * 500
    odd = [
        {"ref": "ODD-1", "day": DAY, "jt": "3", "st": 3, "ts": None, "cust": long_text,
         "street": "  12 Main Rd  ", "country": "ZA", "lat": Decimal("-33.924900"),
         "phone": 27821234567, "qty": "2.5", "zip": 8001},
        {"ref": "ODD-2", "day": DAY, "jt": "1", "st": 2, "ts": datetime(2026, 12, 4, 9, 5),
         "cust": "北京烤鸭 Takeaway", "street": "", "country": "ZA", "lat": None,
         "phone": None, "qty": "0", "zip": None},
        {"ref": "ODD-3", "day": DAY + timedelta(days=1), "jt": "3", "st": 3, "ts": None,
         "cust": "next day", "street": "x", "country": "ZA", "lat": None, "phone": None,
         "qty": "1", "zip": None},
    ]
    ODD_JOBS.create(engine)
    with engine.begin() as conn:
        conn.execute(ODD_JOBS.insert(), odd)
    where = "WHERE day >= :window_start AND day < :window_end ORDER BY ref"
    deliveries = tmp_path / "d.sql"
    deliveries.write_text(
        "SELECT ref AS reference_number, day AS scheduled_date, jt AS job_type_id, "
        "st AS schedule_type_id, ts AS scheduled_delivery_ts, cust AS dropoff_customer_name, "
        "street AS dropoff_address_line_1, country AS dropoff_country_code, "
        "lat AS dropoff_latitude, phone AS dropoff_contact_number, zip AS dropoff_postal_code, "
        # A percent sign: the SQL goes to drivers whose parameters are written %s.
        f"'100% Zoë' AS delivery_driver_name, 'x' AS erp_only FROM odd_jobs {where}")
    items = tmp_path / "i.sql"
    items.write_text("SELECT ref AS reference_number, st AS line_number, "
                     f"cust AS description, qty AS quantity FROM odd_jobs {where}")

    stats = extract_day(connect(any_db_url), load_source(deliveries, items), DAY, tmp_path)

    rows = pq.read_table(stats.deliveries_path).to_pylist()
    assert [r["reference_number"] for r in rows] == ["ODD-1", "ODD-2"]
    assert [r["job_type_id"] for r in rows] == [3, 1]
    assert rows[0]["dropoff_customer_name"] == long_text
    assert rows[1]["dropoff_customer_name"] == "北京烤鸭 Takeaway"
    assert rows[0]["dropoff_address_line_1"] == "  12 Main Rd  "
    assert rows[1]["dropoff_address_line_1"] == ""
    assert rows[0]["dropoff_latitude"] == -33.9249 and rows[1]["dropoff_latitude"] is None
    assert rows[0]["dropoff_contact_number"] == "27821234567"
    assert rows[0]["dropoff_postal_code"] == "8001"
    assert rows[1]["scheduled_delivery_ts"] == datetime(2026, 12, 4, 9, 5)
    assert rows[0]["delivery_driver_name"] == "100% Zoë"
    assert rows[0]["labels"] is None  # optional and not returned: NULL
    assert pq.read_table(stats.items_path).column("quantity").to_pylist() == [2.5, 0.0]
    assert stats.extra_columns == {"deliveries": ("erp_only",)}
    engine.dispose()


def test_a_value_that_cannot_be_converted_fails_the_day_and_names_the_column(
        seeded_sqlite, tmp_path):
    items = tmp_path / "i.sql"
    items.write_text(
        "SELECT dn.delivery_no AS reference_number, dl.line_no AS line_number, "
        "dl.description, dl.uom AS quantity FROM delivery_lines dl JOIN delivery_notes dn "
        "ON dn.delivery_note_id = dl.delivery_note_id "
        "WHERE dn.ship_date >= :window_start AND dn.ship_date < :window_end")
    with pytest.raises(ConversionError, match="Column quantity"):
        extract_day(connect(seeded_sqlite.url), load_source(items_query=items), DAY, tmp_path)
