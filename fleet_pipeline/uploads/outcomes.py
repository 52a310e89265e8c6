"""What a failed send means for its jobs, for bulk and single alike.

- NO: the API answered with an explicit refusal (4xx): nothing was created, the jobs are
  rejected with the API's status, message and field errors.
- UNKNOWN: time-out, 5xx, connection lost mid-request, an unreadable 200: the jobs may exist;
  they are looked up by reference before anything is sent again.
- NOT_SENT: nothing reached the API (connection refused, or still rate limited after the
  client's own waits): the jobs go back to the queue.

`stop` says that the next request would fail alike (unreachable API, wrong credentials or
region), so the rest of the run is left queued rather than burnt through.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fleet_pipeline.fleet_api import (
    AuthenticationFailed,
    CreateFailed,
    FleetApiError,
    NotFound,
    RateLimited,
    RequestNotSent,
    UploadTooLarge,
    ValidationFailed,
)
from fleet_pipeline.uploads.report import error_reason

NO = "no"
UNKNOWN = "unknown"
NOT_SENT = "not_sent"

_REFUSALS = (ValidationFailed, CreateFailed, AuthenticationFailed, NotFound, UploadTooLarge)


@dataclass(frozen=True)
class FailedSend:
    kind: str
    reason: str
    stop: bool = False
    http_status: int | None = None
    message: str | None = None
    field_errors: dict[str, Any] | None = None
    next_attempt_at: datetime | None = None


def failed_send(error: FleetApiError, now: datetime) -> FailedSend:
    if isinstance(error, RateLimited):
        return FailedSend(NOT_SENT, error_reason(error), stop=True,
                          next_attempt_at=now + timedelta(seconds=error.retry_after))
    if isinstance(error, RequestNotSent):
        return FailedSend(NOT_SENT, str(error), stop=True)
    if isinstance(error, _REFUSALS):
        return FailedSend(
            NO, error_reason(error), stop=isinstance(error, AuthenticationFailed | NotFound),
            http_status=error.status, message=error.message or type(error).__name__,
            field_errors=getattr(error, "field_errors", None) or None,
        )
    # OutcomeUnknown, and anything this module does not know: never assume "not created".
    return FailedSend(UNKNOWN, str(error))
