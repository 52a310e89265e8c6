"""Single creates against the simulator: created, refused with a message, lost answers."""

from __future__ import annotations

import time
from datetime import timedelta

from uploads_support import (
    DAY,
    CountingTransport,
    fleet_references,
    payload,
    references,
    send_settings,
    sim_config,
    write_day,
)

from fleet_pipeline.fleet_api import RetryPolicy
from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.states import RetryPolicy as JobRetryPolicy
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.run import batch_day, send_day

REFS = references(12)


def run_day(engine, ledger_url, data_dir, settings, **connection):
    lines: list[str] = []
    batch_day(engine, data_dir, DAY, settings)
    with FleetConnection(settings.api, ledger_url, **connection) as fleet:
        result = send_day(engine, fleet, data_dir, DAY, settings, log=lines.append)
    return result, lines


def single_settings(base_url, **overrides):
    overrides.setdefault("single_concurrency", 4)
    return send_settings(base_url, endpoint_policy="single", **overrides)


def test_each_job_created_once_with_its_fleet_ids(engine, ledger_url, data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS])
    with running_simulator(sim_config()) as sim:
        result, lines = run_day(engine, ledger_url, data_dir, single_settings(sim.base_url))
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS, 1)
    assert result.endpoint == "single" and result.counts["created"] == 12
    assert result.send.outcomes == {"created": 12}
    assert "single: 12/12 jobs done (created 12)" in lines
    with engine.connect() as conn:
        job = ledger.get_job(conn, REFS[0])
    assert job.fleet_job_id is not None and job.fleet_order_id == f"ORD{job.fleet_job_id:09d}"
    assert job.endpoint == "single" and job.attempts == 1


def test_a_refusal_is_an_explicit_failure_with_its_status_and_message(
        engine, ledger_url, data_dir):
    bad = payload("BAD-1", job_type_id=9)
    write_day(data_dir, DAY, [bad, *(payload(ref) for ref in REFS[:3])])
    with running_simulator(sim_config()) as sim:
        result, lines = run_day(engine, ledger_url, data_dir, single_settings(sim.base_url))
        assert set(fleet_references(sim.root_url)) == set(REFS[:3])
    reason = "HTTP 422; The given data was invalid.; job_type_id: The selected job_type_id is " \
             "invalid."
    assert result.send.failures == {("rejected", reason): 1}
    assert f"BAD-1: not created: {reason}" in lines
    with engine.connect() as conn:
        job = ledger.get_job(conn, "BAD-1")
        history = ledger.job_history(conn, "BAD-1")
    assert (job.state, job.rejection_class, job.last_error) == ("rejected", "permanent", reason)
    assert history[-1]["detail"]["status"] == 422
    assert result.counts["created"] == 3


def test_a_lost_answer_is_unknown_then_found_by_its_reference_and_not_sent_again(
        engine, ledger_url, data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS])
    with running_simulator(sim_config(faults={"lost_response_rate": 1.0})) as sim:
        # No in-flight time-out: the lost creates are over, so they may be looked up at once.
        settings = single_settings(sim.base_url, retry=JobRetryPolicy(base=timedelta(0)),
                                   in_flight_timeout=timedelta(0))
        result, _ = run_day(engine, ledger_url, data_dir, settings)
        assert result.counts["unknown"] == 12
        assert next(iter(result.send.failures)) == (
            "unknown", "POST /delivery/jobs: 504 Gateway Time-out (cause='server error')")
        network = CountingTransport()
        again, _ = run_day(engine, ledger_url, data_dir, settings, async_transport=network,
                           transport=network)
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS, 1)
    assert (again.recovery.probed, again.recovery.found) == (12, 12)
    assert again.counts["created"] == 12 and again.send.jobs_sent == 0
    assert network.posts() == 0 and len(network.requests) == 12
    with engine.connect() as conn:
        events = [e["event"] for e in ledger.job_history(conn, REFS[0])]
    assert events == ["planned", "single_intent", "outcome_unknown", "probe_found"]


def test_a_create_slower_than_the_read_timeout_is_not_looked_up_before_it_ends(
        engine, ledger_url, data_dir):
    """The API creates the job after the client gave up waiting: a look-up right after the
    time-out finds nothing, and sending again would create the job twice (found by the chaos
    suite). The job waits for the in-flight time-out since its create, then is found."""
    write_day(data_dir, DAY, [payload(ref) for ref in REFS[:3]])
    with running_simulator(sim_config(faults={"latency": {"create": 1.0}})) as sim:
        settings = single_settings(sim.base_url, read_timeout_s=0.3,
                                   in_flight_timeout=timedelta(seconds=2),
                                   retry=JobRetryPolicy(base=timedelta(0)))
        first, _ = run_day(engine, ledger_url, data_dir, settings)
        assert first.counts["unknown"] == 3
        again, _ = run_day(engine, ledger_url, data_dir, settings)
        assert (again.recovery.held, again.recovery.probed, again.send.jobs_sent) == (3, 0, 0)
        time.sleep(2.1)
        late, _ = run_day(engine, ledger_url, data_dir, settings)
        assert (late.recovery.probed, late.recovery.found) == (3, 3)
        assert late.send.jobs_sent == 0 and late.counts["created"] == 3
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS[:3], 1)


def test_creates_run_side_by_side_within_the_bound(engine, ledger_url, data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in references(16)])
    config = sim_config(faults={"latency": {"create": 0.4}})
    with running_simulator(config) as sim:
        started = time.monotonic()
        result, _ = run_day(engine, ledger_url, data_dir, single_settings(sim.base_url))
        elapsed = time.monotonic() - started
    assert result.counts["created"] == 16
    # Four at a time: four waves of 0.4 s, where one at a time would take 6.4 s.
    assert 1.6 <= elapsed < 4.0


def test_an_unreachable_api_leaves_the_jobs_queued(engine, ledger_url, data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS])
    settings = single_settings("http://127.0.0.1:9/rest", single_concurrency=1)
    result, lines = run_day(engine, ledger_url, data_dir, settings,
                            retry_policy=RetryPolicy(max_attempts=1))
    assert result.counts["queued"] == 12
    assert result.send.outcomes == {"not_sent": 1}
    assert "single: 11 jobs left queued: the API could not take them now" in lines
