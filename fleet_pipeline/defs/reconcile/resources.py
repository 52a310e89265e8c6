"""The reconciliation's settings as a Dagster resource (values from reconcile/settings.py).

The escalation webhook URL carries a credential: it is held as an EnvVar when
FLEET_ESCALATION_WEBHOOK_URL is set, so the UI shows the variable's name, never its value.
"""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg
from pydantic import Field

from fleet_pipeline.reconcile.settings import ReconcileSettings


class ReconciliationResource(dg.ConfigurableResource):
    """How long a job may stay unconfirmed, and who hears of new escalations."""

    confirmation_sla_minutes: float = Field(
        default=240.0, description="A job awaiting confirmation or overdue for longer is "
        "escalated as `unconfirmed` (FLEET_CONFIRMATION_SLA_MINUTES).")
    escalation_webhook_url: str | None = Field(
        default=None, description="Slack-compatible incoming webhook told of new escalations "
        "(FLEET_ESCALATION_WEBHOOK_URL); empty: no notification.")
    retry: bool = Field(default=True, description="Look overdue jobs up and send retries "
                        "through the Fleet API during the reconciliation.")

    @classmethod
    def from_settings(cls, settings: ReconcileSettings | None = None) -> ReconciliationResource:
        settings = settings or ReconcileSettings.from_env()
        url = dg.EnvVar("FLEET_ESCALATION_WEBHOOK_URL") \
            if os.environ.get("FLEET_ESCALATION_WEBHOOK_URL") else None
        return cls(confirmation_sla_minutes=settings.confirmation_sla.total_seconds() / 60,
                   escalation_webhook_url=url)

    def settings(self) -> ReconcileSettings:
        return ReconcileSettings(confirmation_sla=timedelta(minutes=self.confirmation_sla_minutes),
                                 webhook_url=self.escalation_webhook_url or None)
