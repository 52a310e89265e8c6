"""The Dagster assets `upload_batches` and `job_submissions` against the simulator."""

from __future__ import annotations

import dagster as dg
import pytest
from uploads_support import (
    DAY,
    PASSWORD,
    USER,
    fleet_references,
    fleet_uploads,
    payload,
    references,
    sim_config,
    write_day,
)

from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.uploads.assets import job_submissions, upload_batches
from fleet_pipeline.defs.uploads.resources import FleetApiResource
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.uploads.planning import upload_path

ASSETS = [upload_batches, job_submissions]
REFS = references(25)
KEY = DAY.isoformat()


def resources(base_url, ledger_url, data_dir, **fleet):
    return {
        "fleet_api": FleetApiResource(
            base_url=base_url, username=USER, password=PASSWORD,
            webhook_public_url="https://hooks.example.com", rate_limit_per_minute=0,
            upload_max_jobs=10, **fleet),
        "ledger": LedgerResource(db_url=ledger_url),
        "partition_store": PartitionStoreResource(data_dir=str(data_dir)),
    }


def metadata(result, asset):
    (materialization,) = result.asset_materializations_for_node(asset.op.name)
    assert materialization.partition == KEY
    return {key: value.value for key, value in materialization.metadata.items()}


def test_a_partition_is_cut_sent_and_not_sent_again(ledger_url, data_dir, callbacks):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS], rejected=["BAD-1"])
    with running_simulator(sim_config(), callback_transport=callbacks) as sim:
        config = resources(sim.base_url, ledger_url, data_dir, endpoint_policy="bulk")
        first = dg.materialize(ASSETS, partition_key=KEY, resources=config)
        assert first.success
        assert sim.flush()
        second = dg.materialize(ASSETS, partition_key=KEY, resources=config)
        assert second.success
        assert len(fleet_uploads(sim.root_url)) == 3
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS, 1)

    batches = metadata(first, upload_batches)
    assert (batches["valid_jobs"], batches["jobs_to_send"], batches["uploads"]) == (25, 25, 3)
    assert batches["endpoint"] == "bulk" and batches["left_out_created"] == 0
    ids = [line.split(" | ")[0].strip("| ") for line in
           batches["upload_files"].splitlines()[2:]]
    assert all(upload_path(data_dir, DAY, upload_id).exists() for upload_id in ids)
    sent = metadata(first, job_submissions)
    assert (sent["uploads_sent"], sent["jobs_sent_bulk"], sent["jobs_sent_single"]) == (3, 25, 0)
    assert (sent["awaiting_callback"], sent["created"], sent["unknown"]) == (25, 0, 0)
    assert sent["failures_by_reason"] == "none"

    again = metadata(second, upload_batches)
    assert (again["jobs_to_send"], again["uploads"], again["left_out_in_flight"]) == (0, 0, 25)
    resent = metadata(second, job_submissions)
    assert (resent["uploads_sent"], resent["endpoint"], resent["awaiting_callback"]) == \
        (0, "none", 25)

    for event in [*first.all_events, *second.all_events]:
        assert PASSWORD not in repr(event)


def test_single_sends_show_each_failure_and_the_creation_rate(ledger_url, data_dir):
    write_day(data_dir, DAY, [payload("BAD-1", job_type_id=9), *(payload(r) for r in REFS[:3])])
    with running_simulator(sim_config()) as sim:
        config = resources(sim.base_url, ledger_url, data_dir)
        result = dg.materialize(ASSETS, partition_key=KEY, resources=config)
    assert result.success
    assert metadata(result, upload_batches)["jobs_one_by_one"] == 4
    sent = metadata(result, job_submissions)
    assert (sent["endpoint"], sent["jobs_sent_single"], sent["created"], sent["rejected"]) == \
        ("single", 4, 3, 1)
    assert sent["creation_rate"] == pytest.approx(0.75)
    assert "| rejected | HTTP 422; The given data was invalid.; job_type_id: The selected " \
           "job_type_id is invalid. | 1 |" in sent["failures_by_reason"]


def test_the_catalog_tells_analysts_what_each_asset_is():
    for asset in ASSETS:
        spec = next(iter(asset.specs))
        assert spec.group_name == "uploads"
        assert spec.owners == ["team:logistics-data"]
        assert len(spec.description) > 300
        assert asset.backfill_policy == dg.BackfillPolicy.single_run()
    assert job_submissions.op.pool == "fleet_api"
    assert dg.AssetKey("delivery_jobs") in upload_batches.dependency_keys


def test_the_resources_read_the_environment_and_hide_the_password(monkeypatch):
    monkeypatch.setenv("FLEET_API_PASSWORD", "p4ss-from-env")
    monkeypatch.setenv("FLEET_ENDPOINT_POLICY", "single")
    monkeypatch.delenv("FLEET_API_BASE_URL", raising=False)
    monkeypatch.setenv("FLEET_API_REGION", "sg")
    resource = FleetApiResource.from_settings()
    assert isinstance(resource.password, dg.EnvVar)
    assert resource.endpoint_policy == "single"
    assert resource.send_settings().api.base_url == "https://fleetapi-sg.cartrack.com/rest"
    monkeypatch.delenv("FLEET_API_PASSWORD")
    unset = FleetApiResource.from_settings()
    assert unset.password is None
    assert unset.send_settings().api.password == "demo-password"
    assert LedgerResource.from_settings().db_url.startswith("sqlite:///")
