"""How the sender reaches the Fleet API and paces itself, from the environment.

Every variable is optional; the defaults talk to the local simulator (`fleet-pipeline simulator
serve`) with its demo account, which the real API rejects. The password never appears in a repr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from fleet_pipeline.config import Settings
from fleet_pipeline.fleet_api import Budget, Credentials, Timeouts, account_key, region_base_url
from fleet_pipeline.fleet_api.template import MAX_JOBS_PER_UPLOAD, MAX_UPLOAD_BYTES
from fleet_pipeline.ledger.states import RetryPolicy
from fleet_pipeline.uploads.batching import UploadLimits
from fleet_pipeline.uploads.policy import AUTO, POLICIES

# The local simulator and its demo account (simulator/config.py), which the real API rejects.
# Not imported from there: that would load the simulator's web app into every sender.
DEFAULT_BASE_URL = "http://127.0.0.1:8700/rest"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105
# Where `fleet-pipeline webhooks serve` listens by default.
DEFAULT_WEBHOOK_PUBLIC_URL = "http://127.0.0.1:8701"
WEBHOOK_FIELDS = ("webhook_url", "webhooks_url")


@dataclass(frozen=True)
class ApiSettings:
    base_url: str = DEFAULT_BASE_URL
    username: str = DEMO_USERNAME
    password: str = field(default=DEMO_PASSWORD, repr=False)
    connect_timeout_s: float = 10.0
    # Generous: a single create has been seen to take 11 s in production.
    read_timeout_s: float = 60.0
    rate_limit_per_minute: int = 1000

    def credentials(self) -> Credentials:
        return Credentials(self.username, self.password)

    def timeouts(self) -> Timeouts:
        return Timeouts(connect=self.connect_timeout_s, read=self.read_timeout_s,
                        write=self.read_timeout_s)

    def budget(self) -> Budget:
        return Budget(requests=self.rate_limit_per_minute, period=60.0)

    def account_key(self) -> str:
        return account_key(self.base_url, self.username)


@dataclass(frozen=True)
class SendSettings:
    api: ApiSettings = field(default_factory=ApiSettings)
    webhook_public_url: str = DEFAULT_WEBHOOK_PUBLIC_URL
    webhook_field: str = "webhook_url"
    endpoint_policy: str = AUTO
    # auto: a day with fewer jobs to send than this goes one by one.
    single_max_jobs: int = 100
    # 1,000 creates a minute at 11 s each keep about 185 requests open at once.
    single_concurrency: int = 200
    probe_concurrency: int = 32
    callback_deadline: timedelta = timedelta(minutes=60)
    # A send with no recorded answer for this long lost its sender (longer than any request,
    # its rate-limit wait and its retries can take).
    in_flight_timeout: timedelta = timedelta(minutes=15)
    limits: UploadLimits = field(default_factory=UploadLimits)
    retry: RetryPolicy = field(default_factory=RetryPolicy)

    def __post_init__(self) -> None:
        if self.endpoint_policy not in POLICIES:
            raise ValueError(f"endpoint policy must be one of {', '.join(POLICIES)}, "
                             f"got {self.endpoint_policy!r}")
        if self.webhook_field not in WEBHOOK_FIELDS:
            raise ValueError(f"webhook field must be one of {', '.join(WEBHOOK_FIELDS)}")
        if self.single_concurrency < 1 or self.probe_concurrency < 1:
            raise ValueError("concurrency must be at least 1")

    @classmethod
    def from_env(cls, settings: Settings | None = None) -> SendSettings:
        settings = settings or Settings()
        return cls(
            api=ApiSettings(
                base_url=base_url_from_env(),
                username=_text("FLEET_API_USERNAME", DEMO_USERNAME),
                password=_text("FLEET_API_PASSWORD", DEMO_PASSWORD),
                connect_timeout_s=_number("FLEET_API_CONNECT_TIMEOUT_SECONDS", 10.0),
                read_timeout_s=_number("FLEET_API_READ_TIMEOUT_SECONDS", 60.0),
                rate_limit_per_minute=int(_number("FLEET_API_RATE_LIMIT_PER_MINUTE", 1000)),
            ),
            webhook_public_url=_text("FLEET_WEBHOOK_PUBLIC_URL", DEFAULT_WEBHOOK_PUBLIC_URL),
            webhook_field=_text("FLEET_WEBHOOK_FIELD", "webhook_url"),
            endpoint_policy=_text("FLEET_ENDPOINT_POLICY", AUTO),
            single_max_jobs=int(_number("FLEET_SINGLE_MAX_JOBS", 100)),
            single_concurrency=int(_number("FLEET_SINGLE_CONCURRENCY", 200)),
            probe_concurrency=int(_number("FLEET_PROBE_CONCURRENCY", 32)),
            callback_deadline=timedelta(
                minutes=_number("FLEET_CALLBACK_DEADLINE_MINUTES", 60.0)),
            in_flight_timeout=timedelta(
                seconds=_number("FLEET_IN_FLIGHT_TIMEOUT_SECONDS", 900.0)),
            limits=UploadLimits(
                max_jobs=int(_number("FLEET_UPLOAD_MAX_JOBS", MAX_JOBS_PER_UPLOAD)),
                max_bytes=int(_number("FLEET_UPLOAD_MAX_BYTES", MAX_UPLOAD_BYTES)),
            ),
            retry=RetryPolicy.from_settings(settings),
        )


def base_url_from_env() -> str:
    """FLEET_API_BASE_URL, else the region's (FLEET_API_REGION, e.g. `za`), else the simulator."""
    explicit = os.environ.get("FLEET_API_BASE_URL")
    if explicit:
        return explicit
    region = os.environ.get("FLEET_API_REGION")
    return region_base_url(region) if region else DEFAULT_BASE_URL


def _text(name: str, default: str) -> str:
    return os.environ.get(name) or default


def _number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        return float(raw)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {raw!r}") from None
