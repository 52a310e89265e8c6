"""The erp_deliveries asset, materialized in process for one date and for a single-run range."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pyarrow.parquet as pq
import pytest
from erp_seeded import seed_sample

from fleet_pipeline.defs.erp.assets import erp_deliveries
from fleet_pipeline.defs.erp.resources import ErpResource, PartitionStoreResource
from fleet_pipeline.erp.canonical import JOB_COLUMN_NAMES
from fleet_pipeline.erp.extract import day_files

# Dates in the past, so they are partitions whatever day the tests run.
FIRST, SECOND = date(2026, 11, 2), date(2026, 11, 3)


@pytest.fixture
def seeded(sqlite_url):
    return seed_sample(sqlite_url, start_date=FIRST)


def _resources(url, data_dir):
    return {"erp": ErpResource(url=url), "partition_store": PartitionStoreResource(
        data_dir=str(data_dir))}


def test_one_date(seeded, tmp_path):
    result = dg.materialize([erp_deliveries], partition_key=FIRST.isoformat(),
                            resources=_resources(seeded.url, tmp_path))
    [materialization] = result.asset_materializations_for_node("erp_deliveries")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert materialization.partition == "2026-11-02"
    assert metadata["dagster/row_count"] == 60
    deliveries, items = day_files(tmp_path, FIRST)
    assert metadata["items"] == pq.read_table(items).num_rows > 0
    assert [c.name for c in metadata["dagster/column_schema"].columns] == list(JOB_COLUMN_NAMES)
    assert "per_day" not in metadata
    assert metadata["deliveries_columns_not_returned"] == "delivery_driver_id"
    assert metadata["deliveries_read_by"] == metadata["items_read_by"] == (
        "ADBC SQLite driver, straight into Arrow")

    preview = metadata["preview"]
    first = pq.read_table(deliveries).slice(0, 1).to_pylist()[0]
    assert first["reference_number"] in preview
    for personal in ("dropoff_customer_name", "dropoff_address_line_1", "dropoff_contact_number",
                     "dropoff_email"):
        assert first[personal] not in preview
    assert preview.count("\n") == 6  # header, separator and five rows


def test_a_range_of_dates_runs_once_and_writes_one_folder_per_date(seeded, tmp_path):
    result = dg.materialize(
        [erp_deliveries], resources=_resources(seeded.url, tmp_path),
        tags={"dagster/asset_partition_range_start": FIRST.isoformat(),
              "dagster/asset_partition_range_end": SECOND.isoformat()})
    materializations = result.asset_materializations_for_node("erp_deliveries")
    assert sorted(m.partition for m in materializations) == ["2026-11-02", "2026-11-03"]
    metadata = {k: v.value for k, v in materializations[0].metadata.items()}
    assert metadata["dagster/row_count"] == 120
    per_day = [record.data for record in metadata["per_day"].records]
    assert per_day[0]["date"] == "2026-11-02" and per_day[1]["deliveries"] == 60
    for day in (FIRST, SECOND):
        assert pq.read_table(day_files(tmp_path, day)[0]).num_rows == 60
    observations = [e.event_specific_data.asset_observation for e in result.all_events
                    if e.event_type_value == "ASSET_OBSERVATION"]
    assert {o.partition: o.metadata["deliveries"].value for o in observations} == {
        "2026-11-02": 60, "2026-11-03": 60}


def test_the_asset_is_described_for_the_catalog():
    spec = erp_deliveries.specs_by_key[erp_deliveries.key]
    assert erp_deliveries.key == dg.AssetKey("erp_deliveries")
    assert spec.group_name == "erp" and spec.kinds == {"sql", "parquet"}
    assert spec.owners and "pending" in spec.description
    assert erp_deliveries.backfill_policy == dg.BackfillPolicy.single_run()
    assert erp_deliveries.op.pool == "erp"


def test_resource_url_comes_from_the_environment_when_set(monkeypatch, fleet_home):
    assert ErpResource.from_settings().url == f"sqlite:///{fleet_home / 'erp.sqlite'}"
    monkeypatch.setenv("FLEET_ERP_URL", "postgresql://erp:secretpw@db/erp")
    resource = ErpResource.from_settings()
    assert isinstance(resource.url, dg.EnvVar) and resource.url.env_var_name == "FLEET_ERP_URL"
