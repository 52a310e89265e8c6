"""The retry step against the simulator: absent jobs sent again once, attempts bounded, data
rejections held until the ERP row changes."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from e2e_support import PASSWORD, USER, fleet_references, payload, sim_config
from reconcile_support import created, job_states, land, plan, rejected, send_upload

from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.states import RetryPolicy
from fleet_pipeline.reconcile.retry import retries_due, retry_day
from fleet_pipeline.reconcile.run import reconcile_day
from fleet_pipeline.reconcile.settings import ReconcileSettings
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.settings import ApiSettings, SendSettings

DAY = datetime.now(UTC).date() - timedelta(days=1)
REFS = ["R-0", "R-1", "R-2"]


@pytest.fixture
def sent_day(engine):
    """Three jobs in one accepted upload whose callback deadline passed with no callback;
    Fleet never received them."""
    past = datetime.now(UTC) - timedelta(hours=2)
    with engine.begin() as conn:
        ledger.plan_jobs(conn, DAY, [(r, f"h-{r}", json.dumps(payload(r))) for r in REFS],
                         now=past)
        send_upload(conn, "U1", DAY, REFS, now=past, deadline=past + timedelta(minutes=30))
    return engine


def retry_settings(base_url: str, max_attempts: int) -> SendSettings:
    return SendSettings(api=ApiSettings(base_url=base_url, username=USER, password=PASSWORD,
                                        read_timeout_s=10.0, rate_limit_per_minute=0),
                        retry=RetryPolicy(max_attempts=max_attempts, base=timedelta(0)))


def reconcile_with_retries(engine, db_url, tmp_path, sim, max_attempts):
    settings = retry_settings(sim.base_url, max_attempts)
    with FleetConnection(settings.api, db_url) as fleet:
        return reconcile_day(engine, DAY, tmp_path, ReconcileSettings(),
                             retry=lambda: retry_day(engine, fleet, DAY, settings))


def test_absent_jobs_are_looked_up_then_created_once(sent_day, db_url, tmp_path):
    with running_simulator(sim_config()) as sim:
        first = reconcile_with_retries(sent_day, db_url, tmp_path, sim, max_attempts=5)
        second = reconcile_with_retries(sent_day, db_url, tmp_path, sim, max_attempts=5)
        in_fleet = fleet_references(sim.root_url)
    assert first.retry.recovery.overdue == 3 and first.retry.recovery.absent == 3
    assert first.retry.retried == 3 and first.counts["created"] == 3
    assert second.retry.retried == 0 and second.retry.recovery.probed == 0
    assert in_fleet == dict.fromkeys(REFS, 1)
    assert first.escalations.total_open == 0


def test_attempts_are_bounded_then_a_person_is_asked(sent_day, db_url, tmp_path):
    with running_simulator(sim_config()) as sim:
        result = reconcile_with_retries(sent_day, db_url, tmp_path, sim, max_attempts=1)
        in_fleet = fleet_references(sim.root_url)
    assert in_fleet == {} and result.retry.retried == 0
    assert result.counts["overdue"] == 3
    assert result.escalations.open["retries_exhausted"] == 3
    assert set(job_states(sent_day, REFS).values()) == {"escalated"}


def plan_day(engine, references, now):
    with engine.begin() as conn:
        ledger.plan_jobs(conn, DAY, [(r, f"h-{r}", json.dumps(payload(r))) for r in references],
                         now=now)


def test_jobs_a_rate_limited_send_left_queued_are_sent_by_the_retry(engine, db_url, tmp_path):
    """A 429 burst outlasting the client's waits stops the day's send: the refused job goes
    back to the queue with no attempt counted, the jobs after it were never tried. The day has
    been sent, so the retry sends them (found by the chaos suite: they stayed unsent)."""
    refs = ["Q-0", "Q-1", "Q-2"]
    past = datetime.now(UTC) - timedelta(minutes=5)
    plan_day(engine, refs, past)
    with engine.begin() as conn:
        assert retries_due(conn, DAY, past) == []  # nothing sent yet: left to the send
        ledger.record_single_intent(conn, "Q-0", now=past)
        ledger.record_single_outcome(conn, "Q-0", "not_sent", message="HTTP 429",
                                     next_attempt_at=past + timedelta(seconds=1), now=past)
    with running_simulator(sim_config()) as sim:
        result = reconcile_with_retries(engine, db_url, tmp_path, sim, max_attempts=5)
        in_fleet = fleet_references(sim.root_url)
    assert result.retry.retried == 3 and result.counts["created"] == 3
    assert in_fleet == dict.fromkeys(refs, 1)


def test_a_day_never_sent_is_left_to_the_send(engine):
    plan_day(engine, ["P-0", "P-1"], datetime.now(UTC))
    with engine.connect() as conn:
        assert retries_due(conn, DAY, datetime.now(UTC)) == []


def test_a_data_rejection_waits_for_a_changed_erp_row(engine, tmp_path):
    now = datetime.now(UTC) - timedelta(hours=1)
    with engine.begin() as conn:
        plan(conn, DAY, REFS, now=now)
        send_upload(conn, "U1", DAY, REFS, now=now, deadline=now + timedelta(hours=2))
    land(engine, "U1", [created(REFS[0], 1), created(REFS[1], 2),
                        rejected(REFS[2], **{"items.0.quantity": ["must be greater than 0"]})])
    reconcile_day(engine, DAY, tmp_path, ReconcileSettings())
    with engine.begin() as conn:
        # What the retry step's recovery does with rejected jobs: permanent ones escalate.
        ledger.schedule_retries(conn, policy=RetryPolicy())
        assert retries_due(conn, DAY, datetime.now(UTC)) == []
        plan(conn, DAY, [REFS[2]])  # the same ERP row again: still escalated
    assert job_states(engine, [REFS[2]]) == {REFS[2]: "escalated"}
    result = reconcile_day(engine, DAY, tmp_path, ReconcileSettings())
    assert result.escalations.open["api_rejected"] == 1
    with engine.begin() as conn:
        ledger.plan_jobs(conn, DAY, [(REFS[2], "fixed-hash", json.dumps(payload(REFS[2])))])
        job = ledger.get_job(conn, REFS[2])
    assert (job.state, job.attempts) == ("queued", 0)  # sent again by the upload chain
    after = reconcile_day(engine, DAY, tmp_path, ReconcileSettings())
    assert after.escalations.resolved == 1 and after.escalations.total_open == 0
    assert after.counts["not_sent"] == 1
