"""The bulk-upload file: template v1 CSV built from job payloads, and its limits.

Limits are checked here, before any byte goes out, because the API's answer to an oversized file
is not documented and an upload whose outcome is unclear costs a whole reconciliation.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from collections.abc import Iterable, Mapping
from typing import Any

from fleet_pipeline.fleet_api.errors import UploadTooLarge
from fleet_pipeline.fleet_api.models import JobPayload, json_default
from fleet_pipeline.fleet_api.template import (
    MAX_JOBS_PER_UPLOAD,
    MAX_UPLOAD_BYTES,
    TEMPLATE_V1_COLUMNS,
)

Payload = JobPayload | Mapping[str, Any]
# The template's column names need no quoting.
_HEADER = (",".join(TEMPLATE_V1_COLUMNS) + "\r\n").encode("utf-8")


class FieldsNotInTemplate(ValueError):
    """A payload holds fields template v1 has no column for; they would be lost in a bulk file."""

    def __init__(self, fields: Iterable[str]) -> None:
        self.fields = sorted(fields)
        super().__init__(
            f"template v1 has no column for {', '.join(self.fields)}; send these jobs one by one"
        )


def payload_dict(payload: Payload) -> dict[str, Any]:
    """A payload as the plain dict that goes on the wire (unset model fields omitted)."""
    return payload.to_request() if isinstance(payload, JobPayload) else dict(payload)


# One encoder for every cell and body: json.dumps would build a new one per call.
encode_json = json.JSONEncoder(
    default=json_default, ensure_ascii=False, separators=(",", ":")
).encode


class UploadCsv(bytes):
    """A file built by build_upload_csv: its bytes, and the job count it was built from, so that
    sending it needs no second pass over the CSV. Bytes derived from it (a slice, a copy read
    back from disk) are plain bytes again and are counted before sending."""

    jobs: int

    def __new__(cls, content: bytes, jobs: int) -> UploadCsv:
        file = super().__new__(cls, content)
        file.jobs = jobs
        return file

    def __reduce__(self):
        return type(self), (bytes(self), self.jobs)


def build_upload_csv(payloads: Iterable[Payload]) -> UploadCsv:
    """Template v1 CSV (UTF-8, RFC 4180 quoting) for at most 1,000 jobs and 10 MB.

    List and object cells (`stops`, `items`, `labels`) hold JSON. Every job needs a
    reference_number, unique in the file: the callback reports each row by it and nothing else.
    """
    rows = [payload_dict(p) for p in itertools.islice(payloads, MAX_JOBS_PER_UPLOAD + 1)]
    if len(rows) > MAX_JOBS_PER_UPLOAD:
        raise UploadTooLarge(
            jobs=None,
            size_bytes=None,
            reason=f"more than {MAX_JOBS_PER_UPLOAD} jobs in one file",
        )
    if not rows:
        raise ValueError("a bulk upload needs at least one job")
    _check_rows(rows)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(TEMPLATE_V1_COLUMNS)
    writer.writerows([_cell(row.get(column)) for column in TEMPLATE_V1_COLUMNS] for row in rows)
    content = buffer.getvalue().encode("utf-8")
    check_upload_size(content, jobs=len(rows))
    return UploadCsv(content, len(rows))


class RawJson(str):
    """A list or object cell already in JSON: written to the CSV as it is."""


_scan_value = json.scanner.make_scanner(json.JSONDecoder())
_scan_key = json.decoder.scanstring


def parse_payload(body: str) -> dict[str, Any]:
    """A job's JSON body as the fields of its CSV row: lists and objects stay the body's own
    JSON text (RawJson), so they are not serialised again. For compact JSON, as validation
    writes it, that text is byte for byte what build_upload_csv would write; anything else
    (spaces between tokens) is parsed with json.loads."""
    fields: dict[str, Any] = {}
    position, last = 1, len(body) - 1
    try:
        if not body.startswith('{"'):
            return json.loads(body)
        while True:
            key, position = _scan_key(body, position + 1)
            if body[position] != ":":
                return json.loads(body)
            value, end = _scan_value(body, position + 1)
            fields[key] = RawJson(body[position + 1:end]) if isinstance(value, list | dict) \
                else value
            if body[end] == "," and body[end + 1] == '"':
                position = end + 1
            elif body[end] == "}" and end == last:
                return fields
            else:
                return json.loads(body)
    except (IndexError, StopIteration, ValueError):
        return json.loads(body)  # raises the usual error for a body that is not JSON


class RowEncoder:
    """One job's row of a template v1 file, as build_upload_csv writes it (CRLF included), with
    the same checks; one writer for every row, for cutting a day of jobs into files."""

    def __init__(self) -> None:
        self._buffer = io.StringIO()
        self._writer = csv.writer(self._buffer, lineterminator="\r\n")
        self._header_bytes = len(_HEADER)

    def __call__(self, payload: Payload) -> bytes:
        row = payload_dict(payload)
        _check_rows([row])
        buffer = self._buffer
        buffer.seek(0)
        buffer.truncate()
        self._writer.writerow([_cell(row.get(column)) for column in TEMPLATE_V1_COLUMNS])
        content = buffer.getvalue().encode("utf-8")
        if self._header_bytes + len(content) > MAX_UPLOAD_BYTES:
            check_upload_size(_HEADER + content, jobs=1)
        return content


def check_upload_size(content: bytes, *, jobs: int | None) -> None:
    if len(content) > MAX_UPLOAD_BYTES:
        raise UploadTooLarge(
            jobs=jobs,
            size_bytes=len(content),
            reason=f"file is over {MAX_UPLOAD_BYTES} bytes",
        )


def count_csv_jobs(content: bytes) -> int:
    """Jobs in a CSV file: records after the header (a quoted newline does not start a job)."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValueError("the bulk-upload CSV must be UTF-8") from None
    records = sum(1 for record in csv.reader(io.StringIO(text, newline="")) if record)
    return max(records - 1, 0)


def check_upload_file(content: bytes) -> int:
    """Refuse a CSV over the limits; returns its job count. Only a file this module did not
    build (plain bytes) is read through to count its jobs."""
    if isinstance(content, UploadCsv):
        check_upload_size(content, jobs=content.jobs)
        jobs = content.jobs
    else:
        check_upload_size(content, jobs=None)
        jobs = count_csv_jobs(content)
    if jobs > MAX_JOBS_PER_UPLOAD:
        raise UploadTooLarge(
            jobs=jobs,
            size_bytes=len(content),
            reason=f"more than {MAX_JOBS_PER_UPLOAD} jobs in one file",
        )
    if jobs == 0:
        raise ValueError("a bulk upload needs at least one job")
    return jobs


def _check_rows(rows: list[dict[str, Any]]) -> None:
    template = set(TEMPLATE_V1_COLUMNS)
    extra = {key for row in rows for key, value in row.items() if value is not None} - template
    if extra:
        raise FieldsNotInTemplate(extra)
    references = [row.get("reference_number") for row in rows]
    missing = sum(1 for ref in references if ref is None or str(ref) == "")
    if missing:
        raise ValueError(f"{missing} job(s) without a reference_number: callbacks report by it")
    if len(set(map(str, references))) != len(references):
        raise ValueError("a reference_number repeats in the file: its callback would be ambiguous")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list | tuple | dict | bool):
        return encode_json(value)
    return str(json_default(value))
