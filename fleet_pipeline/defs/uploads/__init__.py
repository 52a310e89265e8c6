"""The upload chain in Dagster: `upload_batches` and `job_submissions`, and their resources.

`assets` and `resources` (configured from the environment) are what definitions.py adds; the
assets also need `partition_store` (defs/erp).
"""

from fleet_pipeline.defs.uploads.assets import job_submissions, upload_batches
from fleet_pipeline.defs.uploads.resources import FleetApiResource, LedgerResource

assets = [upload_batches, job_submissions]

resources = {
    "fleet_api": FleetApiResource.from_settings(),
    "ledger": LedgerResource.from_settings(),
}

__all__ = ["FleetApiResource", "LedgerResource", "assets", "job_submissions", "resources",
           "upload_batches"]
