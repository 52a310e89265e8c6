"""The schedule, the settings, the notification, the masking of free text and the status CLI."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import httpx
import pytest
from click.testing import CliRunner

from fleet_pipeline.cli import main
from fleet_pipeline.definitions import defs
from fleet_pipeline.defs.reconcile.schedules import build_upload_schedule, has_partition
from fleet_pipeline.ledger import migrate
from fleet_pipeline.reconcile.notify import escalation_message, notify
from fleet_pipeline.reconcile.report import scrub
from fleet_pipeline.reconcile.schedule import dates_to_send
from fleet_pipeline.reconcile.settings import ReconcileSettings


def test_the_schedule_sends_the_configured_days_ahead(monkeypatch):
    monkeypatch.setenv("FLEET_SCHEDULE_CRON", "30 5 * * *")
    monkeypatch.setenv("FLEET_SCHEDULE_DAYS_AHEAD", "1")
    schedule = build_upload_schedule(ReconcileSettings.from_env())
    assert schedule.cron_schedule == "30 5 * * *" and schedule.job_name == "upload_chain"
    fired = datetime.now(UTC).replace(hour=5, minute=30, second=0, microsecond=0)
    with dg.build_schedule_context(scheduled_execution_time=fired,
                                   repository_def=defs.get_repository_def()) as context:
        requests = schedule.evaluate_tick(context).run_requests
    tomorrow = fired.date() + timedelta(days=1)
    assert [(r.partition_key, r.run_key) for r in requests] == [
        (tomorrow.isoformat(), f"{tomorrow}@{fired.isoformat()}")]


def test_days_beyond_the_partitions_are_skipped_not_requested():
    schedule = build_upload_schedule(ReconcileSettings(schedule_days_ahead=3))
    with dg.build_schedule_context(scheduled_execution_time=datetime.now(UTC),
                                   repository_def=defs.get_repository_def()) as context:
        data = schedule.evaluate_tick(context)
    # FLEET_DAYS_AHEAD (2 by default) opens partitions up to tomorrow: the rest is skipped.
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    assert [r.partition_key for r in data.run_requests] == [tomorrow.isoformat()]
    assert has_partition(tomorrow, tomorrow - timedelta(days=1))
    assert not has_partition(tomorrow + timedelta(days=1), tomorrow - timedelta(days=1))
    assert not has_partition(date(2025, 12, 31), tomorrow)


def test_dates_to_send_and_settings_are_checked():
    assert dates_to_send(date(2026, 12, 31), 2) == [date(2027, 1, 1), date(2027, 1, 2)]
    with pytest.raises(ValueError):
        dates_to_send(date(2026, 12, 31), 0)
    with pytest.raises(ValueError):
        ReconcileSettings(sensor_max_events=0)
    assert "hooks.slack" not in repr(ReconcileSettings(webhook_url="https://hooks.slack/x"))


def test_free_text_is_masked():
    text = scrub('stops.0.contact_email: "jane.doe@example.com" is invalid; call +27 82 555 '
                 "0199 or 0825550199; customer_name 'Thandi Mokoena' unknown")
    assert "jane.doe" not in text and "555" not in text and "Thandi" not in text
    assert "stops.0.contact_email" in text and "@example.com" in text
    assert scrub(None) is None and len(scrub("x" * 2000)) == 500


def test_the_notification_is_slack_json_without_personal_data():
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="ok")

    message = escalation_message(
        date(2026, 3, 2), 12, {"api_rejected": 11, "invalid_data": 1},
        [("api_rejected", f"REF-{i}", "contact_email: a.person@example.com is invalid")
         for i in range(12)], None)
    outcome = notify("https://hooks.example.com/T/B/secret", message,
                     transport=httpx.MockTransport(answer))
    assert outcome == "escalation notification sent"
    body = json.loads(seen[0].content)
    assert set(body) == {"text"} and "12 new escalations" in body["text"]
    assert "a.person" not in body["text"] and "… and 2 more" in body["text"]
    refused = notify("https://hooks.example.com/T/B/secret", message,
                     transport=httpx.MockTransport(lambda r: httpx.Response(404)))
    assert refused == "escalation notification refused: HTTP 404" and "secret" not in refused


def test_status_in_the_terminal(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'p.sqlite'}"
    monkeypatch.setenv("FLEET_DB_URL", url)
    monkeypatch.setenv("FLEET_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    missing = runner.invoke(main, ["status", "--date", "2026-03-02"])
    assert missing.exit_code != 0 and "db upgrade" in missing.output
    migrate.upgrade(url)
    text = runner.invoke(main, ["status", "--date", "2026-03-02"])
    assert text.exit_code == 0, text.output
    assert "Deliveries of 2026-03-02: 0 extracted" in text.output
    assert "Not reconciled yet" in text.output
    as_json = json.loads(runner.invoke(main, ["status", "--date", "2026-03-02", "--json"]).output)
    assert as_json["extracted"] == 0 and as_json["duplicates"] == 0
    assert set(as_json["states"]) == {"created", "created_twice", "rejected_by_api",
                                      "rejected_by_validation", "awaiting_confirmation",
                                      "overdue", "not_sent"}
    bad = runner.invoke(main, ["status", "--date", "02/03/2026"])
    assert bad.exit_code == 2
