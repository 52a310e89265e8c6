"""What a failed request means for its jobs: refused, unknown, or never sent."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from fleet_pipeline.fleet_api import (
    AuthenticationFailed,
    CreateFailed,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestNotSent,
    ServerError,
    ValidationFailed,
)
from fleet_pipeline.uploads.outcomes import NO, NOT_SENT, UNKNOWN, failed_send

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def test_a_validation_error_is_a_refusal_with_its_field_errors():
    error = ValidationFailed("The given data was invalid.",
                             field_errors={"stops": ["The stops must contain 1 items."]})
    failure = failed_send(error, NOW)
    assert (failure.kind, failure.http_status, failure.stop) == (NO, 422, False)
    assert failure.field_errors == {"stops": ["The stops must contain 1 items."]}
    assert failure.reason == ("HTTP 422; The given data was invalid.; stops: The stops must "
                              "contain 1 items.")


@pytest.mark.parametrize(("error", "stop"), [
    (CreateFailed("Bad request", status=400), False),
    (AuthenticationFailed("Unauthenticated.", status=401), True),
    (NotFound("Not found", status=404), True),
])
def test_other_refusals_and_the_ones_that_stop_the_run(error, stop):
    failure = failed_send(error, NOW)
    assert (failure.kind, failure.http_status, failure.stop) == (NO, error.status, stop)
    assert failure.message == error.message


def test_a_request_that_never_left_goes_back_to_the_queue():
    failure = failed_send(RequestNotSent("not sent", cause="ConnectError"), NOW)
    assert (failure.kind, failure.stop, failure.next_attempt_at) == (NOT_SENT, True, None)
    limited = failed_send(RateLimited("Too Many Attempts.", retry_after=30), NOW)
    assert (limited.kind, limited.stop) == (NOT_SENT, True)
    assert limited.next_attempt_at == NOW + timedelta(seconds=30)


@pytest.mark.parametrize("error", [
    OutcomeUnknown("no answer", cause="ReadTimeout"),
    OutcomeUnknown("Server Error", cause="server error", status=500),
    ServerError("Server Error", status=503),
])
def test_no_clear_answer_is_unknown_never_failed(error):
    failure = failed_send(error, NOW)
    assert (failure.kind, failure.stop, failure.http_status) == (UNKNOWN, False, None)
    assert failure.reason == str(error)
