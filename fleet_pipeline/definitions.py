"""The one Definitions entry point Dagster loads (dagster_workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from fleet_pipeline.defs.erp.assets import erp_deliveries
from fleet_pipeline.defs.erp.resources import ErpResource, PartitionStoreResource
from fleet_pipeline.defs.validation.assets import delivery_jobs

defs = dg.Definitions(
    assets=[erp_deliveries, delivery_jobs],
    resources={
        "erp": ErpResource.from_settings(),
        "partition_store": PartitionStoreResource.from_settings(),
    },
)
