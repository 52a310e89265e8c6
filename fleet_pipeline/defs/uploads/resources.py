"""The Fleet API account and sending policy, as a Dagster resource.

Values come from the environment (uploads/settings.py lists the variables). The API password is
held as an EnvVar when FLEET_API_PASSWORD is set, so the Dagster UI shows the variable's name,
never its value; unset, the local simulator's demo password is used at run time.
"""

from __future__ import annotations

import os
from datetime import timedelta

import dagster as dg
from pydantic import Field

from fleet_pipeline.config import Settings
from fleet_pipeline.fleet_api import region_base_url
from fleet_pipeline.ledger.states import RetryPolicy
from fleet_pipeline.uploads.batching import UploadLimits
from fleet_pipeline.uploads.settings import DEMO_PASSWORD, ApiSettings, SendSettings


def _from_env(name: str, default: str | None) -> str | None:
    return dg.EnvVar(name) if os.environ.get(name) else default


class FleetApiResource(dg.ConfigurableResource):
    """The Fleet API account the jobs are sent to, and how they are sent."""

    base_url: str = Field(description="API base URL (FLEET_API_BASE_URL); default: the local "
                                      "simulator. Ignored when `region` is set.")
    region: str | None = Field(default=None, description="Account region, e.g. `za` "
                               "(FLEET_API_REGION): https://fleetapi-<region>.cartrack.com/rest.")
    username: str = Field(description="Account user name (FLEET_API_USERNAME).")
    password: str | None = Field(default=None, description="API password (FLEET_API_PASSWORD); "
                                 "empty: the simulator's demo password.")
    connect_timeout_seconds: float = Field(default=10.0)
    read_timeout_seconds: float = Field(
        default=60.0, description="A create can take 11 s; a time-out makes its outcome unknown.")
    rate_limit_per_minute: int = Field(
        default=1000, description="The account's request budget, shared by every run "
        "(FLEET_API_RATE_LIMIT_PER_MINUTE; 0: no pacing).")
    webhook_field: str = Field(default="webhook_url", description="Form field of the callback "
                               "address: `webhook_url` (spec) or `webhooks_url` (guide).")
    webhook_public_url: str = Field(description="Public base URL of the webhook receiver "
                                    "(FLEET_WEBHOOK_PUBLIC_URL).")
    endpoint_policy: str = Field(default="auto", description="`auto`, `bulk` or `single` "
                                 "(FLEET_ENDPOINT_POLICY).")
    single_max_jobs: int = Field(default=100, description="auto: days with fewer jobs to send "
                                 "go one by one (FLEET_SINGLE_MAX_JOBS).")
    single_concurrency: int = Field(default=200, description="Creates in flight at once "
                                    "(FLEET_SINGLE_CONCURRENCY).")
    probe_concurrency: int = Field(default=32, description="Look-ups by reference at once.")
    callback_deadline_minutes: float = Field(
        default=60.0, description="How long an accepted upload's jobs await their callback "
        "(FLEET_CALLBACK_DEADLINE_MINUTES).")
    in_flight_timeout_seconds: float = Field(
        default=900.0, description="A send unanswered this long lost its sender "
        "(FLEET_IN_FLIGHT_TIMEOUT_SECONDS).")
    upload_max_jobs: int = Field(default=1000, description="Jobs per bulk file, at most 1,000 "
                                 "(FLEET_UPLOAD_MAX_JOBS).")

    @classmethod
    def from_settings(cls) -> FleetApiResource:
        settings = SendSettings.from_env()
        region = None if os.environ.get("FLEET_API_BASE_URL") else \
            os.environ.get("FLEET_API_REGION") or None
        return cls(
            base_url=settings.api.base_url,
            region=region,
            username=settings.api.username,
            password=_from_env("FLEET_API_PASSWORD", None),
            connect_timeout_seconds=settings.api.connect_timeout_s,
            read_timeout_seconds=settings.api.read_timeout_s,
            rate_limit_per_minute=settings.api.rate_limit_per_minute,
            webhook_field=settings.webhook_field,
            webhook_public_url=settings.webhook_public_url,
            endpoint_policy=settings.endpoint_policy,
            single_max_jobs=settings.single_max_jobs,
            single_concurrency=settings.single_concurrency,
            probe_concurrency=settings.probe_concurrency,
            callback_deadline_minutes=settings.callback_deadline.total_seconds() / 60,
            in_flight_timeout_seconds=settings.in_flight_timeout.total_seconds(),
            upload_max_jobs=settings.limits.max_jobs,
        )

    def send_settings(self) -> SendSettings:
        return SendSettings(
            api=ApiSettings(
                base_url=region_base_url(self.region) if self.region else self.base_url,
                username=self.username,
                password=self.password or DEMO_PASSWORD,
                connect_timeout_s=self.connect_timeout_seconds,
                read_timeout_s=self.read_timeout_seconds,
                rate_limit_per_minute=self.rate_limit_per_minute,
            ),
            webhook_public_url=self.webhook_public_url,
            webhook_field=self.webhook_field,
            endpoint_policy=self.endpoint_policy,
            single_max_jobs=self.single_max_jobs,
            single_concurrency=self.single_concurrency,
            probe_concurrency=self.probe_concurrency,
            callback_deadline=timedelta(minutes=self.callback_deadline_minutes),
            in_flight_timeout=timedelta(seconds=self.in_flight_timeout_seconds),
            limits=UploadLimits(max_jobs=self.upload_max_jobs),
            retry=RetryPolicy.from_settings(Settings()),
        )
