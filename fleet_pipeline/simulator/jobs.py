"""Jobs as the API returns them, and the `GET /delivery/jobs` query: filters and paging.

Plain functions over dicts; simulator/store.py persists what they build.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fleet_pipeline.simulator.config import Driver, RuleSettings
from fleet_pipeline.simulator.rules import (
    ASAP,
    TIMESTAMP_FORMAT,
    UNSCHEDULED,
    Errors,
    as_int,
    matching_drivers,
)

ASSIGN_LATER, ASSIGNED = 2, 4
STOP_CREATED = 1
# Job fields echoed from the request as sent; stops and items get ids and statuses on top.
_ECHOED = (
    "reference_number",
    "labels",
    "subuser_id",
    "plan_id",
    "special_equipment",
    "allowed_to_start_at",
    "send_to_driver_at",
    "scheduled_delivery_ts",
)
_INT_FIELDS = ("job_type_id", "schedule_type_id")


def order_id_for(job_id: int) -> str:
    return f"ORD{job_id:09d}"


def build_job(
    payload: Mapping[str, Any],
    *,
    job_id: int,
    now: datetime,
    drivers: Sequence[Driver],
    settings: RuleSettings,
) -> dict[str, Any]:
    """The job record for a payload that passed validation (rules.validate_job)."""
    driver = _assigned_driver(payload, drivers)
    schedule_type = as_int(payload.get("schedule_type_id"))
    if schedule_type == ASAP and settings.asap_schedule == "convert":
        schedule_type = UNSCHEDULED
    stamp = now.strftime(TIMESTAMP_FORMAT)
    job: dict[str, Any] = {
        "job_id": job_id,
        "order_id": order_id_for(job_id),
        "job_type_id": as_int(payload.get("job_type_id")),
        "job_status_id": ASSIGNED if driver else ASSIGN_LATER,
        "schedule_type_id": schedule_type,
        "delivery_driver_id": driver.driver_id if driver else None,
        "delivery_driver_name": driver.name if driver else None,
    }
    for key in _ECHOED:
        job[key] = payload.get(key) if payload.get(key) != "" else None
    job["stops"] = [
        {**stop, "stop_id": job_id * 10 + index + 1, "stop_status_id": STOP_CREATED}
        for index, stop in enumerate(payload.get("stops") or [])
    ]
    job["items"] = [
        {**item, "item_id": job_id * 1000 + index + 1}
        for index, item in enumerate(payload.get("items") or [])
    ]
    job["create_ts"] = stamp
    job["update_ts"] = stamp
    return job


def _assigned_driver(payload: Mapping[str, Any], drivers: Sequence[Driver]) -> Driver | None:
    name = payload.get("delivery_driver_name")
    if isinstance(name, str) and name:
        found = matching_drivers(name, drivers)
        return found[0] if len(found) == 1 else None
    driver_id = payload.get("delivery_driver_id")
    if driver_id:
        wanted = str(driver_id).lower()
        return next((d for d in drivers if d.driver_id.lower() == wanted), None)
    return None


# --- GET /delivery/jobs ------------------------------------------------------------------------

_EXACT_FILTERS = {
    "reference_number": str,
    "order_id": str,
    "driver_id": str,
    "item_tracking_number": str,
    "job_id": int,
    "job_status_id": int,
    "schedule_type_id": int,
}
_RANGE_FILTERS = ("create_ts", "scheduled_delivery_ts")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class JobQuery:
    exact: dict[str, str | int] = field(default_factory=dict)
    # column -> (inclusive lower bound, inclusive upper bound), as "YYYY-MM-DD HH:MM:SS" text.
    ranges: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)
    page: int = 1
    per_page: int = 100

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page


def parse_job_query(
    params: Mapping[str, str],
    *,
    default_page_size: int,
    max_page_size: int,
    over_max: str,
) -> tuple[JobQuery | None, Errors]:
    """Read `filter[...]`, `page` and `limit` from the query string."""
    errors: Errors = {}
    exact: dict[str, str | int] = {}
    for name, kind in _EXACT_FILTERS.items():
        raw = params.get(f"filter[{name}]")
        if raw is None or raw == "":
            continue
        if kind is int:
            number = as_int(raw)
            if number is None:
                errors[f"filter.{name}"] = [f"The filter.{name} must be an integer."]
                continue
            exact[name] = number
        else:
            exact[name] = raw
    ranges: dict[str, tuple[str | None, str | None]] = {}
    for column in _RANGE_FILTERS:
        bounds = []
        for side, end_of_day in (("from", False), ("to", True)):
            raw = params.get(f"filter[{column}_{side}]")
            bound = _bound(raw, end_of_day) if raw else None
            if raw and bound is None:
                key = f"filter.{column}_{side}"
                errors[key] = [f"The {key} does not match the format Y-m-d H:i:s."]
            bounds.append(bound)
        if any(bounds):
            ranges[column] = (bounds[0], bounds[1])
    page = _positive(params.get("page"), 1, "page", errors)
    per_page = _positive(params.get("limit"), default_page_size, "limit", errors)
    if per_page > max_page_size:
        if over_max == "reject":
            errors["limit"] = [f"The limit must not be greater than {max_page_size}."]
        per_page = max_page_size
    if errors:
        return None, errors
    return JobQuery(exact=exact, ranges=ranges, page=page, per_page=per_page), {}


def _bound(raw: str, end_of_day: bool) -> str | None:
    if _DATE_ONLY.match(raw):
        try:
            datetime.strptime(raw, "%Y-%m-%d")
        except ValueError:
            return None
        return f"{raw} {'23:59:59' if end_of_day else '00:00:00'}"
    try:
        return datetime.strptime(raw, TIMESTAMP_FORMAT).strftime(TIMESTAMP_FORMAT)
    except ValueError:
        return None


def _positive(raw: str | None, default: int, name: str, errors: Errors) -> int:
    if raw is None or raw == "":
        return default
    number = as_int(raw)
    if number is None or number < 1:
        errors[name] = [f"The {name} must be at least 1."]
        return default
    return number


def page_meta(total: int, page: int, per_page: int, count: int) -> dict[str, int | None]:
    """Laravel's paginator meta: `from`/`to` are 1-based positions, null on an empty page."""
    first = (page - 1) * per_page + 1
    return {
        "from": first if count else None,
        "to": first + count - 1 if count else None,
        "current_page": page,
        "per_page": per_page,
        "last_page": max(1, math.ceil(total / per_page)),
        "total": total,
    }
