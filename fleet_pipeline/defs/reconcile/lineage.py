"""Column lineage of `reconciliation` from `delivery_jobs`, for the catalog's column view.

Only the columns the day's jobs decide are listed: the date and the delivery number are the
job's own, and its class follows from which delivery numbers were valid and sent, and with which
payload (a changed `payload_hash` queues a rejected job again). The other columns (Fleet's job
id, attempts, upload, times, reasons) come from the API's answers and the ledger, not from a
column of `delivery_jobs`.
"""

from __future__ import annotations

import dagster as dg

SOURCE = dg.AssetKey("delivery_jobs")

# reconciliation column -> the delivery_jobs columns it is computed from
FROM_DELIVERY_JOBS: dict[str, tuple[str, ...]] = {
    "partition_date": ("scheduled_date",),
    "reference_number": ("reference_number",),
    "status": ("reference_number", "payload_hash"),
}


def reconciliation_lineage() -> dg.TableColumnLineage:
    return dg.TableColumnLineage(deps_by_column={
        column: [dg.TableColumnDep(asset_key=SOURCE, column_name=name) for name in sources]
        for column, sources in FROM_DELIVERY_JOBS.items()
    })
