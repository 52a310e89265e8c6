"""Each Fleet API operation as data: the request to send and how to read its answer.

The sync and async clients only differ in how they wait and send; everything an operation means
(path, body, idempotency, parsing, classification, logging) lives here once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import partial
from typing import Any, Generic, TypeVar

import httpx
from pydantic import ValidationError

from fleet_pipeline.fleet_api.classify import (
    DEFAULT_RETRY_AFTER,
    classify_response,
    classify_transport_error,
)
from fleet_pipeline.fleet_api.errors import FleetApiError, OutcomeUnknown, UnexpectedResponse
from fleet_pipeline.fleet_api.models import (
    BulkUploadAccepted,
    Job,
    JobPage,
    format_fleet_ts,
)
from fleet_pipeline.fleet_api.template import TEMPLATE_VERSION
from fleet_pipeline.fleet_api.upload import (
    Payload,
    build_upload_csv,
    check_upload_file,
    encode_json,
    payload_dict,
)

log = logging.getLogger("fleet_pipeline.fleet_api")

T = TypeVar("T")

JOBS_PATH = "/delivery/jobs"
BULK_UPLOAD_PATH = "/delivery/jobs/bulk-upload"
DEFAULT_PAGE_SIZE = 1000

JOB_FILTERS = frozenset({
    "reference_number",
    "job_id",
    "order_id",
    "job_status_id",
    "schedule_type_id",
    "create_ts_from",
    "create_ts_to",
    "scheduled_delivery_ts_from",
    "scheduled_delivery_ts_to",
    "item_tracking_number",
    "driver_id",
})


@dataclass(frozen=True)
class ApiRequest(Generic[T]):
    method: str
    path: str
    idempotent: bool
    parse: Callable[[httpx.Response, str], T]
    params: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] | None = None
    data: dict[str, str] | None = None
    files: dict[str, tuple[str, bytes, str]] | None = field(default=None, repr=False)

    @property
    def operation(self) -> str:
        return f"{self.method} {self.path}"

    def send_arguments(self) -> dict[str, Any]:
        arguments: dict[str, Any] = {"method": self.method, "url": self.path}
        for name in ("params", "content", "headers", "data", "files"):
            value = getattr(self, name)
            if value is not None:
                arguments[name] = value
        return arguments


def create_job_request(payload: Payload) -> ApiRequest[Job]:
    """`POST /delivery/jobs`. A mapping is sent as it is; a JobPayload without its unset fields."""
    return ApiRequest(
        method="POST",
        path=JOBS_PATH,
        idempotent=False,
        parse=parse_created_job,
        content=encode_json(payload_dict(payload)).encode("utf-8"),
        headers={"Content-Type": "application/json"},
    )


def bulk_upload_request(
    jobs: Sequence[Payload] | bytes,
    *,
    webhook_url: str | None,
    webhook_field: str = "webhook_url",
    template_version: str = TEMPLATE_VERSION,
    filename: str = "jobs.csv",
) -> ApiRequest[BulkUploadAccepted]:
    """`POST /delivery/jobs/bulk-upload` (multipart). Over-limit files are refused here:
    payloads and files from build_upload_csv by their known job count, other bytes by counting.

    The guide calls the webhook form field `webhooks_url`, the spec `webhook_url`: `webhook_field`
    picks one.
    """
    if isinstance(jobs, bytes | bytearray):
        # A file from build_upload_csv carries its job count; only other bytes are counted.
        content = jobs if isinstance(jobs, bytes) else bytes(jobs)
        count = check_upload_file(content)
    else:
        content = build_upload_csv(jobs)
        count = content.jobs
    form = {"template_version": template_version}
    if webhook_url is not None:
        form[webhook_field] = webhook_url
    return ApiRequest(
        method="POST",
        path=BULK_UPLOAD_PATH,
        idempotent=False,
        parse=partial(parse_bulk_accepted, jobs=count, size_bytes=len(content)),
        data=form,
        files={"file": (filename, content, "text/csv")},
    )


def find_jobs_request(
    *, page: int = 1, limit: int = DEFAULT_PAGE_SIZE, filters: Mapping[str, Any]
) -> ApiRequest[JobPage]:
    """`GET /delivery/jobs?filter[name]=value&page=&limit=`; unknown filter names are refused
    (the API would ignore them and answer with every job)."""
    unknown = set(filters) - JOB_FILTERS
    if unknown:
        raise ValueError(f"unknown job filter(s): {', '.join(sorted(unknown))}")
    params = {
        f"filter[{name}]": _filter_value(value)
        for name, value in filters.items()
        if value is not None
    }
    params.update(page=str(page), limit=str(limit))
    return ApiRequest(
        method="GET", path=JOBS_PATH, idempotent=True, parse=parse_job_page, params=params
    )


def get_job_request(job_id: int) -> ApiRequest[Job]:
    return ApiRequest(
        method="GET", path=f"{JOBS_PATH}/{int(job_id)}", idempotent=True, parse=parse_job
    )


def next_page(requested: int, result: JobPage, limit: int) -> int | None:
    """The page after `requested`, or None when it was the last one."""
    if not result.data:
        return None
    if result.meta is None:
        return requested + 1 if len(result.data) >= limit else None
    return requested + 1 if requested < result.meta.last_page else None


def settle(
    request: ApiRequest[T],
    answer: httpx.Response | httpx.HTTPError,
    elapsed: float,
    *,
    default_retry_after: float = DEFAULT_RETRY_AFTER,
) -> T:
    """Log one attempt and return its parsed answer, or raise the error it means."""
    if isinstance(answer, httpx.HTTPError):
        error = classify_transport_error(answer, request.idempotent, operation=request.operation)
        log_exchange(request, elapsed, error=error)
        raise error
    log_exchange(request, elapsed, status=answer.status_code)
    error = classify_response(
        answer,
        request.idempotent,
        operation=request.operation,
        default_retry_after=default_retry_after,
    )
    if error is not None:
        raise error
    return request.parse(answer, request.operation)


def log_exchange(
    request: ApiRequest[Any],
    elapsed: float,
    *,
    status: int | None = None,
    error: FleetApiError | None = None,
) -> None:
    """Method, path, status and time; never a header, a credential or a body."""
    outcome = type(error).__name__ if error is not None and status is None else status
    level = logging.INFO if error is None and status == 200 else logging.WARNING
    log.log(
        level,
        "%s %s -> %s in %.3f s",
        request.method,
        request.path,
        outcome,
        elapsed,
        extra={
            "fleet_method": request.method,
            "fleet_path": request.path,
            "fleet_status": status,
            "fleet_elapsed": elapsed,
        },
    )


def parse_created_job(response: httpx.Response, operation: str) -> Job:
    """A 200 to a create means created; if its job cannot be read the job id is still unknown."""
    try:
        return Job.model_validate(response.json()["data"])
    except (ValueError, KeyError, TypeError, ValidationError):
        raise OutcomeUnknown(
            "200 without a readable job", cause="unreadable body", status=200, operation=operation
        ) from None


def parse_job(response: httpx.Response, operation: str) -> Job:
    try:
        return Job.model_validate(response.json()["data"])
    except (ValueError, KeyError, TypeError, ValidationError):
        raise _unreadable(operation) from None


def parse_job_page(response: httpx.Response, operation: str) -> JobPage:
    try:
        return JobPage.model_validate(response.json())
    except (ValueError, TypeError, ValidationError):
        raise _unreadable(operation) from None


def parse_bulk_accepted(
    response: httpx.Response, operation: str, *, jobs: int, size_bytes: int
) -> BulkUploadAccepted:
    """A 200 means the file was taken; its body is undocumented, so it is kept, never required."""
    try:
        body = response.json()
    except ValueError:
        body = None
    data = body.get("data") if isinstance(body, dict) else body
    return BulkUploadAccepted(data=data, jobs=jobs, size_bytes=size_bytes)


def _unreadable(operation: str) -> UnexpectedResponse:
    return UnexpectedResponse(
        "200 with a body that is not the documented shape", status=200, operation=operation
    )


def _filter_value(value: Any) -> str:
    if isinstance(value, datetime):
        return format_fleet_ts(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)
