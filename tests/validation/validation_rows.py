"""Canonical rows for the validation tests, typed exactly as the extraction's Parquet reads back."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pyarrow as pa

from fleet_pipeline.erp.canonical import (
    ITEM_COLUMN_NAMES,
    ITEM_SCHEMA,
    JOB_COLUMN_NAMES,
    JOB_SCHEMA,
)

DAY = date(2026, 3, 10)
# The run's clock: the evening before the delivery day, account local time.
NOW = datetime(2026, 3, 9, 18, 0, 0)


def delivery(reference: str = "SO-1001", **overrides) -> dict:
    """A valid single-stop, scheduled delivery in Johannesburg; override any canonical column."""
    row = dict.fromkeys(JOB_COLUMN_NAMES)
    row.update(
        reference_number=reference,
        scheduled_date=DAY,
        job_type_id=3,
        schedule_type_id=2,
        scheduled_delivery_ts=datetime(2026, 3, 10, 9, 30),
        labels="fragile, express",
        dropoff_customer_name="Soweto Hardware",
        dropoff_address_line_1="12 Vilakazi Street",
        dropoff_address_line_2="Orlando West",
        dropoff_postal_code="1804",
        dropoff_country_code="ZA",
        dropoff_latitude=-26.2385,
        dropoff_longitude=27.9085,
        dropoff_contact_name="Thabo Nkosi",
        dropoff_contact_number="+27 82 555 0123",
        dropoff_email="thabo.nkosi@example.co.za",
        dropoff_note="Ring the bell at gate 2.",
        dropoff_window_from="08:00",
        dropoff_window_to="12:00:00",
        dropoff_duration_minutes=15,
    )
    row.update(overrides)
    return row


def pickup_delivery(reference: str = "SO-2001", **overrides) -> dict:
    """A valid pickup-and-drop-off delivery (job type 1) from the Midrand depot."""
    row = delivery(reference)
    row.update(
        job_type_id=1,
        pickup_customer_name="Northwind Distribution - Midrand DC",
        pickup_address_line_1="1 Depot Road",
        pickup_country_code="ZA",
        pickup_latitude=-25.9992,
        pickup_longitude=28.1263,
        pickup_contact_number="011 555 1234",
        pickup_window_from="06:00",
        pickup_window_to="07:00",
    )
    row.update(overrides)
    return row


def item(reference: str = "SO-1001", line: int = 1, **overrides) -> dict:
    row = dict.fromkeys(ITEM_COLUMN_NAMES)
    row.update(reference_number=reference, line_number=line, description="Cement 50 kg",
               quantity=4.0, weight_kg=200.0, item_type_id=1, sku="CEM-50",
               tracking_number=f"TRK-{reference}-{line}", length_cm=60.0, width_cm=40.0,
               height_cm=12.0)
    row.update(overrides)
    return row


def deliveries_frame(rows: list[dict]) -> pd.DataFrame:
    """As the asset reads the extraction's deliveries.parquet."""
    return pa.Table.from_pylist(rows, schema=JOB_SCHEMA).to_pandas()


def items_frame(rows: list[dict]) -> pd.DataFrame:
    return pa.Table.from_pylist(rows, schema=ITEM_SCHEMA).to_pandas()
