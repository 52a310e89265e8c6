"""What each answer, or each lack of one, means for a read and for a create."""

from __future__ import annotations

import pickle

import httpx
import pytest
from fleet_api_fakes import error, validation_error

from fleet_pipeline.fleet_api.classify import (
    classify_response,
    classify_transport_error,
    retry_after_seconds,
)
from fleet_pipeline.fleet_api.errors import (
    AuthenticationFailed,
    CreateFailed,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestNotSent,
    ServerError,
    UnexpectedResponse,
    ValidationFailed,
)


def answered(response: httpx.Response, method: str = "POST") -> httpx.Response:
    response.request = httpx.Request(method, "https://fleetapi-za.cartrack.com/rest/delivery/jobs")
    return response


@pytest.mark.parametrize("idempotent", [True, False])
def test_200_is_success(idempotent):
    assert classify_response(answered(httpx.Response(200, json={})), idempotent) is None


def test_422_carries_field_errors_and_message():
    found = classify_response(answered(validation_error({"stops": ["Required."]})), False)
    assert isinstance(found, ValidationFailed)
    assert found.status == 422
    assert found.message == "The given data was invalid."
    assert found.field_errors == {"stops": ["Required."]}
    assert not found.retryable


@pytest.mark.parametrize(
    ("status", "kind"),
    [(401, AuthenticationFailed), (403, AuthenticationFailed), (404, NotFound)],
)
@pytest.mark.parametrize("idempotent", [True, False])
def test_refusals(status, kind, idempotent):
    found = classify_response(answered(error(status, "Unauthenticated.")), idempotent)
    assert type(found) is kind
    assert found.status == status
    assert found.message == "Unauthenticated."
    assert not found.retryable


def test_401_names_the_region_as_a_cause():
    found = classify_response(answered(httpx.Response(401, text="")), True)
    assert "region" in str(found)


def test_5xx_on_a_read_is_a_retryable_server_error():
    found = classify_response(answered(error(502, "Bad Gateway"), "GET"), True)
    assert isinstance(found, ServerError) and found.retryable


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_on_a_create_is_an_unknown_outcome(status):
    found = classify_response(answered(httpx.Response(status, text="<html>oops</html>")), False)
    assert isinstance(found, OutcomeUnknown)
    assert found.status == status
    assert not found.retryable


def test_undocumented_2xx_on_a_create_is_not_a_failure():
    found = classify_response(answered(httpx.Response(201, json={"data": {"job_id": 1}})), False)
    assert isinstance(found, OutcomeUnknown)


def test_other_statuses():
    found = classify_response(answered(error(400, "Bad request")), False)
    assert isinstance(found, CreateFailed) and found.message == "Bad request"
    assert isinstance(classify_response(answered(error(400), "GET"), True), UnexpectedResponse)


def test_429_waits_the_announced_seconds():
    response = answered(error(429, X_RateLimit_Retry_After_Seconds="7", X_RateLimit_Retry_At="1"))
    found = classify_response(response, False, now=0.0)
    assert isinstance(found, RateLimited) and found.retryable
    assert found.retry_after == 7.0


def test_429_falls_back_to_the_announced_time_then_to_a_default():
    assert retry_after_seconds({"X-RateLimit-Retry-At": "1000.5"}, now=990.0) == 10.5
    assert retry_after_seconds({"X-RateLimit-Retry-At": "900"}, now=990.0) == 0.0
    assert retry_after_seconds({"Retry-After": "3"}) == 3.0
    assert retry_after_seconds({}, default=12.0) == 12.0
    assert retry_after_seconds({"X-RateLimit-Retry-After-Seconds": "soon"}, default=2.0) == 2.0
    assert retry_after_seconds({"X-RateLimit-Retry-After-Seconds": "nan"}, default=2.0) == 2.0


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ConnectError("Connection refused"),
        httpx.ConnectTimeout("timed out"),
        httpx.PoolTimeout("no free connection"),
    ],
)
@pytest.mark.parametrize("idempotent", [True, False])
def test_failures_before_sending_are_safe_to_retry(failure, idempotent):
    found = classify_transport_error(failure, idempotent, operation="POST /delivery/jobs")
    assert isinstance(found, RequestNotSent) and found.retryable
    assert type(failure).__name__ in found.cause


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.WriteTimeout("timed out"),
        httpx.ReadError("connection reset"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ],
)
def test_failures_after_sending_leave_a_create_unknown(failure):
    on_create = classify_transport_error(failure, False)
    assert isinstance(on_create, OutcomeUnknown) and not on_create.retryable
    on_read = classify_transport_error(failure, True)
    assert isinstance(on_read, OutcomeUnknown) and on_read.retryable


def test_errors_survive_pickling():
    original = ValidationFailed("invalid", field_errors={"a": ["b"]}, operation="POST /x")
    copy = pickle.loads(pickle.dumps(original))
    assert repr(copy) == repr(original)
    assert str(copy) == str(original)
