"""Valid canonical rows as Fleet API job payloads: the single-create body and the bulk CSV row.

Mapping decisions (fleet-api.md lists what is known):
- Stops go in order pickup (job type 1 only), then drop-off. `stop_type_id` is not sent: its
  numbering is not documented, and the order already says which stop is which.
- `country_id` is not sent: the API's numbering is not documented and we do not invent one. The
  ISO code is validated (known code, positions inside the country) but stays out of the payload.
- `contact_number` is sent with spaces, dots and dashes removed, as one string (E.164 or national);
  `contact_code` is not split off, because where a calling code ends is not knowable without a
  numbering plan and the API does not document whether it wants "27" or "+27".
- `contact_name` has no stop field in the API, so it is not sent.
- `scheduled_delivery_ts` is sent for scheduled jobs (schedule_type_id 2) only.
- `weight_measure_id` = 1 (kg) goes with a weight, never alone. Whole numbers are sent as integers
  (4.0 -> 4) so a payload's hash does not depend on how a column happened to be typed.
- Fields without a value are left out, never sent as null.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from fleet_pipeline.fleet_api.template import TEMPLATE_V1_COLUMNS
from fleet_pipeline.validation.rules import PICKUP_AND_DROPOFF, SCHEDULED

FLEET_TS_FORMAT = "%Y-%m-%d %H:%M:%S"
KILOGRAM = 1
# rules.PHONE_SEPARATORS as a translation table (faster than the regex, same characters):
# Unicode whitespace (all of it lies below U+3001), dots and dashes.
_PHONE_SEPARATORS = str.maketrans(dict.fromkeys(
    [*(chr(c) for c in range(0x3001) if chr(c).isspace()), ".", "-"]))

# Stop field in the API <- canonical field (without its pickup_/dropoff_ prefix).
_STOP_FIELDS = (
    ("customer_name", "customer_name"),
    ("address_line_1", "address_line_1"),
    ("address_line_2", "address_line_2"),
    ("postal_code", "postal_code"),
    ("latitude", "latitude"),
    ("longitude", "longitude"),
    ("contact_number", "contact_number"),
    ("email", "email"),
    ("note", "note"),
    ("duration", "duration_minutes"),
)
_ITEM_FIELDS = (
    ("description", "description"),
    ("quantity", "quantity"),
    ("weight", "weight_kg"),
    ("item_type_id", "item_type_id"),
    ("sku", "sku"),
    ("tracking_number", "tracking_number"),
    ("length", "length_cm"),
    ("width", "width_cm"),
    ("height", "height_cm"),
)
_STOP_KEYS = tuple(field for field, _ in _STOP_FIELDS)
_ITEM_KEYS = tuple(field for field, _ in _ITEM_FIELDS)
_ITEM_COLUMNS = tuple(canonical for _, canonical in _ITEM_FIELDS)
# Job-level columns, in the order _payload reads them.
JOB_COLUMNS = ("job_type_id", "schedule_type_id", "reference_number", "scheduled_delivery_ts",
                "delivery_driver_id", "delivery_driver_name", "labels")


def stop_columns(prefix: str) -> tuple[str, ...]:
    """A stop's columns, in the order _stop reads them: the fields, then the window."""
    return (*(f"{prefix}_{canonical}" for _, canonical in _STOP_FIELDS),
            f"{prefix}_window_from", f"{prefix}_window_to")


def job_payload(row: Mapping[str, Any], items: Iterable[Mapping[str, Any]] = ()) -> dict:
    """The JSON body of `POST /delivery/jobs` for one valid canonical delivery and its items."""
    def values(record: Mapping[str, Any], columns: tuple[str, ...]) -> tuple:
        return tuple(_clean(name, record.get(name)) for name in columns)

    return _payload(values(row, JOB_COLUMNS),
                    _stop(values(row, stop_columns("pickup"))),
                    _stop(values(row, stop_columns("dropoff"))),
                    [_item(values(line, _ITEM_COLUMNS)) for line in items])


def build_payloads(deliveries: pd.DataFrame, items: pd.DataFrame) -> list[dict]:
    """`job_payload` for every valid delivery, in row order, each with its items in line order.

    The same result as calling `job_payload` row by row, built for a million rows: values are
    cleaned per column with vectorised operations, rows are zipped from plain lists (no
    DataFrame.iterrows, no per-value boxing of to_dict), and items are sorted and grouped once.
    """
    with _collector_paused():
        lines = items.sort_values(["reference_number", "line_number"], kind="stable")
        by_reference: dict[Any, list[dict]] = {}
        for reference, values in zip(lines["reference_number"].tolist(),
                                     _column_rows(lines, _ITEM_COLUMNS), strict=True):
            by_reference.setdefault(reference, []).append(_item(values))
        two_stops = (pd.to_numeric(deliveries["job_type_id"]) == PICKUP_AND_DROPOFF).to_numpy()
        pickup_columns = stop_columns("pickup")
        pickups = iter(map(_stop, _column_rows(deliveries.loc[two_stops, list(pickup_columns)],
                                               pickup_columns)))
        dropoffs = map(_stop, _column_rows(deliveries, stop_columns("dropoff")))
        return [_payload(job, next(pickups) if two else {}, dropoff,
                         by_reference.get(job[2], []))
                for job, two, dropoff in zip(_column_rows(deliveries, JOB_COLUMNS),
                                             two_stops.tolist(), dropoffs, strict=True)]


