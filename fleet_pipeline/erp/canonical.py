"""The canonical delivery record: what every ERP query must return, whatever the ERP's schema.

One delivery row is one Fleet delivery job. A job has one stop (job type 3: the drop-off) or two
(job type 1: a pickup and a drop-off); each stop's fields are flattened into columns with the
prefix `pickup_` or `dropoff_`, so a row maps to a job without joins. A job's items (the order
lines) come from a second query, one row per line, keyed by `reference_number`.

docs/erp-mapping.md documents every column; this module is the single source of truth for names
and storage types. Types are the storage types of the Parquet files: text stays text, so odd
values reach validation untouched (a phone like "0800 FLOWERS" or a 10 kB note is not our
extraction's business to judge).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

STOP_PREFIXES = ("pickup", "dropoff")


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    required: bool
    doc: str


# Per-stop fields; the Fleet API stop field each one becomes is named in the doc.
_STOP_FIELDS: tuple[tuple[str, pa.DataType, bool, str], ...] = (
    ("customer_name", pa.string(), True, "Customer or site name (`customer_name`)."),
    ("address_line_1", pa.string(), True, "First address line (`address_line_1`)."),
    ("address_line_2", pa.string(), False, "Second address line; needs line 1 (`address_line_2`)."),
    ("postal_code", pa.string(), False, "Postal code (`postal_code`)."),
    ("country_code", pa.string(), True, "ISO 3166-1 alpha-2 country code, e.g. ZA."),
    ("latitude", pa.float64(), False, "WGS84 latitude; comes with longitude (`latitude`)."),
    ("longitude", pa.float64(), False, "WGS84 longitude; comes with latitude (`longitude`)."),
    ("contact_name", pa.string(), False, "Person to ask for at the stop."),
    ("contact_number", pa.string(), False, "Phone, ideally E.164 (`contact_number`)."),
    ("email", pa.string(), False, "Contact e-mail (`email`)."),
    ("note", pa.string(), False, "Free text for the driver (`note`)."),
    ("window_from", pa.string(), False, "Delivery window opens, HH:MM[:SS] local time."),
    ("window_to", pa.string(), False, "Delivery window closes, HH:MM[:SS] local time."),
    ("duration_minutes", pa.int64(), False, "Expected time on site in minutes (`duration`)."),
)

JOB_COLUMNS: tuple[Column, ...] = (
    Column("reference_number", pa.string(), True,
           "The ERP's delivery number; the correlation key with the Fleet API."),
    Column("scheduled_date", pa.date32(), True,
           "Date the delivery is scheduled for; the Dagster partition key."),
    Column("job_type_id", pa.int64(), True, "1 = pickup and drop-off (2 stops), 3 = single stop."),
    Column("schedule_type_id", pa.int64(), True, "2 = scheduled, 3 = unscheduled."),
    Column("scheduled_delivery_ts", pa.timestamp("us"), False,
           "Planned time, account local time; required when schedule_type_id = 2."),
    Column("delivery_driver_name", pa.string(), False,
           "Driver as 'first last' (exact); empty = assign later."),
    Column("delivery_driver_id", pa.string(), False, "Fleet driver UUID; not with the name."),
    Column("labels", pa.string(), False, "Comma-separated labels."),
    *(
        Column(f"{prefix}_{name}", typ, required and prefix == "dropoff",
               doc if prefix == "dropoff" else f"Pickup stop (job type 1 only): {doc}")
        for prefix in STOP_PREFIXES
        for name, typ, required, doc in _STOP_FIELDS
    ),
)

ITEM_COLUMNS: tuple[Column, ...] = (
    Column("reference_number", pa.string(), True, "The delivery this line belongs to."),
    Column("line_number", pa.int64(), True, "Line number within the delivery."),
    Column("description", pa.string(), True, "What is delivered (`description`)."),
    Column("quantity", pa.float64(), True, "How many (`quantity`); must be above zero."),
    Column("weight_kg", pa.float64(), False, "Weight in kg (`weight`, `weight_measure_id` = 1)."),
    Column("item_type_id", pa.int64(), False, "1 package, 2 service, 3 person."),
    Column("sku", pa.string(), False, "Stock-keeping unit (`sku`)."),
    Column("tracking_number", pa.string(), False, "Barcode or tracking number."),
    Column("length_cm", pa.float64(), False, "Length in cm (`length`)."),
    Column("width_cm", pa.float64(), False, "Width in cm (`width`)."),
    Column("height_cm", pa.float64(), False, "Height in cm (`height`)."),
)

JOB_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in JOB_COLUMNS)
ITEM_COLUMN_NAMES: tuple[str, ...] = tuple(c.name for c in ITEM_COLUMNS)

JOB_SCHEMA = pa.schema([pa.field(c.name, c.type) for c in JOB_COLUMNS])
ITEM_SCHEMA = pa.schema([pa.field(c.name, c.type) for c in ITEM_COLUMNS])

# Bind parameters every deliveries/items query receives: the half-open window
# [window_start, window_end) of scheduled dates that one partition covers.
WINDOW_PARAMS = ("window_start", "window_end")


def required_names(columns: tuple[Column, ...]) -> tuple[str, ...]:
    return tuple(c.name for c in columns if c.required)
