"""The reconciliation's settings, from the environment (every variable optional).

FLEET_CONFIRMATION_SLA_MINUTES   how long a job may stay unconfirmed (awaiting its callback or
                                 overdue) before the SLA check warns and it is escalated (240)
FLEET_ESCALATION_WEBHOOK_URL     Slack-compatible incoming webhook told of new escalations
                                 (empty: no notification); it holds a credential, never logged
FLEET_SCHEDULE_CRON              when the daily upload chain runs (cron, default "0 16 * * *")
FLEET_SCHEDULE_TIMEZONE          the cron's time zone (default UTC)
FLEET_SCHEDULE_DAYS_AHEAD        which delivery dates it sends: today + 1 ... today + N (1)
FLEET_SENSOR_MAX_EVENTS          callback events the sensor reads per tick at most (2000)
FLEET_AUTOMATION_DEFAULT_STATUS  whether the schedule and the sensor start on their own when the
                                 code location loads: `stopped` (default, for development) or
                                 `running` (deployments)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

AUTOMATION_STATUSES = ("stopped", "running")


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None


@dataclass(frozen=True)
class ReconcileSettings:
    confirmation_sla: timedelta = timedelta(hours=4)
    webhook_url: str | None = field(default=None, repr=False)
    schedule_cron: str = "0 16 * * *"
    schedule_timezone: str = "UTC"
    schedule_days_ahead: int = 1
    sensor_max_events: int = 2000
    # Stopped unless a deployment says otherwise: `dagster dev` on a laptop must not start
    # sending against an API that is not running.
    automation_default_status: str = "stopped"

    def __post_init__(self) -> None:
        if self.automation_default_status not in AUTOMATION_STATUSES:
            raise ValueError("FLEET_AUTOMATION_DEFAULT_STATUS must be `stopped` or `running`, "
                             f"got {self.automation_default_status!r}")
        if self.schedule_days_ahead < 1:
            raise ValueError("the schedule sends at least one day ahead")
        if self.sensor_max_events < 1:
            raise ValueError("the sensor reads at least one event per tick")

    @classmethod
    def from_env(cls) -> ReconcileSettings:
        return cls(
            confirmation_sla=timedelta(minutes=_number("FLEET_CONFIRMATION_SLA_MINUTES", 240)),
            webhook_url=os.environ.get("FLEET_ESCALATION_WEBHOOK_URL") or None,
            schedule_cron=os.environ.get("FLEET_SCHEDULE_CRON") or "0 16 * * *",
            schedule_timezone=os.environ.get("FLEET_SCHEDULE_TIMEZONE") or "UTC",
            schedule_days_ahead=int(_number("FLEET_SCHEDULE_DAYS_AHEAD", 1)),
            sensor_max_events=int(_number("FLEET_SENSOR_MAX_EVENTS", 2000)),
            automation_default_status=(os.environ.get("FLEET_AUTOMATION_DEFAULT_STATUS", "")
                                       .strip().lower() or "stopped"),
        )

    @property
    def automation_running(self) -> bool:
        """Whether the schedule and the sensor are declared running when the code loads."""
        return self.automation_default_status == "running"
