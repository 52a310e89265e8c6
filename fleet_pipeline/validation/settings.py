"""What validation accepts, as settings: the limits the Fleet API leaves undocumented.

The API documents no field lengths and no phone format (fleet-api.md, "Unknown" 5), so the limits
here are our own, chosen to be safe rather than guessed: 255 is the default string column of the
Laravel stack the API runs on; the reference length matches the simulator's default (50). Each one
can be changed per deployment through the environment (docs/configuration.md).

| variable | default | meaning |
| --- | --- | --- |
| FLEET_MAX_REFERENCE_LENGTH | 50 | longest reference_number accepted |
| FLEET_REFERENCE_PATTERN | `[A-Za-z0-9][A-Za-z0-9._/-]*` | characters a reference may hold |
| FLEET_PHONE_PATTERN | PHONE_PATTERN | phone rule, after removing spaces, dots and dashes |
| FLEET_REQUIRE_COORDINATES | false | reject stops without latitude/longitude, address or not |
| FLEET_ACCOUNT_TIMEZONE | UTC | zone of the account's local time, for a time-zone aware `now` |
| FLEET_MAX_REJECTION_RATE | 0.05 | rejection rate above which the asset check fails |
| FLEET_REJECTION_CHECK_SEVERITY | WARN | severity of that failure: WARN or ERROR |
"""

from __future__ import annotations

import os
from dataclasses import dataclass

# E.164 (a plus, a country code that does not start with 0, 8 to 15 digits in all), or a national
# number: a trunk 0 and 9 to 13 digits in all, the area code optionally in parentheses. National
# numbers without a trunk 0 (SG, PT, ES, PL) must be written in E.164, or the pattern changed.
PHONE_PATTERN = r"\+[1-9]\d{7,14}|0\d{8,12}|\(0\d{1,4}\)\d{5,10}"

REFERENCE_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._/-]*"

# Longest text accepted per canonical field (stop fields without their pickup_/dropoff_ prefix).
TEXT_LIMITS: tuple[tuple[str, int], ...] = (
    ("delivery_driver_name", 255),
    ("labels", 500),
    ("customer_name", 255),
    ("address_line_1", 255),
    ("address_line_2", 255),
    ("postal_code", 16),
    ("contact_name", 255),
    ("note", 1000),
    ("description", 255),
    ("sku", 64),
    ("tracking_number", 64),
)

SEVERITIES = ("WARN", "ERROR")


def _env(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None or value.strip() == "" else value.strip()


@dataclass(frozen=True)
class ValidationSettings:
    max_reference_length: int = 50
    reference_pattern: str = REFERENCE_PATTERN
    phone_pattern: str = PHONE_PATTERN
    # The API takes a stop with an address and no position (it geocodes it); an ERP that always
    # has positions can make their absence a defect.
    require_coordinates: bool = False
    text_limits: tuple[tuple[str, int], ...] = TEXT_LIMITS
    account_timezone: str = "UTC"
    max_rejection_rate: float = 0.05
    rejection_check_severity: str = "WARN"
    # Longest email (RFC 5321 path limit).
    max_email_length: int = 254

    def __post_init__(self) -> None:
        if self.max_reference_length < 1:
            raise ValueError("FLEET_MAX_REFERENCE_LENGTH must be at least 1")
        if not 0.0 <= self.max_rejection_rate <= 1.0:
            raise ValueError("FLEET_MAX_REJECTION_RATE must be between 0 and 1")
        if self.rejection_check_severity not in SEVERITIES:
            raise ValueError(f"FLEET_REJECTION_CHECK_SEVERITY must be one of {SEVERITIES}")

    def text_limit(self, field_name: str) -> int:
        return dict(self.text_limits)[field_name]

    @classmethod
    def from_env(cls) -> ValidationSettings:
        overrides: dict[str, object] = {}
        if (raw := _env("FLEET_MAX_REFERENCE_LENGTH")) is not None:
            overrides["max_reference_length"] = _parse(int, "FLEET_MAX_REFERENCE_LENGTH", raw)
        if (raw := _env("FLEET_REFERENCE_PATTERN")) is not None:
            overrides["reference_pattern"] = raw
        if (raw := _env("FLEET_PHONE_PATTERN")) is not None:
            overrides["phone_pattern"] = raw
        if (raw := _env("FLEET_REQUIRE_COORDINATES")) is not None:
            overrides["require_coordinates"] = _flag("FLEET_REQUIRE_COORDINATES", raw)
        if (raw := _env("FLEET_ACCOUNT_TIMEZONE")) is not None:
            overrides["account_timezone"] = raw
        if (raw := _env("FLEET_MAX_REJECTION_RATE")) is not None:
            overrides["max_rejection_rate"] = _parse(float, "FLEET_MAX_REJECTION_RATE", raw)
        if (raw := _env("FLEET_REJECTION_CHECK_SEVERITY")) is not None:
            overrides["rejection_check_severity"] = raw.upper()
        return cls(**overrides)  # type: ignore[arg-type]


def _flag(name: str, raw: str) -> bool:
    lowered = raw.lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError(f"{name} must be true or false, got {raw!r}")


def _parse(kind: type, name: str, raw: str):
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be a {kind.__name__}, got {raw!r}") from None
