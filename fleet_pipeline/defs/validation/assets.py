"""The `delivery_jobs` asset: each day's extracted deliveries judged against the Fleet contract."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

from datetime import UTC, date, datetime

import dagster as dg

from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.defs.validation.checks import REJECTION_RATE_SPEC, rejection_rate_result
from fleet_pipeline.defs.validation.ledger_hook import record_rejections
from fleet_pipeline.defs.validation.lineage import delivery_jobs_lineage
from fleet_pipeline.defs.validation.metadata import contract_schema, partition_metadata
from fleet_pipeline.validation.partition import ASSET, validate_partition
from fleet_pipeline.validation.settings import ValidationSettings

DESCRIPTION = """\
The deliveries of each scheduled date, checked against what the Fleet API accepts and what the
business needs, and turned into Fleet delivery-job payloads.

- `valid_jobs.parquet`: one row per delivery that passed every check: its `reference_number`,
  the job `payload` (the JSON body sent to the Fleet API), `payload_hash` (changes whenever the
  ERP row changes), `csv_row` (the payload's row of a bulk file), and the delivery's columns as
  extracted. The column schema lists the checks.
- `rejections.parquet`: one row per failed check of every rejected delivery (and item): the
  delivery number, the column, the check and the offending value (personal data masked). A row
  fails on *all* its defects at once, so one look shows everything to fix in the ERP.

Nothing is dropped: extracted = valid + rejected, always. Deliveries sharing a delivery number
are all rejected (we cannot tell which one is right); a delivery with a bad order line is
rejected with it. Files are under `delivery_jobs/date=YYYY-MM-DD/` in the data directory.
"""


@dg.asset(
    name=ASSET,
    deps=[dg.AssetKey("erp_deliveries")],
    partitions_def=delivery_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="validation",
    kinds={"pandas", "pandera", "parquet"},
    owners=["team:logistics-data"],
    description=DESCRIPTION,
    metadata={"dagster/column_schema": contract_schema(ValidationSettings()),
              "dagster/column_lineage": delivery_jobs_lineage()},
    check_specs=[REJECTION_RATE_SPEC],
)
def delivery_jobs(context: dg.AssetExecutionContext,
                  partition_store: PartitionStoreResource,
                  ledger: LedgerResource) -> dg.MaterializeResult:
    settings = ValidationSettings.from_env()
    now = datetime.now(UTC)
    outcomes = []
    for key in context.partition_keys:
        outcome = validate_partition(partition_store.path, date.fromisoformat(key), now, settings)
        record_rejections(context, ledger.engine, outcome.day, outcome.result.failures)
        context.add_asset_metadata(partition_metadata(outcome), partition_key=key)
        context.log.info(f"{key}: {outcome.extracted} extracted, {outcome.valid} valid, "
                         f"{outcome.rejected} rejected")
        outcomes.append(outcome)
    return dg.MaterializeResult(
        metadata={"dagster/column_schema": contract_schema(settings),
                  "dagster/column_lineage": delivery_jobs_lineage()},
        check_results=[rejection_rate_result(outcomes, settings)],
    )
