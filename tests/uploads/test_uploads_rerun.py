"""Running a day again: nothing sent twice, changed rows reported, interrupted sends finished."""

from __future__ import annotations

from datetime import timedelta

import pytest
from uploads_support import (
    DAY,
    CountingTransport,
    fleet_references,
    payload,
    references,
    send_settings,
    sim_config,
    states,
    write_day,
)

from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.states import RetryPolicy as JobRetryPolicy
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.uploads.batching import UploadLimits
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.run import batch_day, send_day

REFS = references(15)


def run_day(engine, ledger_url, data_dir, settings, network=None):
    batch = batch_day(engine, data_dir, DAY, settings)
    with FleetConnection(settings.api, ledger_url, transport=network,
                         async_transport=network) as fleet:
        return batch, send_day(engine, fleet, data_dir, DAY, settings)


@pytest.mark.parametrize("policy", ["bulk", "single"])
def test_a_day_sent_once_sends_nothing_the_second_time(engine, ledger_url, data_dir, policy,
                                                       callbacks):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS])
    with running_simulator(sim_config(), callback_transport=callbacks) as sim:
        settings = send_settings(sim.base_url, endpoint_policy=policy,
                                 limits=UploadLimits(max_jobs=10))
        first_network, second_network = CountingTransport(), CountingTransport()
        _, first = run_day(engine, ledger_url, data_dir, settings, first_network)
        assert sim.flush()
        batch, second = run_day(engine, ledger_url, data_dir, settings, second_network)
        assert sim.flush()
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS, 1)
    assert first_network.posts() == (2 if policy == "bulk" else 15)
    assert second_network.requests == []
    assert batch.queued == 0 and batch.cut is None
    assert second.endpoint is None and second.send.jobs_sent == 0
    assert second.counts == first.counts


def test_a_row_changed_after_creation_is_reported_not_sent(engine, ledger_url, data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS[:3]])
    with running_simulator(sim_config()) as sim:
        settings = send_settings(sim.base_url, endpoint_policy="single")
        run_day(engine, ledger_url, data_dir, settings)
        changed = payload(REFS[0], items=[{"description": "Two boxes", "quantity": 2}])
        write_day(data_dir, DAY, [changed, *(payload(ref) for ref in REFS[1:3])])
        network = CountingTransport()
        batch, _ = run_day(engine, ledger_url, data_dir, settings, network)
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS[:3], 1)
    assert batch.plan.result.changed_after_send == [(REFS[0], "created")]
    assert network.posts() == 0


def test_a_delivery_gone_from_the_erp_is_withdrawn_before_it_is_sent(engine, data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS[:3]])
    settings = send_settings("http://127.0.0.1:9/rest")
    batch_day(engine, data_dir, DAY, settings)
    write_day(data_dir, DAY, [payload(ref) for ref in REFS[:2]])
    batch = batch_day(engine, data_dir, DAY, settings)
    assert batch.plan.withdrawn.changed == [REFS[2]]
    assert states(engine, REFS[:3])[REFS[2]] == "withdrawn"
    assert batch.queued == 2


def test_a_send_left_in_flight_is_probed_then_finished_without_a_duplicate(
        engine, ledger_url, data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS[:4]])
    with running_simulator(sim_config()) as sim:
        settings = send_settings(sim.base_url, endpoint_policy="single",
                                 in_flight_timeout=timedelta(0),
                                 retry=JobRetryPolicy(base=timedelta(0)))
        batch_day(engine, data_dir, DAY, settings)
        # A sender died after its intents: one job reached Fleet, one did not.
        with engine.begin() as conn:
            ledger.record_single_intent(conn, REFS[0])
            ledger.record_single_intent(conn, REFS[1])
        with FleetConnection(settings.api, ledger_url) as fleet, fleet.client() as client:
            client.create_job(payload(REFS[0]))
        _, result = run_day(engine, ledger_url, data_dir, settings)
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS[:4], 1)
    assert result.recovery.interrupted == 2
    assert (result.recovery.found, result.recovery.absent) == (1, 1)
    assert result.send.jobs_sent == 3 and result.counts["created"] == 4


def test_a_second_job_in_fleet_for_one_reference_is_recorded_as_a_duplicate(
        engine, ledger_url, data_dir):
    write_day(data_dir, DAY, [payload(REFS[0])])
    with running_simulator(sim_config()) as sim:
        settings = send_settings(sim.base_url, endpoint_policy="single",
                                 in_flight_timeout=timedelta(0))
        batch_day(engine, data_dir, DAY, settings)
        with engine.begin() as conn:
            ledger.record_single_intent(conn, REFS[0])
        with FleetConnection(settings.api, ledger_url) as fleet, fleet.client() as client:
            first = client.create_job(payload(REFS[0]))
            second = client.create_job(payload(REFS[0]))
        _, result = run_day(engine, ledger_url, data_dir, settings)
    assert result.recovery.duplicates == [REFS[0]]
    with engine.connect() as conn:
        job = ledger.get_job(conn, REFS[0])
    assert job.state == "created" and job.fleet_job_id == first.job_id
    assert str(second.job_id) in job.last_error
