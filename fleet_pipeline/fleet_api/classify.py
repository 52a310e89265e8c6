"""Turn an answer (or the lack of one) into success or a typed error.

Plain functions shared by the sync and async clients. `idempotent` decides what silence and 5xx
mean: a read can simply be asked again; a create or bulk upload may have happened, so it becomes
OutcomeUnknown and is never sent again blindly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

import httpx

from fleet_pipeline.fleet_api.errors import (
    AuthenticationFailed,
    CreateFailed,
    FleetApiError,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestNotSent,
    ServerError,
    UnexpectedResponse,
    ValidationFailed,
)
from fleet_pipeline.fleet_api.models import parse_error_body

RETRY_AFTER_SECONDS_HEADER = "X-RateLimit-Retry-After-Seconds"
RETRY_AT_HEADER = "X-RateLimit-Retry-At"
DEFAULT_RETRY_AFTER = 10.0

# Raised while connecting or before the request line is written: the server saw nothing.
_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
)
_MAX_CAUSE_CHARS = 200


def classify_response(
    response: httpx.Response,
    idempotent: bool,
    *,
    operation: str | None = None,
    now: float | None = None,
    default_retry_after: float = DEFAULT_RETRY_AFTER,
) -> FleetApiError | None:
    """None for a 200 (the only success status); otherwise the error the answer means."""
    status = response.status_code
    if status == 200:
        return None
    operation = operation or response_operation(response)
    body = parse_error_body(response.content)
    if status == 422:
        return ValidationFailed(body.message, field_errors=body.field_errors, operation=operation)
    if status in (401, 403):
        return AuthenticationFailed(body.message, status=status, operation=operation)
    if status == 404:
        return NotFound(body.message, status=status, operation=operation)
    if status == 429:
        return RateLimited(
            body.message,
            retry_after=retry_after_seconds(response.headers, now=now, default=default_retry_after),
            operation=operation,
        )
    if idempotent:
        if status >= 500:
            return ServerError(body.message, status=status, operation=operation)
        return UnexpectedResponse(body.message, status=status, operation=operation)
    if status >= 500:
        return OutcomeUnknown(
            body.message, cause="server error", status=status, operation=operation
        )
    if 200 < status < 300:
        # The API documents 200 only; another 2xx might well mean "done", so do not call it failed.
        return OutcomeUnknown(
            body.message, cause=f"undocumented success status {status}", status=status,
            operation=operation,
        )
    return CreateFailed(body.message, status=status, operation=operation)


def classify_transport_error(
    error: httpx.HTTPError, idempotent: bool, *, operation: str | None = None
) -> FleetApiError:
    """No answer: either nothing was sent (safe to send again) or the outcome is unknown."""
    cause = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    cause = cause[:_MAX_CAUSE_CHARS]
    if isinstance(error, _NOT_SENT):
        return RequestNotSent("the request was not sent", cause=cause, operation=operation)
    message = "no answer" if idempotent else "no answer; the request may have reached the server"
    return OutcomeUnknown(message, cause=cause, retryable=idempotent, operation=operation)


def retry_after_seconds(
    headers: Mapping[str, str], *, now: float | None = None, default: float = DEFAULT_RETRY_AFTER
) -> float:
    """Seconds to wait after a 429: the announced delay, else the announced time, else default."""
    seconds = _number(headers.get(RETRY_AFTER_SECONDS_HEADER))
    if seconds is not None:
        return max(seconds, 0.0)
    retry_at = _number(headers.get(RETRY_AT_HEADER))
    if retry_at is not None:
        return max(retry_at - (time.time() if now is None else now), 0.0)
    seconds = _number(headers.get("Retry-After"))
    if seconds is not None:
        return max(seconds, 0.0)
    return default


def response_operation(response: httpx.Response) -> str | None:
    try:
        request = response.request
    except RuntimeError:
        return None
    return f"{request.method} {request.url.path}"


def _number(raw: str | None) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None
