"""The examples in the Fleet API documentation (the bulk-upload callback entries, the Laravel
error body, the rate-limit headers) read into the client's types, and the simulator answers in
those same shapes."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from contract_support import PASSWORD, USER, job, unique

from fleet_pipeline.fleet_api import (
    AuthenticationFailed,
    CallbackEntry,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    ServerError,
    ValidationFailed,
    parse_callback,
    signature,
)
from fleet_pipeline.fleet_api.classify import classify_response

# As the documentation prints them.
DOCUMENTED_CALLBACK = b"""[
  {"reference_number": "CART202502260001", "job_id": 119582},
  {"reference_number": "CART202502260002", "errors": {"job_type_id":
    ["The selected job_type_id is invalid."]}}
]"""
DOCUMENTED_422 = {
    "data": None,
    "error": {
        "code": 422,
        "message": "The given data was invalid.",
        "data": {"job_type_id": ["The selected job_type_id is invalid."]},
    },
}
DOCUMENTED_429 = {"error": {"code": 429, "message": "Too Many Attempts."}}


def answer(status: int, body: dict, method: str = "POST", **headers: str) -> httpx.Response:
    request = httpx.Request(method, "https://fleetapi-za.cartrack.com/rest/delivery/jobs")
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_documented_callback_entries_parse():
    created, rejected = parse_callback(DOCUMENTED_CALLBACK)
    assert created == CallbackEntry(reference_number="CART202502260001", job_id=119582)
    assert created.created
    assert not rejected.created
    assert rejected.errors == {"job_type_id": ["The selected job_type_id is invalid."]}


def test_documented_signature_is_hex_hmac_of_the_raw_body():
    header = signature.sign(DOCUMENTED_CALLBACK, PASSWORD)
    assert header == header.lower() and len(header) == 64
    assert signature.verify(DOCUMENTED_CALLBACK, header.upper(), PASSWORD)
    assert not signature.verify(DOCUMENTED_CALLBACK.replace(b"119582", b"119583"), header, PASSWORD)


def test_documented_422_is_a_validation_failure_with_field_errors():
    error = classify_response(answer(422, DOCUMENTED_422), idempotent=False)
    assert isinstance(error, ValidationFailed)
    assert error.message == "The given data was invalid."
    assert error.field_errors == {"job_type_id": ["The selected job_type_id is invalid."]}


def test_documented_429_headers_give_the_wait():
    now = time.time()
    seconds = answer(429, DOCUMENTED_429, **{"X-RateLimit-Retry-After-Seconds": "17"})
    at_only = answer(429, DOCUMENTED_429, **{"X-RateLimit-Retry-At": str(int(now) + 30)})
    by_seconds = classify_response(seconds, idempotent=False)
    by_time = classify_response(at_only, idempotent=False, now=now)
    assert isinstance(by_seconds, RateLimited) and by_seconds.retry_after == 17
    assert isinstance(by_time, RateLimited) and 29 <= by_time.retry_after <= 30
    assert by_seconds.message == "Too Many Attempts."


@pytest.mark.parametrize(
    ("status", "idempotent", "kind"),
    [
        (401, False, AuthenticationFailed),
        (403, True, AuthenticationFailed),
        (404, True, NotFound),
        (500, True, ServerError),
        (500, False, OutcomeUnknown),
    ],
)
def test_top_level_error_objects_keep_their_message(status, idempotent, kind):
    body = {"error": {"code": status, "message": "Something specific"}}
    error = classify_response(answer(status, body), idempotent=idempotent)
    assert isinstance(error, kind)
    assert (error.status, error.message) == (status, "Something specific")


def test_simulator_error_bodies_have_the_documented_shape(simulator):
    jobs_url = f"{simulator.base_url}/delivery/jobs"
    invalid = httpx.post(jobs_url, json=job(unique("SHAPE"), job_type_id=9), auth=(USER, PASSWORD))
    assert invalid.status_code == 422
    assert invalid.json() == DOCUMENTED_422
    unauthenticated = httpx.get(jobs_url, auth=(USER, "wrong"))
    missing = httpx.get(f"{jobs_url}/987654321", auth=(USER, PASSWORD))
    for response, status in ((unauthenticated, 401), (missing, 404)):
        assert response.status_code == status
        error = response.json()["error"]
        assert error["code"] == status and isinstance(error["message"], str)


def test_simulator_rate_limit_answer_has_the_documented_headers(start_simulator):
    limited = start_simulator(rate_limit_per_minute=1, rate_limit_window_s=30)
    jobs_url = f"{limited.base_url}/delivery/jobs"
    httpx.get(jobs_url, auth=(USER, PASSWORD))
    refused = httpx.get(jobs_url, auth=(USER, PASSWORD))
    assert refused.status_code == 429
    assert json.loads(refused.content) == DOCUMENTED_429
    retry_after = int(refused.headers["X-RateLimit-Retry-After-Seconds"])
    retry_at = int(refused.headers["X-RateLimit-Retry-At"])
    assert 0 < retry_after <= 30
    assert abs(retry_at - (time.time() + retry_after)) <= 2
