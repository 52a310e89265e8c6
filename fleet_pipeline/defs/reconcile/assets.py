"""`callback_landing` (the webhook receiver's table, written outside Dagster) and the partitioned
`reconciliation` asset."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

from datetime import date

import dagster as dg

from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.defs.reconcile.lineage import reconciliation_lineage
from fleet_pipeline.defs.reconcile.metadata import RECONCILIATION_SCHEMA, reconciliation_metadata
from fleet_pipeline.defs.reconcile.resources import ReconciliationResource
from fleet_pipeline.defs.uploads.assets import job_submissions
from fleet_pipeline.defs.uploads.resources import FleetApiResource
from fleet_pipeline.reconcile.retry import retry_day
from fleet_pipeline.reconcile.run import reconcile_day, samples
from fleet_pipeline.uploads.connection import FleetConnection

OWNERS = ["team:logistics-data"]

CALLBACK_LANDING_DESCRIPTION = """\
The Fleet API's callbacks about our bulk uploads, as the webhook receiver (an HTTP service
running outside Dagster) lands them: one `callback_events` row per distinct signed body, one
`callback_results` row per job in it (created with its Fleet `job_id`, or rejected with the
API's field errors). Repeated deliveries land once; repeats in other bytes and conflicting
callbacks are flagged.

Nothing materializes this asset: the `reconciliation_sensor` follows new rows and records an
observation per delivery date with the number of new callbacks.
"""

RECONCILIATION_DESCRIPTION = """\
What became of **every** delivery of the day, one row per job in the `reconciliation` view
of the pipeline database (created jobs are read from the job ledger, the other classes are
stored in `reconciliation_rows`), each in exactly one class: created (with Fleet's `job_id`),
created twice (Fleet holds a duplicate), rejected by the API (with its reasons), rejected by
our own validation, awaiting confirmation (before the callback deadline), overdue (after it:
looked up in Fleet by delivery number, then created or sent again), not sent yet, and
unexpected (a callback about a delivery we never sent). The classes add up to the day's extraction.

Each run first takes the new callbacks into the job ledger, then looks overdue jobs up in Fleet
and sends again, one by one, what is absent or was refused for a passing reason (with back-off
and at most FLEET_RETRY_MAX_ATTEMPTS sends). Jobs refused for their data wait until their ERP
row changes. Whatever needs a person (invalid data, permanent API rejections, retries spent,
duplicates, jobs unconfirmed past the SLA, unexpected callbacks) is kept in the `escalations`
table and listed in `reports/escalations/date=YYYY-MM-DD.csv` under the data directory.

Requested by the `reconciliation_sensor` once every upload of the day is called back or past its
deadline, and again when late callbacks land. Samples are masked.
"""

callback_landing = dg.AssetSpec(
    "callback_landing",
    partitions_def=delivery_date_partitions,
    group_name="reconciliation",
    kinds={"sql"},
    owners=OWNERS,
    description=CALLBACK_LANDING_DESCRIPTION,
)


@dg.asset(
    deps=[job_submissions, callback_landing],
    partitions_def=delivery_date_partitions,
    pool="fleet_api",
    group_name="reconciliation",
    kinds={"sql", "csv"},
    owners=OWNERS,
    description=RECONCILIATION_DESCRIPTION,
    metadata={"dagster/column_schema": RECONCILIATION_SCHEMA,
              "dagster/column_lineage": reconciliation_lineage()},
)
def reconciliation(context: dg.AssetExecutionContext, ledger: LedgerResource,
                   fleet_api: FleetApiResource, partition_store: PartitionStoreResource,
                   reconcile_settings: ReconciliationResource) -> dg.MaterializeResult:
    day = date.fromisoformat(context.partition_key)
    settings = reconcile_settings.settings()
    send_settings = fleet_api.send_settings()
    run_id = context.run.run_id

    with FleetConnection(send_settings.api, ledger.db_url) as connection:
        def retry():
            return retry_day(ledger.engine, connection, day, send_settings,
                             log=context.log.info, run_id=run_id)

        result = reconcile_day(ledger.engine, day, partition_store.path, settings,
                               retry=retry if reconcile_settings.retry else None,
                               run_id=run_id, log=context.log.info)
    with ledger.engine.connect() as conn:
        preview = samples(conn, day)
    return dg.MaterializeResult(metadata={**reconciliation_metadata(result, preview),
                                          "dagster/column_lineage": reconciliation_lineage()})
