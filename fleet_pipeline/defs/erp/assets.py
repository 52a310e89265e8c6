"""The `erp_deliveries` asset: each scheduled date's pending deliveries, read from the ERP."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

from datetime import date

import dagster as dg

from fleet_pipeline.defs.erp.metadata import DELIVERIES_SCHEMA, extraction_metadata
from fleet_pipeline.defs.erp.resources import ErpResource, PartitionStoreResource
from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.erp.extract import extract_day

DESCRIPTION = """\
The deliveries the ERP has **pending** for each scheduled date, in the pipeline's canonical shape:
one row per delivery job in `deliveries.parquet` and one row per order line in `items.parquet`,
in the folder `erp_deliveries/date=YYYY-MM-DD/` under the data directory.

Rows are copied from the ERP as they are, through the configured source queries: nothing is
checked or dropped here, so a missing coordinate or a malformed phone shows up downstream, where
validation records it against the delivery number. Re-running a date replaces that date's files.
Personal data (names, phones, addresses, e-mails) is masked in the preview.

In a run over several dates the counts are the run's totals; `per_day` splits them by date, and
each date also gets an observation with its own counts.
"""


@dg.asset(
    partitions_def=delivery_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="erp",
    group_name="erp",
    kinds={"sql", "parquet"},
    owners=["team:logistics-data"],
    description=DESCRIPTION,
    metadata={"dagster/column_schema": DELIVERIES_SCHEMA},
)
def erp_deliveries(context: dg.AssetExecutionContext, erp: ErpResource,
                   partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    source = erp.source()
    engine = erp.engine()
    days = []
    try:
        for key in context.partition_keys:
            stats = extract_day(engine, source, date.fromisoformat(key), partition_store.path,
                                chunk_rows=erp.chunk_rows)
            context.log.info(f"{key}: {stats.deliveries} deliveries, {stats.items} items, "
                             f"{stats.bytes} bytes in {stats.seconds:.1f} s")
            if len(context.partition_keys) > 1:
                # The materialization's metadata is shared by every date of the run; this
                # records each date's own counts on that date.
                context.log_event(dg.AssetObservation(
                    asset_key=context.asset_key, partition=key,
                    metadata={"deliveries": stats.deliveries, "items": stats.items}))
            days.append(stats)
    finally:
        engine.dispose()
    return dg.MaterializeResult(metadata=extraction_metadata(days))
