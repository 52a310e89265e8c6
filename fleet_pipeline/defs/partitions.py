"""One daily partition per scheduled delivery date, shared by the whole chain."""

from __future__ import annotations

from dagster import DailyPartitionsDefinition

from fleet_pipeline.config import settings

_settings = settings()

# end_offset opens partitions for the coming days: deliveries are sent the day(s) before.
delivery_date_partitions = DailyPartitionsDefinition(
    start_date=_settings.partitions_start,
    end_offset=_settings.days_ahead,
)
