"""The one Definitions entry point Dagster loads (dagster_workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from fleet_pipeline.defs.erp.assets import erp_deliveries
from fleet_pipeline.defs.erp.resources import ErpResource, PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.reconcile.assets import callback_landing, reconciliation
from fleet_pipeline.defs.reconcile.checks import reconciliation_checks
from fleet_pipeline.defs.reconcile.resources import ReconciliationResource
from fleet_pipeline.defs.reconcile.schedules import upload_chain_daily, upload_chain_job
from fleet_pipeline.defs.reconcile.sensors import reconciliation_sensor
from fleet_pipeline.defs.uploads.assets import job_submissions, upload_batches
from fleet_pipeline.defs.uploads.resources import FleetApiResource
from fleet_pipeline.defs.validation.assets import delivery_jobs

defs = dg.Definitions(
    assets=[erp_deliveries, delivery_jobs, upload_batches, job_submissions, callback_landing,
            reconciliation],
    asset_checks=reconciliation_checks,
    jobs=[upload_chain_job],
    schedules=[upload_chain_daily],
    sensors=[reconciliation_sensor],
    resources={
        "erp": ErpResource.from_settings(),
        "partition_store": PartitionStoreResource.from_settings(),
        "ledger": LedgerResource.from_settings(),
        "fleet_api": FleetApiResource.from_settings(),
        "reconcile_settings": ReconciliationResource.from_settings(),
    },
)
