"""The reconciliation asset and its checks through Dagster, on a day whose checks must fail:
an extraction with a row the ledger never saw, a reference created twice, a job unconfirmed
past the SLA."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from reconcile_support import created, day_with_uploads, land, refs

from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.reconcile.assets import reconciliation
from fleet_pipeline.defs.reconcile.checks import reconciliation_checks
from fleet_pipeline.defs.reconcile.resources import ReconciliationResource
from fleet_pipeline.defs.uploads.resources import FleetApiResource
from fleet_pipeline.storage import partition_dir

DAY = datetime.now(UTC).date() - timedelta(days=3)


def test_the_checks_fail_when_the_day_is_wrong(engine, db_url, tmp_path):
    a, b = refs(3, "A", DAY), refs(2, "B", DAY)
    day_with_uploads(engine, DAY, {"UA": a}, deadline=datetime.now(UTC) + timedelta(hours=1))
    day_with_uploads(engine, DAY, {"UB": b}, deadline=datetime.now(UTC) + timedelta(hours=1))
    land(engine, "UA", [created(a[0], 1), created(a[1], 2), created(a[2], 3)])
    land(engine, "UA", [created(a[0], 41)])  # Fleet holds a second job for a[0]
    # The ERP extraction of the day had one more row than the ledger knows of.
    folder = partition_dir(tmp_path, "erp_deliveries", DAY)
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"reference_number": [*a, *b, "LOST-IN-TRANSIT"]}),
                   folder / "deliveries.parquet")
    resources = {
        "ledger": LedgerResource(db_url=db_url),
        "partition_store": PartitionStoreResource(data_dir=str(tmp_path)),
        "fleet_api": FleetApiResource(base_url="http://127.0.0.1:9/rest", username="u",
                                      webhook_public_url="http://127.0.0.1:9",
                                      rate_limit_per_minute=0),
        # b's jobs were sent at reconcile_support.SENT, long before: past a one-minute SLA.
        "reconcile_settings": ReconciliationResource(confirmation_sla_minutes=1, retry=False),
    }
    result = dg.materialize([reconciliation, *reconciliation_checks],
                            partition_key=DAY.isoformat(), resources=resources,
                            raise_on_error=False)
    (materialization,) = result.asset_materializations_for_node("reconciliation")
    meta = {key: value.value for key, value in materialization.metadata.items()}
    assert (meta["created"], meta["created_twice"], meta["awaiting_confirmation"]) == (2, 1, 2)
    assert meta["extracted"] == 6 and meta["accounted_for"] == 5
    schema = reconciliation.metadata_by_key[reconciliation.key]["dagster/column_schema"]
    assert "status" in [column.name for column in schema.columns]
    lineage = materialization.metadata["dagster/column_lineage"].value
    assert lineage == reconciliation.metadata_by_key[reconciliation.key]["dagster/column_lineage"]
    assert {dep.asset_key for deps in lineage.deps_by_column.values() for dep in deps} == {
        dg.AssetKey("delivery_jobs")}
    assert meta["dagster/row_count"] == 5 and "| A-" in meta["samples"]
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert not evaluations["every_job_accounted_for"].passed
    assert evaluations["every_job_accounted_for"].description == "5 classified of 6 extracted"
    assert not evaluations["no_reference_created_twice"].passed
    assert evaluations["no_reference_created_twice"].metadata["references"].value == a[0]
    late = evaluations["unconfirmed_within_sla"]
    assert not late.passed and late.severity == dg.AssetCheckSeverity.WARN
    assert late.metadata["unconfirmed_past_sla"].value == 2
