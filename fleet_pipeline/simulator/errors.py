"""The Fleet API's error bodies: Laravel style, a top-level `error` object on every failure."""

from __future__ import annotations

from collections.abc import Mapping

from fleet_pipeline.simulator.ratelimit import Refusal
from fleet_pipeline.simulator.rules import Errors


class ApiError(Exception):
    def __init__(self, status: int, body: dict, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


def error_body(code: int, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def validation_failed(errors: Errors) -> ApiError:
    return ApiError(
        422,
        {
            "data": None,
            "error": {"code": 422, "message": "The given data was invalid.", "data": errors},
        },
    )


def unauthenticated() -> ApiError:
    return ApiError(
        401, error_body(401, "Unauthenticated."), {"WWW-Authenticate": 'Basic realm="Fleet API"'}
    )


def not_found(message: str = "Not found.") -> ApiError:
    return ApiError(404, error_body(404, message))


def server_error() -> ApiError:
    return ApiError(500, error_body(500, "Server Error"))


def too_many_requests(refusal: Refusal) -> ApiError:
    return ApiError(
        429,
        error_body(429, "Too Many Attempts."),
        {
            "X-RateLimit-Retry-At": str(refusal.retry_at),
            "X-RateLimit-Retry-After-Seconds": str(refusal.retry_after_s),
            "Retry-After": str(refusal.retry_after_s),
        },
    )
