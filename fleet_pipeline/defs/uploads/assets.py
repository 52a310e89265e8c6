"""The upload chain: `upload_batches` (plan and cut) and `job_submissions` (send)."""

# No `from __future__ import annotations`: Dagster reads the context and resource annotations.

from datetime import date

import dagster as dg

from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.partitions import delivery_date_partitions
from fleet_pipeline.defs.uploads.metadata import batch_metadata, send_metadata
from fleet_pipeline.defs.uploads.resources import FleetApiResource
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.run import batch_day, send_day

OWNERS = ["team:logistics-data"]

BATCHES_DESCRIPTION = """\
The day's valid delivery jobs, recorded in the job ledger and cut into the bulk-upload files
that will be sent to the Fleet API: at most 1,000 jobs and 10 MB per file, in delivery-number
order, one `<upload_id>.csv` per file (Fleet's template v1) under
`upload_batches/date=YYYY-MM-DD/` in the data directory.

Only jobs that Fleet is known **not** to hold are cut into files. Jobs already created, still in
flight (sent and awaiting an answer or a callback, or with an unknown outcome) and jobs
escalated to a person are left out and counted, so re-running a day or a backfill never sends a
job twice. Deliveries whose ERP row changed after their job was created are not sent again:
they are listed under `changed_after_send` for someone to update in Fleet. Deliveries the ERP no
longer lists are withdrawn.

When the endpoint policy sends the day one by one (few jobs, or `FLEET_ENDPOINT_POLICY=single`)
no files are cut and `jobs_one_by_one` says how many go that way.
"""

SUBMISSIONS_DESCRIPTION = """\
The day's jobs sent to the Fleet API, and where each one stands afterwards.

Every run first finishes what earlier runs left: jobs whose send was interrupted or whose
callback is overdue are looked up in Fleet by delivery number (found: created; not found: sent
again later), and jobs the API refused for a passing reason are queued for a retry. Then the
queued jobs go out in bulk files (each with its own callback address; Fleet reports each job's
fate in the callback) or one create per job, within the account's 1,000 requests a minute.

Counts are the day's totals after the run: `created` (Fleet holds the job), `awaiting_callback`
(in a file Fleet accepted, until the callback deadline), `rejected` (the API said no; the reason
is in `failures_by_reason`), `unknown` (no clear answer yet: looked up before anything is sent
again), `escalated` (a person must look). `creation_rate` is the share of the day's sendable jobs
created so far.
"""


@dg.asset(
    deps=[dg.AssetKey("delivery_jobs")],
    partitions_def=delivery_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="uploads",
    kinds={"csv", "sql"},
    owners=OWNERS,
    description=BATCHES_DESCRIPTION,
)
def upload_batches(context: dg.AssetExecutionContext, fleet_api: FleetApiResource,
                   ledger: LedgerResource,
                   partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    settings = fleet_api.send_settings()
    for key in context.partition_keys:
        result = batch_day(ledger.engine, partition_store.path, date.fromisoformat(key),
                           settings, log=context.log.info, run_id=context.run.run_id)
        context.add_asset_metadata(batch_metadata(result), partition_key=key)
    return dg.MaterializeResult()


@dg.asset(
    deps=[upload_batches],
    partitions_def=delivery_date_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool="fleet_api",
    group_name="uploads",
    kinds={"api", "sql"},
    owners=OWNERS,
    description=SUBMISSIONS_DESCRIPTION,
)
def job_submissions(context: dg.AssetExecutionContext, fleet_api: FleetApiResource,
                    ledger: LedgerResource,
                    partition_store: PartitionStoreResource) -> dg.MaterializeResult:
    settings = fleet_api.send_settings()
    with FleetConnection(settings.api, ledger.db_url) as connection:
        for key in context.partition_keys:
            result = send_day(ledger.engine, connection, partition_store.path,
                              date.fromisoformat(key), settings, log=context.log.info,
                              run_id=context.run.run_id)
            context.add_asset_metadata(send_metadata(result), partition_key=key)
    return dg.MaterializeResult()
