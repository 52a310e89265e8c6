"""End to end against the simulator and the real receiver: three bulk uploads of five jobs, one
job of each refused by the API for its data; the first callback is lost, the second arrives
twice, the third upload never reaches Fleet (a 503). The sensor asks for the day, the Dagster
reconciliation finds each case, creates the absent jobs once by single create, and its
escalation report lists exactly what needs a person."""

from __future__ import annotations

import csv
import json
import time
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import sqlalchemy as sa
from click.testing import CliRunner
from e2e_support import (
    PASSWORD,
    USER,
    LossyCallbacks,
    OneUploadRefused,
    fleet_references,
    payload,
    sim_config,
    write_day,
)

from fleet_pipeline.cli import main
from fleet_pipeline.definitions import defs
from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.reconcile.assets import reconciliation
from fleet_pipeline.defs.reconcile.checks import reconciliation_checks
from fleet_pipeline.defs.reconcile.resources import ReconciliationResource
from fleet_pipeline.defs.reconcile.sensors import reconciliation_sensor
from fleet_pipeline.defs.uploads.resources import FleetApiResource
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import uploads
from fleet_pipeline.simulator import running_simulator
from fleet_pipeline.uploads.batching import UploadLimits
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.run import batch_day, send_day
from fleet_pipeline.uploads.settings import ApiSettings, SendSettings
from fleet_pipeline.webhooks.server import running_receiver

DAY = date(2026, 11, 30)
KEY = DAY.isoformat()
REFS = [f"E2E-{i:02d}" for i in range(15)]
REFUSED = {REFS[2], REFS[7], REFS[12]}  # one per upload of five: quantity 0
DEADLINE_S = 2.0


def wait_past_deadlines(engine) -> None:
    with engine.connect() as conn:
        latest = max(row.deadline_at or row.sent_at + timedelta(seconds=DEADLINE_S)
                     for row in conn.execute(sa.select(uploads)))
    time.sleep(max(0.0, (latest - datetime.now(UTC)).total_seconds() + 0.2))


def test_reconciliation_finds_each_case_retries_once_and_reports_the_rest(
        tmp_path, monkeypatch):
    monkeypatch.setenv("FLEET_RETRY_BASE_SECONDS", "0")  # absent jobs may be sent again at once
    db_url = f"sqlite:///{tmp_path / 'pipeline.sqlite'}"
    data_dir = tmp_path / "data"
    engine = make_engine(db_url)
    migrate.ensure_schema(engine)
    write_day(data_dir, DAY, [payload(r, 0 if r in REFUSED else 2) for r in REFS],
              rejected=["BAD-1"])
    with engine.begin() as conn:
        ledger.record_validation_rejections(conn, DAY, [
            {"reference_number": "BAD-1", "record": "delivery", "row_position": 15,
             "column": "contact_phone", "check": "phone_format", "value": "0***(10)"}])

    callbacks = LossyCallbacks(PASSWORD)
    with running_receiver(engine, PASSWORD) as receiver, \
            running_simulator(sim_config(), callback_transport=callbacks) as sim:
        api = ApiSettings(base_url=sim.base_url, username=USER, password=PASSWORD,
                          read_timeout_s=10.0, rate_limit_per_minute=0)
        settings = SendSettings(api=api, webhook_public_url=receiver, endpoint_policy="bulk",
                                limits=UploadLimits(max_jobs=5),
                                callback_deadline=timedelta(seconds=DEADLINE_S))
        batch_day(engine, data_dir, DAY, settings)
        with FleetConnection(api, db_url, transport=OneUploadRefused(3)) as fleet:
            sent = send_day(engine, fleet, data_dir, DAY, settings)
        assert sent.send.outcomes == {"accepted": 10, "unknown": 5}
        assert sim.flush()
        assert len(callbacks.lost) == 1 and len(callbacks.doubled) == 1
        wait_past_deadlines(engine)

        # Every upload is called back or past its deadline: the sensor asks for the day.
        with dg.build_sensor_context(definitions=defs, resources={
                "ledger": LedgerResource(db_url=db_url)}) as context:
            tick = reconciliation_sensor.evaluate_tick(context)
        assert [r.partition_key for r in tick.run_requests] == [KEY]

        resources = {
            "ledger": LedgerResource(db_url=db_url),
            "partition_store": PartitionStoreResource(data_dir=str(data_dir)),
            "fleet_api": FleetApiResource(
                base_url=sim.base_url, username=USER, password=PASSWORD,
                webhook_public_url=receiver, rate_limit_per_minute=0, endpoint_policy="bulk",
                callback_deadline_minutes=DEADLINE_S / 60),
            "reconcile_settings": ReconciliationResource(),
        }
        result = dg.materialize([reconciliation, *reconciliation_checks], partition_key=KEY,
                                resources=resources)
        assert result.success
        in_fleet = fleet_references(sim.root_url)

    # Retries created every absent job once; nothing is held twice; refused jobs never exist.
    assert in_fleet == {r: 1 for r in REFS if r not in REFUSED}
    (materialization,) = result.asset_materializations_for_node("reconciliation")
    meta = {key: value.value for key, value in materialization.metadata.items()}
    assert {k: meta[k] for k in ("created", "created_twice", "rejected_by_api",
                                 "rejected_by_validation", "awaiting_confirmation", "overdue",
                                 "not_sent", "unexpected")} == {
        "created": 12, "created_twice": 0, "rejected_by_api": 3, "rejected_by_validation": 1,
        "awaiting_confirmation": 0, "overdue": 0, "not_sent": 0, "unexpected": 0}
    # One upload's callback landed, twice (the repeat in other bytes); the other's was lost.
    # The lost upload's five jobs and the refused upload's five were looked up, and the six
    # absent ones (the lost upload's refused job, the 503 upload's five) sent again.
    assert meta["callback_events_taken"] == 2 and meta["repeated_callbacks"] == 1
    assert meta["jobs_looked_up"] == 10 and meta["jobs_retried"] == 6
    assert meta["escalations_open"] == 4 and meta["creation_rate"] == 0.8
    assert "c.customer@example.com" not in json.dumps({k: str(v) for k, v in meta.items()})
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {"every_job_accounted_for": True, "no_reference_created_twice": True,
                      "unconfirmed_within_sla": True}

    with open(meta["escalation_report"], encoding="utf-8") as report:
        rows = list(csv.DictReader(report))
    assert sorted((row["reason"], row["reference_number"]) for row in rows) == [
        ("api_rejected", r) for r in sorted(REFUSED)] + [("invalid_data", "BAD-1")]

    monkeypatch.setenv("FLEET_DB_URL", db_url)
    monkeypatch.setenv("FLEET_DATA_DIR", str(data_dir))
    out = CliRunner().invoke(main, ["status", "--date", KEY, "--json"])
    assert out.exit_code == 0, out.output
    status = json.loads(out.output)
    assert status["extracted"] == 16 == sum(status["states"].values())
    assert status["states"]["created"] == 12 and status["duplicates"] == 0
    assert status["escalated"] == 4 and status["report_path"] == meta["escalation_report"]
    engine.dispose()
