"""The worked example of docs/erp-mapping.md: a web shop's schema, unlike the sample ERP's,
mapped by the query files in docs/examples/second_erp/ and extracted on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from fleet_pipeline.erp.canonical import ITEM_SCHEMA, JOB_SCHEMA
from fleet_pipeline.erp.extract import extract_day
from fleet_pipeline.erp.source import check_source, connect, load_source, strip_comments
from fleet_pipeline.validation.split import split

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "second_erp"
DAY = date(2026, 12, 4)
NEXT_DAY = DAY + timedelta(days=1)

CUSTOMERS = [
    {"id": 1, "company": "Karoo Coffee Roasters", "first_name": "Thandi", "surname": "Nkosi",
     "mobile": "+27821234567", "email_address": "orders@karoo.example"},
    {"id": 2, "company": None, "first_name": "Pieter", "surname": "van Wyk",
     "mobile": "0811234567", "email_address": None},
    {"id": 3, "company": None, "first_name": "Zoë", "surname": "Ndlovu", "mobile": None,
     "email_address": None},
]
ADDRESSES = [
    {"id": 10, "customer_id": 1, "house_and_street": "12 Long St", "suburb": "Gardens",
     "city": "Cape Town", "zip": "8001", "country_iso3": "ZAF", "lat": "-33.925000",
     "lng": "18.418000"},
    {"id": 11, "customer_id": 2, "house_and_street": "5 Independence Ave", "suburb": None,
     "city": "Windhoek", "zip": "10005", "country_iso3": "NAM", "lat": None, "lng": None},
    {"id": 12, "customer_id": 3, "house_and_street": "1 Torstrasse", "suburb": "Mitte",
     "city": "Berlin", "zip": "10115", "country_iso3": "DEU", "lat": None, "lng": None},
]
ORDERS = [
    {"id": 100, "order_ref": "WEB-100100", "customer_id": 1, "ship_to_id": 10, "deliver_on": DAY,
     "slot_from": "08:00", "slot_to": "12:00", "fulfilment_state": "packed",
     "courier": "Thandi Mokoena", "gift_message": "Happy birthday!", "sales_channel": "web"},
    {"id": 101, "order_ref": "WEB-100101", "customer_id": 2, "ship_to_id": 11, "deliver_on": DAY,
     "slot_from": None, "slot_to": None, "fulfilment_state": "packed", "courier": None,
     "gift_message": None, "sales_channel": "app"},
    {"id": 102, "order_ref": "WEB-100102", "customer_id": 3, "ship_to_id": 12, "deliver_on": DAY,
     "slot_from": "14:00", "slot_to": "17:00", "fulfilment_state": "packed", "courier": None,
     "gift_message": None, "sales_channel": "marketplace"},
    # Not packed yet, and packed for another day: neither is extracted for DAY.
    {"id": 103, "order_ref": "WEB-100103", "customer_id": 1, "ship_to_id": 10, "deliver_on": DAY,
     "slot_from": None, "slot_to": None, "fulfilment_state": "new", "courier": None,
     "gift_message": None, "sales_channel": "web"},
    {"id": 104, "order_ref": "WEB-100104", "customer_id": 2, "ship_to_id": 11,
     "deliver_on": NEXT_DAY, "slot_from": None, "slot_to": None, "fulfilment_state": "packed",
     "courier": None, "gift_message": None, "sales_channel": "web"},
]
ITEMS = [
    {"id": 1000, "order_id": 100, "line_pos": 1, "product_code": "COF-1KG",
     "product_name": "Coffee beans 1 kg", "units": 3, "unit_weight_g": 1000},
    {"id": 1001, "order_id": 100, "line_pos": 2, "product_code": "MUG-01", "product_name": "Mug",
     "units": 2, "unit_weight_g": 350},
    {"id": 1002, "order_id": 101, "line_pos": 1, "product_code": None,
     "product_name": "Gift card", "units": 1, "unit_weight_g": None},
    {"id": 1003, "order_id": 102, "line_pos": 1, "product_code": "TEA-50",
     "product_name": "Rooibos 50 bags", "units": 4, "unit_weight_g": 100},
    {"id": 1004, "order_id": 103, "line_pos": 1, "product_code": "MUG-01", "product_name": "Mug",
     "units": 1, "unit_weight_g": 350},
    {"id": 1005, "order_id": 104, "line_pos": 1, "product_code": "MUG-01", "product_name": "Mug",
     "units": 1, "unit_weight_g": 350},
]

EXPECTED_DELIVERIES = [
    {"reference_number": "WEB-100100", "scheduled_date": DAY, "job_type_id": 3,
     "schedule_type_id": 3, "scheduled_delivery_ts": None,
     "delivery_driver_name": "Thandi Mokoena", "labels": "web",
     "dropoff_customer_name": "Karoo Coffee Roasters", "dropoff_address_line_1": "12 Long St",
     "dropoff_address_line_2": "Gardens, Cape Town", "dropoff_postal_code": "8001",
     "dropoff_country_code": "ZA", "dropoff_latitude": -33.925, "dropoff_longitude": 18.418,
     "dropoff_contact_name": "Thandi Nkosi", "dropoff_contact_number": "+27821234567",
     "dropoff_email": "orders@karoo.example", "dropoff_note": "Happy birthday!",
     "dropoff_window_from": "08:00", "dropoff_window_to": "12:00"},
    {"reference_number": "WEB-100101", "scheduled_date": DAY, "job_type_id": 3,
     "schedule_type_id": 3, "scheduled_delivery_ts": None, "delivery_driver_name": None,
     "labels": "app", "dropoff_customer_name": "Pieter van Wyk",
     "dropoff_address_line_1": "5 Independence Ave", "dropoff_address_line_2": "Windhoek",
     "dropoff_postal_code": "10005", "dropoff_country_code": "NA", "dropoff_latitude": None,
     "dropoff_longitude": None, "dropoff_contact_name": "Pieter van Wyk",
     "dropoff_contact_number": "0811234567", "dropoff_email": None, "dropoff_note": None,
     "dropoff_window_from": None, "dropoff_window_to": None},
    {"reference_number": "WEB-100102", "scheduled_date": DAY, "job_type_id": 3,
     "schedule_type_id": 3, "scheduled_delivery_ts": None, "delivery_driver_name": None,
     "labels": "marketplace", "dropoff_customer_name": "Zoë Ndlovu",
     "dropoff_address_line_1": "1 Torstrasse", "dropoff_address_line_2": "Mitte, Berlin",
     "dropoff_postal_code": "10115", "dropoff_country_code": "DEU", "dropoff_latitude": None,
     "dropoff_longitude": None, "dropoff_contact_name": "Zoë Ndlovu",
     "dropoff_contact_number": None, "dropoff_email": None, "dropoff_note": None,
     "dropoff_window_from": "14:00", "dropoff_window_to": "17:00"},
]
EXPECTED_ITEMS = [
    {"reference_number": "WEB-100100", "line_number": 1, "description": "Coffee beans 1 kg",
     "quantity": 3.0, "weight_kg": 3.0, "item_type_id": 1, "sku": "COF-1KG"},
    {"reference_number": "WEB-100100", "line_number": 2, "description": "Mug", "quantity": 2.0,
     "weight_kg": 0.7, "item_type_id": 1, "sku": "MUG-01"},
    {"reference_number": "WEB-100101", "line_number": 1, "description": "Gift card",
     "quantity": 1.0, "weight_kg": None, "item_type_id": 1, "sku": None},
    {"reference_number": "WEB-100102", "line_number": 1, "description": "Rooibos 50 bags",
     "quantity": 4.0, "weight_kg": 0.4, "item_type_id": 1, "sku": "TEA-50"},
]


def create_web_shop(url: str) -> None:
    """The example schema from its own file, filled with the rows above."""
    engine = connect(url)
    statements = [s.strip() for s in strip_comments((EXAMPLE / "schema.sql").read_text())
                  .split(";") if s.strip()]
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)
            for table, rows in (("customers", CUSTOMERS), ("addresses", ADDRESSES),
                                ("orders", ORDERS), ("order_items", ITEMS)):
                columns = list(rows[0])
                conn.execute(sa.text(f"INSERT INTO {table} ({', '.join(columns)}) VALUES "
                                     f"({', '.join(':' + c for c in columns)})"), rows)
    finally:
        engine.dispose()


def approx(rows: list[dict]) -> list[dict]:
    """Rows with floats rounded: 3 * 350 / 1000.0 need not be 0.7 to the last bit."""
    return [{k: round(v, 9) if isinstance(v, float) else v for k, v in row.items()}
            for row in rows]


@pytest.fixture(params=["sqlite_url", "pg_url"])
def web_shop_url(request) -> str:
    url = request.getfixturevalue(request.param)
    create_web_shop(url)
    return url


def test_the_example_queries_return_every_required_column(web_shop_url):
    source = load_source(EXAMPLE / "deliveries.sql", EXAMPLE / "items.sql")
    engine = connect(web_shop_url)
    try:
        matches = check_source(engine, source)
    finally:
        engine.dispose()
    assert matches["deliveries"].missing_required == ()
    assert matches["items"].missing_required == ()
    assert "delivery_driver_id" in matches["deliveries"].absent_optional
    assert matches["deliveries"].extra == matches["items"].extra == ()


def test_the_web_shop_is_extracted_in_canonical_rows(web_shop_url, tmp_path):
    source = load_source(EXAMPLE / "deliveries.sql", EXAMPLE / "items.sql")
    engine = connect(web_shop_url)
    try:
        stats = extract_day(engine, source, DAY, tmp_path)
    finally:
        engine.dispose()

    deliveries = pq.read_table(stats.deliveries_path)
    items = pq.read_table(stats.items_path)
    assert deliveries.schema.equals(JOB_SCHEMA) and items.schema.equals(ITEM_SCHEMA)
    rows = deliveries.to_pylist()
    assert approx([{k: row[k] for k in EXPECTED_DELIVERIES[0]} for row in rows]) == \
        approx(EXPECTED_DELIVERIES)
    # What the web shop has no column for arrives as NULL: a single-stop job has no pickup.
    assert all(row[name] is None for row in rows for name in row if name.startswith("pickup_"))
    assert approx([{k: row[k] for k in EXPECTED_ITEMS[0]} for row in items.to_pylist()]) == \
        approx(EXPECTED_ITEMS)

    # Validation judges the values the mapping passed through: DEU is not an alpha-2 code.
    result = split(deliveries.to_pandas(), items.to_pandas(), datetime(2026, 12, 3, tzinfo=UTC))
    assert sorted(result.valid_deliveries["reference_number"]) == ["WEB-100100", "WEB-100101"]
    assert list(result.rejected_references) == ["WEB-100102"]
    failed = result.failures[result.failures["reference_number"] == "WEB-100102"]
    assert set(failed["column"]) == {"dropoff_country_code"}


@pytest.mark.parametrize("name", ["deliveries.sql", "items.sql"])
def test_the_doc_shows_the_example_queries_as_they_are(name):
    doc = (EXAMPLE.parents[1] / "erp-mapping.md").read_text(encoding="utf-8")
    shown = [" ".join(block.split()) for block in doc.split("```sql\n")[1:]]
    query = " ".join(strip_comments((EXAMPLE / name).read_text(encoding="utf-8")).split())
    assert any(block.startswith(query) for block in shown), f"{name} differs from the doc"