@contextlib.contextmanager
def _collector_paused():
    """Pause the cyclic garbage collector while millions of small dicts are built.

    The payloads hold no reference cycles, but each allocation burst makes the collector walk
    every container alive (the partition's frames included): a third of the build time.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _payload(job: tuple, pickup: dict, dropoff: dict, items: list[dict]) -> dict:
    """Assemble a payload from cleaned values (None = missing), job values in JOB_COLUMNS order."""
    job_type, schedule_type, reference, scheduled_ts, driver_id, driver_name, labels = job
    payload: dict[str, Any] = {
        "job_type_id": job_type,
        "schedule_type_id": schedule_type,
        "reference_number": reference,
    }
    if schedule_type == SCHEDULED and scheduled_ts is not None:
        payload["scheduled_delivery_ts"] = scheduled_ts
    if driver_id is not None:
        payload["delivery_driver_id"] = driver_id
    elif driver_name is not None:
        payload["delivery_driver_name"] = driver_name
    if labels:
        payload["labels"] = labels
    payload["stops"] = [pickup, dropoff] if job_type == PICKUP_AND_DROPOFF else [dropoff]
    if items:
        payload["items"] = items
    return payload


def _stop(values: tuple) -> dict:
    *fields, opens, closes = values
    stop = {key: value for key, value in zip(_STOP_KEYS, fields, strict=True) if value is not None}
    if opens is not None and closes is not None:
        stop["delivery_windows"] = [{"time_from": opens, "time_to": closes}]
    return stop


def _item(values: tuple) -> dict:
    item = {key: value for key, value in zip(_ITEM_KEYS, values, strict=True) if value is not None}
    if "weight" in item:
        item["weight_measure_id"] = KILOGRAM
    return item


def csv_row(payload: Mapping[str, Any]) -> dict[str, str]:
    """One row of the bulk-upload template v1: every column, empty when absent; lists as JSON."""
    return {column: _cell(payload.get(column)) for column in TEMPLATE_V1_COLUMNS}


def payload_hash(payload: Mapping[str, Any]) -> str:
    """sha256 of the payload's canonical JSON (sorted keys, no spaces, UTF-8): equal payloads,
    equal hashes, whatever the key order; any changed value changes it."""
    return payload_digest(canonical_json(payload))


def payload_digest(body: str) -> str:
    """The hash of a payload already in canonical JSON (what valid_jobs.parquet stores)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def canonical_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      allow_nan=False)


# How each canonical column is cleaned, by kind; a column not listed is text.
_NUMBER_COLUMNS = ("latitude", "longitude", "duration_minutes", "quantity", "weight_kg",
                   "item_type_id", "length_cm", "width_cm", "height_cm", "job_type_id",
                   "schedule_type_id")


def _kind(name: str) -> str:
    if name == "scheduled_delivery_ts":
        return "timestamp"
    if name == "labels":
        return "labels"
    if name.endswith(_NUMBER_COLUMNS):
        return "number"
    if name.endswith("contact_number"):
        return "phone"
    if name.endswith(("window_from", "window_to")):
        return "time"
    return "text"


def _clean(name: str, value: Any) -> Any:
    """One value in its payload form; None for every form of missing (None, NaN, NA, NaT, "")."""
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float | np.floating) and math.isnan(value)):
        return None
    if isinstance(value, np.generic):
        value = value.item()
    kind = _kind(name)
    if kind == "number":
        return int(value) if isinstance(value, float) and value.is_integer() else value
    if kind == "timestamp":
        return value if isinstance(value, str) else pd.Timestamp(value).strftime(FLEET_TS_FORMAT)
    if value == "":
        return None
    return _TEXT_FORMS[kind](value)


def _phone(value: str) -> str:
    return value.translate(_PHONE_SEPARATORS)


def _time(value: str) -> str:
    """HH:MM -> HH:MM:SS, the form of the API's delivery windows."""
    return f"{value}:00" if len(value) == 5 else value


def _labels(value: str) -> list[str] | None:
    return [label.strip() for label in value.split(",") if label.strip()] or None


_TEXT_FORMS = {"text": lambda value: value, "phone": _phone, "time": _time, "labels": _labels}


def _column_rows(frame: pd.DataFrame, names: tuple[str, ...]):
    """The frame's rows as tuples of cleaned values (`_clean`, applied column by column)."""
    return zip(*(_clean_column(name, frame[name]) for name in names), strict=True)


def _clean_column(name: str, s: pd.Series) -> list:
    """`_clean` over a whole column, vectorised where a vectorised form exists."""
    if s.empty:
        return []
    kind = _kind(name)
    if kind == "number":
        numbers = pd.to_numeric(s).to_numpy(dtype="float64", na_value=np.nan)
        out = numbers.astype(object)
        with np.errstate(invalid="ignore"):
            whole = np.mod(numbers, 1) == 0
        out[whole] = numbers[whole].astype(np.int64)
        out[np.isnan(numbers)] = None
        return out.tolist()
    if kind == "timestamp":
        stamps = pd.to_datetime(s).to_numpy(dtype="datetime64[s]")
        text = np.char.replace(np.datetime_as_string(stamps, unit="s"), "T", " ").astype(object)
        text[np.isnat(stamps)] = None
        return text.tolist()
    values = s.to_numpy(dtype=object)
    missing = pd.isna(values) | (values == "")
    if kind == "text":
        return np.where(missing, None, values).tolist()
    form = _TEXT_FORMS[kind]
    return [None if gone else form(value)
            for value, gone in zip(values.tolist(), missing.tolist(), strict=True)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)
