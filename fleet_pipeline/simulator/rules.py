"""The job rules the Fleet API enforces, as one plain function: payload in, field errors out.

Messages follow Laravel's wording with raw attribute names (the API's own example reads
"The selected job_type_id is invalid."); nested keys are dotted, e.g. `stops.0.latitude`.
Numbers sent as numeric strings pass, as they do with Laravel's `integer`/`numeric` rules.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from fleet_pipeline.simulator.config import Driver, RuleSettings

Errors = dict[str, list[str]]

TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S"
STOPS_PER_JOB_TYPE = {1: 2, 3: 1}
SCHEDULED, UNSCHEDULED, ASAP = 2, 3, 1
_INTEGER = re.compile(r"^[+-]?\d+$")
_WINDOW_TIME = re.compile(
    r"^(?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?(?P<tz>Z|[+-]\d{2}:?\d{2})?$"
)


def validate_job(
    payload: Mapping[str, Any],
    now: datetime,
    drivers: Sequence[Driver],
    settings: RuleSettings = RuleSettings(),
) -> Errors:
    """Field errors of a create-job payload; empty when the job would be created.

    `now` is the account's local time (naive), against which schedules are judged.
    """
    errors: Errors = {}
    _job_type(payload, errors)
    _schedule(payload, now, settings, errors)
    _driver(payload, drivers, errors)
    _reference_number(payload, settings, errors)
    _labels(payload, errors)
    _stops(payload, errors)
    _items(payload, settings, errors)
    return errors


def reference_taken_errors() -> Errors:
    return {"reference_number": ["The reference_number has already been taken."]}


def matching_drivers(name: str, drivers: Sequence[Driver]) -> list[Driver]:
    wanted = name.strip().casefold()
    return [driver for driver in drivers if driver.name.strip().casefold() == wanted]


def as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value.strip()):
        return int(value)
    return None


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None


def parse_timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, TIMESTAMP_FORMAT)
    except ValueError:
        return None


def _present(payload: Mapping[str, Any], key: str) -> bool:
    value = payload.get(key)
    return value is not None and value != ""


def _add(errors: Errors, field: str, message: str) -> None:
    errors.setdefault(field, []).append(message)


def _job_type(payload: Mapping[str, Any], errors: Errors) -> None:
    if not _present(payload, "job_type_id"):
        _add(errors, "job_type_id", "The job_type_id field is required.")
    elif as_int(payload["job_type_id"]) not in STOPS_PER_JOB_TYPE:
        _add(errors, "job_type_id", "The selected job_type_id is invalid.")


def _schedule(
    payload: Mapping[str, Any], now: datetime, settings: RuleSettings, errors: Errors
) -> None:
    schedule_type = as_int(payload.get("schedule_type_id"))
    if _present(payload, "schedule_type_id"):
        allowed = {SCHEDULED, UNSCHEDULED}
        if settings.asap_schedule == "convert":
            allowed.add(ASAP)
        if schedule_type not in allowed:
            _add(errors, "schedule_type_id", "The selected schedule_type_id is invalid.")
    if not _present(payload, "scheduled_delivery_ts"):
        if schedule_type == SCHEDULED:
            _add(
                errors,
                "scheduled_delivery_ts",
                "The scheduled_delivery_ts field is required when schedule_type_id is 2.",
            )
    else:
        scheduled = parse_timestamp(payload["scheduled_delivery_ts"])
        if scheduled is None:
            _add(
                errors,
                "scheduled_delivery_ts",
                "The scheduled_delivery_ts does not match the format Y-m-d H:i:s.",
            )
        elif scheduled < now.replace(microsecond=0):
            _add(
                errors,
                "scheduled_delivery_ts",
                "The scheduled_delivery_ts must be a date after or equal to now.",
            )
    for field in ("allowed_to_start_at", "send_to_driver_at"):
        if _present(payload, field) and parse_timestamp(payload[field]) is None:
            _add(errors, field, f"The {field} does not match the format Y-m-d H:i:s.")


def _driver(payload: Mapping[str, Any], drivers: Sequence[Driver], errors: Errors) -> None:
    has_name = _present(payload, "delivery_driver_name")
    has_id = _present(payload, "delivery_driver_id")
    if has_name and has_id:
        _add(
            errors,
            "delivery_driver_name",
            "The delivery_driver_name field prohibits delivery_driver_id from being present.",
        )
        return
    if has_name:
        name = payload["delivery_driver_name"]
        if not isinstance(name, str):
            _add(errors, "delivery_driver_name", "The delivery_driver_name must be a string.")
            return
        found = matching_drivers(name, drivers)
        if not found:
            _add(errors, "delivery_driver_name", "The selected delivery_driver_name is invalid.")
        elif len(found) > 1:
            _add(
                errors,
                "delivery_driver_name",
                "The delivery_driver_name matches more than one driver.",
            )
    if has_id:
        driver_id = str(payload["delivery_driver_id"])
        if not _is_uuid(driver_id):
            _add(errors, "delivery_driver_id", "The delivery_driver_id must be a valid UUID.")
        elif driver_id.lower() not in {d.driver_id.lower() for d in drivers}:
            _add(errors, "delivery_driver_id", "The selected delivery_driver_id is invalid.")


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _reference_number(payload: Mapping[str, Any], settings: RuleSettings, errors: Errors) -> None:
    if not _present(payload, "reference_number"):
        return
    reference = payload["reference_number"]
    if not isinstance(reference, str):
        _add(errors, "reference_number", "The reference_number must be a string.")
    elif len(reference) > settings.reference_number_max_length:
        _add(
            errors,
            "reference_number",
            "The reference_number must not be greater than "
            f"{settings.reference_number_max_length} characters.",
        )


def _labels(payload: Mapping[str, Any], errors: Errors) -> None:
    if not _present(payload, "labels"):
        return
    labels = payload["labels"]
    if not isinstance(labels, list):
        _add(errors, "labels", "The labels must be an array.")
        return
    for index, label in enumerate(labels):
        if not isinstance(label, str):
            _add(errors, f"labels.{index}", f"The labels.{index} must be a string.")


def _stops(payload: Mapping[str, Any], errors: Errors) -> None:
    stops = payload.get("stops")
    if stops is None or stops == "" or stops == []:
        _add(errors, "stops", "The stops field is required.")
        return
    if not isinstance(stops, list):
        _add(errors, "stops", "The stops must be an array.")
        return
    job_type = as_int(payload.get("job_type_id"))
    expected = STOPS_PER_JOB_TYPE.get(job_type) if job_type is not None else None
    if expected is not None and len(stops) != expected:
        _add(errors, "stops", f"The stops must contain {expected} items.")
    for index, stop in enumerate(stops):
        key = f"stops.{index}"
        if not isinstance(stop, dict):
            _add(errors, key, f"The {key} must be an array.")
            continue
        _stop(stop, key, errors)


def _stop(stop: Mapping[str, Any], key: str, errors: Errors) -> None:
    has_lat = _present(stop, "latitude")
    has_lon = _present(stop, "longitude")
    for field, other, present, limit in (
        ("latitude", "longitude", has_lat, 90),
        ("longitude", "latitude", has_lon, 180),
    ):
        if not present:
            continue
        if not (has_lat and has_lon):
            _add(
                errors,
                f"{key}.{other}",
                f"The {key}.{other} field is required when {key}.{field} is present.",
            )
        number = as_number(stop[field])
        if number is None:
            _add(errors, f"{key}.{field}", f"The {key}.{field} must be a number.")
        elif not -limit <= number <= limit:
            _add(
                errors,
                f"{key}.{field}",
                f"The {key}.{field} must be between -{limit} and {limit}.",
            )
    has_address = _present(stop, "address_line_1")
    if _present(stop, "address_line_2") and not has_address:
        _add(
            errors,
            f"{key}.address_line_1",
            f"The {key}.address_line_1 field is required when {key}.address_line_2 is present.",
        )
    elif not (has_address or has_lat or has_lon or _present(stop, "customer_id")):
        _add(
            errors,
            f"{key}.address_line_1",
            f"The {key}.address_line_1 field is required when none of {key}.latitude / "
            f"{key}.longitude / {key}.customer_id are present.",
        )
    _delivery_windows(stop, key, errors)


def _delivery_windows(stop: Mapping[str, Any], key: str, errors: Errors) -> None:
    windows = stop.get("delivery_windows")
    if windows is None:
        return
    if not isinstance(windows, list):
        _add(errors, f"{key}.delivery_windows", f"The {key}.delivery_windows must be an array.")
        return
    for index, window in enumerate(windows):
        wkey = f"{key}.delivery_windows.{index}"
        if not isinstance(window, dict):
            _add(errors, wkey, f"The {wkey} must be an array.")
            continue
        bounds = {}
        for field in ("time_from", "time_to"):
            value = window.get(field)
            if value is None or value == "":
                _add(errors, f"{wkey}.{field}", f"The {wkey}.{field} field is required.")
                continue
            seconds = _window_seconds(value)
            if seconds is None:
                _add(
                    errors,
                    f"{wkey}.{field}",
                    f"The {wkey}.{field} does not match the format H:i:s.",
                )
            else:
                bounds[field] = seconds
        if len(bounds) == 2 and bounds["time_from"] >= bounds["time_to"]:
            _add(
                errors,
                f"{wkey}.time_to",
                f"The {wkey}.time_to must be a date after {wkey}.time_from.",
            )


def _window_seconds(value: Any) -> int | None:
    """Seconds since midnight UTC-adjusted, so windows with offsets compare correctly."""
    match = _WINDOW_TIME.match(value) if isinstance(value, str) else None
    if match is None:
        return None
    hours, minutes, secs = int(match["h"]), int(match["m"]), int(match["s"] or 0)
    if hours > 23 or minutes > 59 or secs > 59:
        return None
    offset = 0
    zone = match["tz"]
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        offset = (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * (1 if zone[0] == "+" else -1)
    return hours * 3600 + minutes * 60 + secs - offset


def _items(payload: Mapping[str, Any], settings: RuleSettings, errors: Errors) -> None:
    items = payload.get("items")
    if items is None or items == "":
        return
    if not isinstance(items, list):
        _add(errors, "items", "The items must be an array.")
        return
    for index, item in enumerate(items):
        key = f"items.{index}"
        if not isinstance(item, dict):
            _add(errors, key, f"The {key} must be an array.")
            continue
        if not _present(item, "quantity"):
            continue
        quantity = as_number(item["quantity"])
        if quantity is None:
            _add(errors, f"{key}.quantity", f"The {key}.quantity must be a number.")
        elif settings.item_quantity_must_be_positive and quantity <= 0:
            _add(errors, f"{key}.quantity", f"The {key}.quantity must be greater than 0.")
