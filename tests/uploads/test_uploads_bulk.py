"""Bulk uploads against the simulator: accepted, refused, 5xx, time-out, not sent."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from uploads_support import (
    DAY,
    fleet_references,
    fleet_uploads,
    payload,
    references,
    send_settings,
    sim_config,
    states,
    write_day,
)

from fleet_pipeline.fleet_api import RetryPolicy
from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.states import RetryPolicy as JobRetryPolicy
from fleet_pipeline.ledger.tables import uploads
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.uploads.batching import UploadLimits
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.planning import upload_path
from fleet_pipeline.uploads.run import batch_day, send_day

REFS = references(20)
# A job found absent by a probe may be sent again at once.
NO_BACKOFF = JobRetryPolicy(base=timedelta(0))


def run_day(engine, ledger_url, data_dir, settings, **connection):
    lines: list[str] = []
    batch_day(engine, data_dir, DAY, settings)
    with FleetConnection(settings.api, ledger_url, **connection) as fleet:
        result = send_day(engine, fleet, data_dir, DAY, settings, log=lines.append)
    return result, lines


def wait_for_uploads(root_url, count, timeout_s=10.0):
    deadline = time.monotonic() + timeout_s
    while len(fleet_uploads(root_url)) < count:
        assert time.monotonic() < deadline, "the simulator did not take the files in"
        time.sleep(0.05)


def upload_rows(engine):
    with engine.connect() as conn:
        return {row.upload_id: row for row in conn.execute(uploads.select())}


@pytest.fixture
def day_of_twenty(data_dir):
    write_day(data_dir, DAY, [payload(ref) for ref in REFS])


def bulk_settings(base_url, **overrides):
    return send_settings(base_url, endpoint_policy="bulk", limits=UploadLimits(max_jobs=10),
                         **overrides)


def test_accepted_uploads_await_their_callback_with_a_verifiable_address(
        engine, ledger_url, data_dir, day_of_twenty, callbacks):
    with running_simulator(sim_config(), callback_transport=callbacks) as sim:
        settings = bulk_settings(sim.base_url)
        before = datetime.now(UTC)
        result, lines = run_day(engine, ledger_url, data_dir, settings)
        assert sim.flush()
        sent = fleet_uploads(sim.root_url)
    assert result.send.uploads_sent == 2 and result.send.outcomes == {"accepted": 20}
    assert result.counts["submitted"] == 20
    assert [line.split(" ")[1] for line in lines if line.startswith("upload ")] == ["1/2", "2/2"]
    assert lines[-2] == f"{DAY}: 2 uploads sent, 20 jobs bulk in " + lines[-2].split(" in ")[1]
    assert lines[-1] == f"{DAY}: jobs per state: submitted 20"
    with engine.connect() as conn:
        deadline = ledger.get_job(conn, REFS[0]).deadline_at - before
    assert timedelta(minutes=29) < deadline < timedelta(minutes=31)
    rows = upload_rows(engine)
    assert {row.state for row in rows.values()} == {"accepted"}
    prefix = "https://hooks.example.com/callbacks/"
    for upload in sent:
        assert upload["webhook_url"].startswith(prefix)
        upload_id, token = upload["webhook_url"][len(prefix):].split("/")
        with engine.connect() as conn:
            assert ledger.verify_webhook_token(conn, upload_id, token)
        assert upload["filename"] == f"{upload_id}.csv"
        on_disk = upload_path(data_dir, DAY, upload_id).read_bytes()
        assert rows[upload_id].csv_bytes == len(on_disk)
        assert [row["reference_number"] for row in upload["rows"]] == \
            [ref for ref in REFS if ref in on_disk.decode()]
    # The token is a credential: it is in no log line.
    tokens = [upload["webhook_url"].rsplit("/", 1)[1] for upload in sent]
    assert not any(token in line for line in lines for token in tokens)


def test_a_refused_file_rejects_its_jobs_with_the_apis_reason(
        engine, ledger_url, data_dir, day_of_twenty, callbacks):
    with running_simulator(sim_config(max_upload_jobs=5), callback_transport=callbacks) as sim:
        result, _ = run_day(engine, ledger_url, data_dir, bulk_settings(sim.base_url))
        assert fleet_references(sim.root_url) == {}
    assert result.counts["rejected"] == 20
    (outcome, reason), jobs = next(iter(result.send.failures.items()))
    assert (outcome, jobs) == ("rejected", 20)
    assert reason.startswith("HTTP 422; The given data was invalid.; file:")
    with engine.connect() as conn:
        job = ledger.get_job(conn, REFS[0])
    assert job.rejection_class == "permanent" and job.last_error == reason
    assert {row.state for row in upload_rows(engine).values()} == {"refused"}


def test_a_5xx_leaves_the_jobs_unknown_until_the_callback_deadline(
        engine, ledger_url, data_dir, day_of_twenty, callbacks):
    config = sim_config(faults={"error_rate": {"bulk_upload": 1.0}})
    with running_simulator(config, callback_transport=callbacks) as sim:
        settings = bulk_settings(sim.base_url, retry=NO_BACKOFF)
        result, _ = run_day(engine, ledger_url, data_dir, settings)
        assert result.counts["unknown"] == 20
        assert result.send.outcomes == {"unknown": 20}
        assert {row.state for row in upload_rows(engine).values()} == {"unknown"}
        # The API may still be processing a file it did not answer for: no probe yet.
        again, _ = run_day(engine, ledger_url, data_dir, settings)
        assert again.recovery.held == 20 and again.recovery.probed == 0
        assert again.send.jobs_sent == 0
        # Past the deadline the jobs are looked up, found absent, and sent again.
        late = bulk_settings(sim.base_url, retry=NO_BACKOFF, callback_deadline=timedelta(0))
        third, _ = run_day(engine, ledger_url, data_dir, late)
        assert (third.recovery.probed, third.recovery.absent) == (20, 20)
        assert third.send.jobs_sent == 20
        assert fleet_references(sim.root_url) == {}


def test_a_time_out_is_unknown_and_the_probe_finds_what_the_api_created(
        engine, ledger_url, data_dir, day_of_twenty, callbacks):
    config = sim_config(faults={"latency": {"bulk_upload": 1.5}})
    with running_simulator(config, callback_transport=callbacks) as sim:
        settings = bulk_settings(sim.base_url, read_timeout_s=0.3, retry=NO_BACKOFF,
                                 callback_deadline=timedelta(0))
        result, _ = run_day(engine, ledger_url, data_dir, settings)
        assert result.counts["unknown"] == 20
        assert "ReadTimeout" in next(iter(result.send.failures))[1]
        # The simulator takes each file in after its latency, when the client has given up.
        wait_for_uploads(sim.root_url, 2)
        assert sim.flush()
        again, _ = run_day(engine, ledger_url, data_dir, settings)
        assert (again.recovery.found, again.send.jobs_sent) == (20, 0)
        assert again.counts["created"] == 20
        assert fleet_references(sim.root_url) == dict.fromkeys(REFS, 1)
        assert len(fleet_uploads(sim.root_url)) == 2


def test_a_file_not_sent_goes_back_to_the_queue_and_the_run_stops(
        engine, ledger_url, data_dir, day_of_twenty):
    settings = bulk_settings("http://127.0.0.1:9/rest")
    result, lines = run_day(engine, ledger_url, data_dir, settings,
                            retry_policy=RetryPolicy(max_attempts=1))
    assert result.counts["queued"] == 20
    assert result.send.uploads_sent == 1 and result.send.outcomes == {"not_sent": 10}
    assert "stopped after upload 1/2: the next would fail alike" in lines
    assert {row.state for row in upload_rows(engine).values()} == {"planned"}
    assert states(engine, REFS[:1]) == {REFS[0]: "queued"}
    with engine.connect() as conn:
        assert ledger.get_job(conn, REFS[0]).attempts == 0
