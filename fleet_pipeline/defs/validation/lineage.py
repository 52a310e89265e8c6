"""Column lineage of `delivery_jobs` from `erp_deliveries`, for the catalog's column view.

Each canonical column is copied from the extracted column of the same name. `payload` (and its
hash and CSV row) is built from the columns that payloads.py reads, in the lists it reads them
from, so the lineage follows the code: a column the payload stops using drops out of it here too.
"""

from __future__ import annotations

import dagster as dg

from fleet_pipeline.erp.canonical import JOB_COLUMN_NAMES
from fleet_pipeline.validation.payloads import JOB_COLUMNS, stop_columns

SOURCE = dg.AssetKey("erp_deliveries")

PAYLOAD_SOURCES: tuple[str, ...] = (*JOB_COLUMNS, *stop_columns("pickup"),
                                    *stop_columns("dropoff"))


def _deps(columns: tuple[str, ...]) -> list[dg.TableColumnDep]:
    return [dg.TableColumnDep(asset_key=SOURCE, column_name=name) for name in columns]


def delivery_jobs_lineage() -> dg.TableColumnLineage:
    deps = {name: _deps((name,)) for name in JOB_COLUMN_NAMES}
    deps["payload"] = _deps(PAYLOAD_SOURCES)
    deps["payload_hash"] = _deps(PAYLOAD_SOURCES)
    deps["csv_row"] = _deps(PAYLOAD_SOURCES)  # the payload's fields, as a CSV row
    return dg.TableColumnLineage(deps_by_column=deps)
