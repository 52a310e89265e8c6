"""Bulk upload files: checking the file, reading its rows, and the callback body they lead to.

A row whose `stops`/`items`/`labels` cell is not valid JSON is not a file error: the row is kept
with its parse errors and reported as not created in the callback, like any rejected row.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet_pipeline.fleet_api.template import TEMPLATE_V1_COLUMNS, TEMPLATE_VERSION
from fleet_pipeline.simulator.rules import Errors

_JSON_CELLS = ("stops", "items")


@dataclass(frozen=True)
class UploadRow:
    row_number: int  # 1-based, the header excluded
    reference_number: str | None
    payload: dict[str, Any]
    parse_errors: Errors = field(default_factory=dict)


def check_form(filename: str, size: int, template_version: str | None, *, max_bytes: int) -> Errors:
    """File-level errors that refuse the whole upload with a 422."""
    errors: Errors = {}
    if not filename.lower().endswith(".csv"):
        # .xlsx is valid on the real API; the simulator reads the CSV template only.
        errors["file"] = ["The file must be a file of type: csv."]
    elif size > max_bytes:
        errors["file"] = [f"The file must not be greater than {max_bytes // 1024} kilobytes."]
    if template_version not in (None, "", TEMPLATE_VERSION):
        errors["template_version"] = ["The selected template_version is invalid."]
    return errors


def parse_rows(content: bytes, *, max_jobs: int) -> tuple[list[UploadRow], Errors]:
    """The rows of a template-v1 CSV file, or the file-level errors that refuse it."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], {"file": ["The file must be a UTF-8 encoded CSV file."]}
    try:
        records = [
            record
            for record in csv.DictReader(io.StringIO(text, newline=""))
            if any((value or "").strip() for value in record.values() if isinstance(value, str))
        ]
    except csv.Error as exc:
        return [], {"file": [f"The file could not be read as CSV: {exc}."]}
    if not records:
        return [], {"file": ["The file must contain at least one job."]}
    if len(records) > max_jobs:
        return [], {"file": [f"The file must not contain more than {max_jobs} jobs."]}
    return [_row(number, record) for number, record in enumerate(records, start=1)], {}


def _row(number: int, record: dict[str | None, Any]) -> UploadRow:
    payload: dict[str, Any] = {}
    errors: Errors = {}
    for column in TEMPLATE_V1_COLUMNS:
        cell = record.get(column)
        if not isinstance(cell, str) or cell.strip() == "":
            continue
        if column in _JSON_CELLS:
            try:
                payload[column] = json.loads(cell)
            except ValueError:
                errors[column] = [f"The {column} must be a valid JSON string."]
        elif column == "labels":
            payload[column] = _labels(cell)
        else:
            payload[column] = cell.strip()
    reference = payload.get("reference_number")
    return UploadRow(number, reference, payload, errors)


def _labels(cell: str) -> Any:
    """A JSON array, or a comma-separated list for hand-written files."""
    stripped = cell.strip()
    if stripped.startswith("["):
        try:
            return json.loads(stripped)
        except ValueError:
            return stripped
    return [label.strip() for label in stripped.split(",") if label.strip()]


def callback_entry(reference_number: str | None, job_id: int | None, errors: Errors) -> dict:
    if job_id is not None:
        return {"reference_number": reference_number, "job_id": job_id}
    return {"reference_number": reference_number, "errors": errors}


def callback_body(entries: Sequence[dict]) -> bytes:
    """The raw callback bytes: a bare JSON array, no envelope."""
    return json.dumps(list(entries), separators=(",", ":"), ensure_ascii=False).encode("utf-8")
