"""The sample ERP's tables: an order-to-delivery schema shaped like a small distributor's ERP.

The names are the ERP's own (delivery_no, ship_date, geo_lat, ...), not the canonical ones: mapping
them is the job of the source queries in fleet_pipeline/erp/queries/. Keys are surrogate integers
as most ERPs have them; the delivery number is deliberately not unique, because real ERPs let
duplicates in through imports and manual edits.

Types are chosen to hold what real data throws at them on every supported database: free text
is TEXT (MEDIUMTEXT on MariaDB, so a 10 kB note of 4-byte emoji still fits), and MariaDB tables
are utf8mb4 so names with emoji survive.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import mysql

metadata = sa.MetaData()

_MARIADB = {"mysql_engine": "InnoDB", "mysql_charset": "utf8mb4",
            "mysql_collate": "utf8mb4_unicode_ci"}

LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")

# Status of a delivery note; only `pending` ones are waiting to be sent to the Fleet API.
NOTE_STATUSES = ("draft", "pending", "dispatched", "cancelled")

customers = sa.Table(
    "customers", metadata,
    sa.Column("customer_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("account_no", sa.String(16), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    # DEPOT marks the company's own warehouses, the pickup points of collect-and-deliver jobs.
    sa.Column("customer_kind", sa.String(10), nullable=False),
    sa.Column("vat_no", sa.String(20)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    **_MARIADB,
)

addresses = sa.Table(
    "addresses", metadata,
    sa.Column("address_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
    sa.Column("street", sa.String(200), nullable=False),
    sa.Column("locality", sa.String(200)),
    sa.Column("postcode", sa.String(10)),
    sa.Column("country_iso", sa.String(2), nullable=False),
    sa.Column("geo_lat", sa.Numeric(9, 6)),
    sa.Column("geo_lon", sa.Numeric(9, 6)),
    sa.Column("contact_person", sa.String(120)),
    sa.Column("phone", sa.String(40)),
    sa.Column("email", sa.String(254)),
    sa.Column("service_minutes", sa.Integer),
    **_MARIADB,
)

drivers = sa.Table(
    "drivers", metadata,
    sa.Column("driver_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("employee_no", sa.String(12), nullable=False, unique=True),
    sa.Column("first_name", sa.String(60), nullable=False),
    sa.Column("last_name", sa.String(60), nullable=False),
    # "first last", as the driver is registered in Fleet.
    sa.Column("display_name", sa.String(130), nullable=False),
    sa.Column("fleet_driver_uuid", sa.String(36)),
    sa.Column("is_active", sa.Boolean, nullable=False),
    **_MARIADB,
)

sales_orders = sa.Table(
    "sales_orders", metadata,
    sa.Column("order_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("order_no", sa.String(20), nullable=False),
    sa.Column("customer_id", sa.Integer, sa.ForeignKey("customers.customer_id"), nullable=False),
    sa.Column("order_date", sa.Date, nullable=False),
    sa.Column("customer_po", sa.String(40)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    **_MARIADB,
)

delivery_notes = sa.Table(
    "delivery_notes", metadata,
    sa.Column("delivery_note_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("delivery_no", sa.String(30), nullable=False, index=True),
    sa.Column("order_id", sa.Integer, sa.ForeignKey("sales_orders.order_id"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    sa.Column("ship_date", sa.Date, nullable=False),
    # NULL = any time that day (unscheduled); set = a booked arrival time (scheduled).
    sa.Column("planned_arrival", sa.DateTime),
    sa.Column("window_from", sa.String(8)),
    sa.Column("window_to", sa.String(8)),
    # Set for collect-and-deliver jobs: where the goods are picked up first.
    sa.Column("collect_from_address_id", sa.Integer, sa.ForeignKey("addresses.address_id")),
    sa.Column("deliver_to_address_id", sa.Integer, sa.ForeignKey("addresses.address_id"),
              nullable=False),
    sa.Column("driver_id", sa.Integer, sa.ForeignKey("drivers.driver_id")),
    sa.Column("unload_minutes", sa.Integer),
    sa.Column("tags", sa.String(200)),
    sa.Column("driver_instructions", LongText),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_delivery_notes_ship_date_status", "ship_date", "status"),
    **_MARIADB,
)

delivery_lines = sa.Table(
    "delivery_lines", metadata,
    sa.Column("line_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("delivery_note_id", sa.Integer, sa.ForeignKey("delivery_notes.delivery_note_id"),
              nullable=False, index=True),
    sa.Column("line_no", sa.Integer, nullable=False),
    sa.Column("article_no", sa.String(40)),
    sa.Column("description", sa.String(200), nullable=False),
    sa.Column("qty", sa.Numeric(12, 3), nullable=False),
    sa.Column("uom", sa.String(8), nullable=False),
    # GOODS or SERVICE.
    sa.Column("line_kind", sa.String(8), nullable=False),
    sa.Column("gross_weight_kg", sa.Numeric(12, 3)),
    sa.Column("length_cm", sa.Numeric(8, 1)),
    sa.Column("width_cm", sa.Numeric(8, 1)),
    sa.Column("height_cm", sa.Numeric(8, 1)),
    sa.Column("barcode", sa.String(40)),
    **_MARIADB,
)

# Insert order: every table after the ones its foreign keys point to.
TABLES: tuple[sa.Table, ...] = (
    customers, addresses, drivers, sales_orders, delivery_notes, delivery_lines,
)
TABLE_NAMES: tuple[str, ...] = tuple(t.name for t in TABLES)
