"""The bulk-upload CSV template, version v1, as the Fleet API documents it.

`stops` and `items` cells hold JSON in the same shapes as the single-create request body.
"""

from __future__ import annotations

TEMPLATE_VERSION = "v1"

TEMPLATE_V1_COLUMNS: tuple[str, ...] = (
    "reference_number",
    "job_type_id",
    "delivery_driver_id",
    "delivery_driver_name",
    "schedule_type_id",
    "scheduled_delivery_ts",
    "labels",
    "subuser_id",
    "allowed_to_start_at",
    "send_to_driver_at",
    "stops",
    "items",
)

MAX_JOBS_PER_UPLOAD = 1_000
MAX_UPLOAD_BYTES = 10 * 1024 * 1024
