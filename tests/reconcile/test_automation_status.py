"""FLEET_AUTOMATION_DEFAULT_STATUS: the schedule and the sensor start stopped in development and
running where deploy/ says so; any other value stops the code location with a clear message."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from fleet_pipeline.defs.reconcile.schedules import build_upload_schedule
from fleet_pipeline.defs.reconcile.sensors import build_reconciliation_sensor
from fleet_pipeline.reconcile.settings import ReconcileSettings

ROOT = Path(__file__).resolve().parents[2]


def statuses(monkeypatch, value: str | None) -> tuple[str, str]:
    if value is None:
        monkeypatch.delenv("FLEET_AUTOMATION_DEFAULT_STATUS", raising=False)
    else:
        monkeypatch.setenv("FLEET_AUTOMATION_DEFAULT_STATUS", value)
    settings = ReconcileSettings.from_env()
    schedule = build_upload_schedule(settings)
    sensor = build_reconciliation_sensor(settings)
    return schedule.default_status.value, sensor.default_status.value


@pytest.mark.parametrize("value", [None, "", "stopped", " STOPPED "])
def test_automation_starts_stopped_by_default(monkeypatch, value):
    assert statuses(monkeypatch, value) == (dg.DefaultScheduleStatus.STOPPED.value,
                                            dg.DefaultSensorStatus.STOPPED.value)


@pytest.mark.parametrize("value", ["running", "Running"])
def test_automation_starts_running_when_asked(monkeypatch, value):
    assert statuses(monkeypatch, value) == (dg.DefaultScheduleStatus.RUNNING.value,
                                            dg.DefaultSensorStatus.RUNNING.value)


@pytest.mark.parametrize("value", ["on", "true", "RUNNING!"])
def test_any_other_value_is_refused_naming_the_variable(monkeypatch, value):
    monkeypatch.setenv("FLEET_AUTOMATION_DEFAULT_STATUS", value)
    with pytest.raises(ValueError, match=r"FLEET_AUTOMATION_DEFAULT_STATUS must be `stopped` or "
                                         r"`running`, got '.+'"):
        ReconcileSettings.from_env()


def test_the_helm_user_code_deployment_runs_the_automation():
    values = yaml.safe_load((ROOT / "deploy" / "helm" / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    env = {item["name"]: item.get("value") for item in deployment["env"]}
    assert env["FLEET_AUTOMATION_DEFAULT_STATUS"] == "running"
    ReconcileSettings(automation_default_status=env["FLEET_AUTOMATION_DEFAULT_STATUS"])


def test_the_operations_guide_sets_it_for_deployments():
    text = (ROOT / "docs" / "operations.md").read_text()
    assert "FLEET_AUTOMATION_DEFAULT_STATUS=running" in text
