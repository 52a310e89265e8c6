"""Everything the simulator can be told: accounts, drivers, the API's unknowns, and faults.

Each behaviour that the Fleet API documentation leaves open (reference uniqueness, page size,
webhook retries and signing key, ...) is a setting here rather than a guess in the code.
Loadable from a JSON or YAML file; CLI flags override the file (simulator/cli.py).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from fleet_pipeline.fleet_api.template import MAX_JOBS_PER_UPLOAD, MAX_UPLOAD_BYTES

Endpoint = Literal["create", "bulk_upload", "list", "get"]
ENDPOINTS: tuple[Endpoint, ...] = ("create", "bulk_upload", "list", "get")

DEFAULT_PORT = 8700
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo-password"  # noqa: S105 - the simulator's demo account; the real API rejects it


def demo_password() -> str:
    return os.environ.get("FLEET_API_PASSWORD") or DEMO_PASSWORD


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Seconds(_Model):
    """A duration drawn uniformly from [low, high]; a plain number means a fixed duration.

    Written as `11`, `[0.5, 2]` or `"0.5:2"` in files and flags.
    """

    low: float = 0.0
    high: float = 0.0

    @model_validator(mode="before")
    @classmethod
    def _from_short_forms(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"low": value, "high": value}
        if isinstance(value, str):
            low, _, high = value.partition(":")
            return {"low": float(low), "high": float(high or low)}
        if isinstance(value, list | tuple) and len(value) == 2:
            return {"low": value[0], "high": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Seconds:
        if self.low < 0 or self.high < self.low:
            raise ValueError(f"a duration range needs 0 <= low <= high, got {self.low}:{self.high}")
        return self

    @property
    def is_zero(self) -> bool:
        return self.high == 0


class Account(_Model):
    username: str
    password: SecretStr


class Driver(_Model):
    driver_id: str
    name: str


DEFAULT_DRIVERS: tuple[Driver, ...] = (
    Driver(driver_id="6f1c2a3e-0b4d-4c1a-9e55-3c2f8a9b0d11", name="Thandi Mokoena"),
    Driver(driver_id="0a9e7b52-41f3-4d2e-8c6b-7e1d5f4a2b22", name="Pieter van der Merwe"),
    Driver(driver_id="c3d8e1f0-5a6b-4e7c-9d2a-1b0c3e4f5a33", name="Sipho Dlamini"),
    Driver(driver_id="9b2e4d6f-8a1c-4b3e-a5d7-2c4e6f8a0b44", name="Anna Botha"),
)


class RuleSettings(_Model):
    """Validation rules whose strictness the documentation does not pin down."""

    # schedule_type_id 1 (ASAP): recent behaviour either rejects it or converts it to 3.
    asap_schedule: Literal["reject", "convert"] = "reject"
    reference_number_max_length: int = Field(default=50, ge=1)
    item_quantity_must_be_positive: bool = True


class Faults(_Model):
    """Seeded, deterministic fault injection; one random stream per kind (simulator/faults.py)."""

    seed: int = 0
    latency: dict[Endpoint, Seconds] = Field(default_factory=dict)
    error_rate: dict[Endpoint, float] = Field(default_factory=dict)
    # 429 bursts: from every Nth API request on, K requests in a row are refused.
    rate_limit_burst_every: int = Field(default=0, ge=0)
    rate_limit_burst_length: int = Field(default=1, ge=1)
    rate_limit_burst_retry_after_s: int = Field(default=1, ge=0)
    # Create succeeds (the job exists) but the client never sees the 200.
    lost_response_rate: float = Field(default=0.0, ge=0, le=1)
    lost_response_mode: Literal["gateway_timeout", "server_error", "drop", "sleep"] = (
        "gateway_timeout"
    )
    lost_response_sleep_s: float = Field(default=120.0, ge=0)
    callback_drop_rate: float = Field(default=0.0, ge=0, le=1)
    callback_duplicate_rate: float = Field(default=0.0, ge=0, le=1)
    callback_delay: Seconds = Field(default_factory=Seconds)
    # Entries of one callback array in a shuffled order.
    callback_shuffle_rate: float = Field(default=0.0, ge=0, le=1)
    # A held callback waits until a later upload's callback has gone out (or hold_max_s passes).
    callback_hold_rate: float = Field(default=0.0, ge=0, le=1)
    callback_hold_max_s: float = Field(default=60.0, ge=0)
    callback_bad_signature_rate: float = Field(default=0.0, ge=0, le=1)

    @field_validator("error_rate")
    @classmethod
    def _rates_are_probabilities(cls, rates: dict[str, float]) -> dict[str, float]:
        for endpoint, rate in rates.items():
            if not 0 <= rate <= 1:
                raise ValueError(f"error_rate for {endpoint} must be within 0..1, got {rate}")
        return rates


class SimulatorConfig(_Model):
    api_prefix: str = "/rest"
    # SQLite file holding jobs, uploads and callbacks; None keeps them in memory.
    db_path: Path | None = None
    accounts: tuple[Account, ...] = Field(
        default_factory=lambda: (Account(username=DEMO_USERNAME, password=demo_password()),)
    )
    drivers: tuple[Driver, ...] = DEFAULT_DRIVERS
    # Timestamps without an offset are the account's local time.
    account_timezone: str = "UTC"
    rules: RuleSettings = Field(default_factory=RuleSettings)
    duplicate_reference: Literal["create", "reject"] = "create"
    rate_limit_per_minute: int = Field(default=1000, ge=0)  # 0 switches the limit off
    rate_limit_window_s: float = Field(default=60.0, gt=0)
    default_page_size: int = Field(default=100, ge=1)
    max_page_size: int = Field(default=1000, ge=1)
    over_max_page_size: Literal["clamp", "reject"] = "clamp"
    max_upload_jobs: int = Field(default=MAX_JOBS_PER_UPLOAD, ge=1)
    max_upload_bytes: int = Field(default=MAX_UPLOAD_BYTES, ge=1)
    # Time between a bulk upload's 200 and the processing of its rows.
    bulk_processing_delay: Seconds = Field(default_factory=Seconds)
    # Waits before the 2nd, 3rd, ... delivery attempt of a callback; then it is given up.
    callback_retry_schedule_s: tuple[float, ...] = (1.0, 5.0, 30.0)
    callback_timeout_s: float = Field(default=10.0, gt=0)
    # None: callbacks are signed with the uploading account's API password.
    callback_signing_key: SecretStr | None = None
    first_job_id: int = Field(default=100_001, ge=1)
    faults: Faults = Field(default_factory=Faults)

    @field_validator("api_prefix")
    @classmethod
    def _normalise_prefix(cls, prefix: str) -> str:
        prefix = prefix.strip().rstrip("/")
        if prefix and not prefix.startswith("/"):
            prefix = "/" + prefix
        if prefix.startswith("/_simulator"):
            raise ValueError("api_prefix must not overlap the /_simulator inspection paths")
        return prefix

    @field_validator("callback_retry_schedule_s")
    @classmethod
    def _non_negative_waits(cls, waits: tuple[float, ...]) -> tuple[float, ...]:
        if any(wait < 0 for wait in waits):
            raise ValueError("callback retry waits must be >= 0")
        return waits

    def account(self, username: str) -> Account | None:
        return next((a for a in self.accounts if a.username == username), None)


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings in a .json, .yaml or .yml file, as a plain mapping for merging with flags."""
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in {".yaml", ".yml"}:
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the simulator settings must be a mapping")
    return data


def load_config(path: Path) -> SimulatorConfig:
    return SimulatorConfig.model_validate(read_config_file(path))
