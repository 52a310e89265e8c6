"""The blocking client against a scripted API: every operation, every error, every retry rule."""

from __future__ import annotations

import base64
import logging

import httpx
import pytest
from fleet_api_fakes import (
    BASE_URL,
    CREDENTIALS,
    PASSWORD,
    USERNAME,
    ScriptedApi,
    decoded_json,
    error,
    job_body,
    multipart_fields,
    ok,
    sample_payload,
    validation_error,
)

from fleet_pipeline.fleet_api import (
    AuthenticationFailed,
    CreateFailed,
    FleetApiClient,
    InProcessRateLimiter,
    JobPayload,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    RequestNotSent,
    RetryPolicy,
    ServerError,
    Timeouts,
    UploadTooLarge,
    ValidationFailed,
    region_base_url,
)
from fleet_pipeline.fleet_api.ratelimit import Budget


def page(jobs: list[dict], current: int, last: int, per_page: int = 2) -> httpx.Response:
    meta = {"from": (current - 1) * per_page + 1, "to": (current - 1) * per_page + len(jobs),
            "current_page": current, "per_page": per_page, "last_page": last, "total": 5}
    return httpx.Response(200, json={"data": jobs, "meta": meta})


# --- operations -------------------------------------------------------------------------------


def test_create_job_posts_json_and_reads_the_job(make_client):
    api = ScriptedApi(ok(job_body(119582, "CART202502260001")))
    job = make_client(api).create_job(sample_payload())
    assert (job.job_id, job.order_id, job.reference_number) == (
        119582, "ORD-119582", "CART202502260001")
    (request,) = api.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/delivery/jobs"
    assert request.headers["content-type"] == "application/json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(
        f"{USERNAME}:{PASSWORD}".encode()).decode()
    assert decoded_json(request) == sample_payload()


def test_create_job_sends_a_model_without_unset_fields(make_client):
    api = ScriptedApi(ok(job_body()))
    make_client(api).create_job(JobPayload(job_type_id=3, stops=[{"customer_name": "A"}]))
    assert decoded_json(api.requests[0]) == {"job_type_id": 3, "stops": [{"customer_name": "A"}]}


def test_bulk_upload_sends_the_csv_and_the_webhook(make_client):
    api = ScriptedApi(ok({"message": "Upload accepted", "batch": "b-17"}))
    payloads = [sample_payload("A1"), sample_payload("A2")]
    accepted = make_client(api).bulk_upload(payloads, webhook_url="https://hooks.test/u/1/tok")
    assert accepted.data == {"message": "Upload accepted", "batch": "b-17"}
    assert accepted.jobs == 2
    (request,) = api.requests
    assert request.url.path == "/rest/delivery/jobs/bulk-upload"
    fields = multipart_fields(request)
    assert fields["webhook_url"] == (None, b"https://hooks.test/u/1/tok")
    assert fields["template_version"] == (None, b"v1")
    filename, content = fields["file"]
    assert filename == "jobs.csv"
    assert content.startswith(b"reference_number,job_type_id,")
    assert accepted.size_bytes == len(content)


def test_bulk_upload_field_name_is_configurable_and_csv_bytes_accepted(make_client):
    api = ScriptedApi(httpx.Response(200, text="OK"))
    csv_bytes = b"reference_number,job_type_id\r\nX1,3\r\n"
    accepted = make_client(api).bulk_upload(
        csv_bytes, webhook_url="https://hooks.test/x", webhook_field="webhooks_url")
    assert accepted.data is None and accepted.jobs == 1
    fields = multipart_fields(api.requests[0])
    assert "webhook_url" not in fields
    assert fields["webhooks_url"] == (None, b"https://hooks.test/x")
    assert fields["file"][1] == csv_bytes


@pytest.mark.parametrize("jobs", [1001, 1500])
def test_bulk_upload_refuses_too_many_jobs_before_sending(make_client, jobs):
    api = ScriptedApi(ok({}))
    with pytest.raises(UploadTooLarge):
        make_client(api).bulk_upload([sample_payload(f"R{i}") for i in range(jobs)])
    assert api.requests == []


def test_bulk_upload_refuses_a_file_over_10_mb_before_sending(make_client):
    api = ScriptedApi(ok({}))
    with pytest.raises(UploadTooLarge):
        make_client(api).bulk_upload(b"reference_number\r\n" + b"x" * 10 * 1024 * 1024)
    assert api.requests == []


def test_find_jobs_walks_every_page(make_client):
    api = ScriptedApi(
        page([job_body(1, "A"), job_body(2, "B")], 1, 3),
        page([job_body(3, "C"), job_body(4, "D")], 2, 3),
        page([job_body(5, "E")], 3, 3),
    )
    jobs = list(make_client(api).find_jobs(job_status_id=2, limit=2))
    assert [job.job_id for job in jobs] == [1, 2, 3, 4, 5]
    assert [r.url.params["page"] for r in api.requests] == ["1", "2", "3"]
    assert {r.url.params["limit"] for r in api.requests} == {"2"}
    assert {r.url.params["filter[job_status_id]"] for r in api.requests} == {"2"}


def test_find_jobs_defaults_to_pages_of_1000_and_stops_on_an_empty_page(make_client):
    api = ScriptedApi(httpx.Response(200, json={"data": [], "meta": {"last_page": 9}}))
    assert list(make_client(api).find_jobs()) == []
    assert len(api.requests) == 1
    assert api.requests[0].url.params["limit"] == "1000"


def test_find_jobs_without_meta_pages_until_a_short_page(make_client):
    api = ScriptedApi(
        httpx.Response(200, json={"data": [job_body(1), job_body(2)]}),
        httpx.Response(200, json={"data": [job_body(3)]}),
    )
    assert len(list(make_client(api).find_jobs(limit=2))) == 3
    assert len(api.requests) == 2


def test_find_jobs_refuses_unknown_filters(make_client):
    api = ScriptedApi(ok([]))
    with pytest.raises(ValueError, match="referenc_number"):
        list(make_client(api).find_jobs(referenc_number="X"))
    assert api.requests == []


def test_find_job_by_reference_keeps_exact_matches_only(make_client):
    api = ScriptedApi(page([job_body(1, "CART-1"), job_body(2, "CART-10")], 1, 1))
    jobs = make_client(api).find_job_by_reference("CART-1")
    assert [job.job_id for job in jobs] == [1]
    assert api.requests[0].url.params["filter[reference_number]"] == "CART-1"


def test_get_job(make_client):
    api = ScriptedApi(ok(job_body(77, "R-77", job_status_id=5)))
    job = make_client(api).get_job(77)
    assert job.job_status_id == 5
    assert api.requests[0].url.path == "/rest/delivery/jobs/77"


# --- errors -----------------------------------------------------------------------------------


def test_422_raises_validation_failed_with_field_errors(make_client):
    api = ScriptedApi(validation_error({"job_type_id": ["The selected job_type_id is invalid."]}))
    with pytest.raises(ValidationFailed) as caught:
        make_client(api).create_job(sample_payload())
    assert caught.value.field_errors == {"job_type_id": ["The selected job_type_id is invalid."]}
    assert caught.value.operation == "POST /delivery/jobs"
    assert len(api.requests) == 1


@pytest.mark.parametrize("status", [401, 403])
def test_authentication_failures(make_client, status):
    api = ScriptedApi(error(status, "Unauthenticated."))
    with pytest.raises(AuthenticationFailed) as caught:
        make_client(api).get_job(1)
    assert caught.value.status == status
    assert len(api.requests) == 1


def test_404_is_not_found(make_client):
    api = ScriptedApi(httpx.Response(404, text="Not Found"))
    with pytest.raises(NotFound) as caught:
        make_client(api).get_job(404)
    assert caught.value.message == "Not Found"


def test_other_non_200_to_a_create_is_create_failed(make_client):
    api = ScriptedApi(error(400, "Driver name is ambiguous"))
    with pytest.raises(CreateFailed, match="Driver name is ambiguous"):
        make_client(api).create_job(sample_payload())


def test_unreadable_200_to_a_create_is_an_unknown_outcome(make_client):
    api = ScriptedApi(httpx.Response(200, text="<html>ok</html>"))
    with pytest.raises(OutcomeUnknown):
        make_client(api).create_job(sample_payload())


@pytest.mark.parametrize(
    ("headers", "expected_wait"),
    [
        ({"X-RateLimit-Retry-After-Seconds": "7"}, 7.0),
        ({"Retry-After": "4"}, 4.0),
        ({}, 10.0),
    ],
)
def test_429_is_retried_after_the_announced_wait(make_client, sleeps, headers, expected_wait):
    api = ScriptedApi(
        httpx.Response(429, json={"error": {"code": 429, "message": "Too Many Attempts."}},
                       headers=headers),
        ok(job_body()),
    )
    assert make_client(api).create_job(sample_payload()).job_id == 119582
    assert len(api.requests) == 2
    assert sleeps == [expected_wait]


def test_429_retry_at_header_is_a_unix_time(make_client, sleeps):
    import time

    retry_at = time.time() + 30
    api = ScriptedApi(error(429, X_RateLimit_Retry_At=f"{retry_at:.3f}"), ok(job_body()))
    make_client(api).create_job(sample_payload())
    (wait,) = sleeps
    assert 28 < wait <= 30


def test_429_retries_are_bounded_by_attempts(make_client, sleeps):
    api = ScriptedApi(error(429, X_RateLimit_Retry_After_Seconds="1"))
    with pytest.raises(RateLimited):
        make_client(api, retry_policy=RetryPolicy(max_attempts=4, sleep=sleeps)).get_job(1)
    assert len(api.requests) == 4
    assert sleeps == [1.0, 1.0, 1.0]


def test_429_announcing_a_wait_beyond_the_total_is_not_waited(make_client, sleeps):
    api = ScriptedApi(error(429, X_RateLimit_Retry_After_Seconds="3600"), ok(job_body()))
    with pytest.raises(RateLimited) as caught:
        make_client(api).create_job(sample_payload())
    assert caught.value.retry_after == 3600
    assert len(api.requests) == 1
    assert sleeps == []


@pytest.mark.parametrize("status", [500, 502, 503])
def test_5xx_on_create_is_outcome_unknown_and_never_resent(make_client, sleeps, status):
    api = ScriptedApi(error(status, "Server Error"), ok(job_body()))
    with pytest.raises(OutcomeUnknown) as caught:
        make_client(api).create_job(sample_payload())
    assert caught.value.status == status
    assert len(api.requests) == 1
    assert sleeps == []


def test_5xx_on_bulk_upload_is_outcome_unknown_and_never_resent(make_client):
    api = ScriptedApi(error(500), ok({}))
    with pytest.raises(OutcomeUnknown):
        make_client(api).bulk_upload([sample_payload()])
    assert len(api.requests) == 1


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.ReadError("Connection reset by peer"),
     httpx.RemoteProtocolError("Server disconnected without sending a response.")],
)
def test_no_answer_to_a_create_is_outcome_unknown_and_never_resent(make_client, failure):
    api = ScriptedApi(failure, ok(job_body()))
    with pytest.raises(OutcomeUnknown) as caught:
        make_client(api).create_job(sample_payload())
    assert not caught.value.retryable
    assert len(api.requests) == 1


def test_5xx_and_time_outs_on_a_read_are_retried(make_client, sleeps):
    api = ScriptedApi(error(503), httpx.ReadTimeout("timed out"), ok(job_body(9)))
    assert make_client(api).get_job(9).job_id == 9
    assert len(api.requests) == 3
    assert len(sleeps) == 2


def test_read_retries_are_bounded(make_client, sleeps):
    api = ScriptedApi(error(500))
    with pytest.raises(ServerError):
        make_client(api, retry_policy=RetryPolicy(max_attempts=3, sleep=sleeps)).get_job(9)
    assert len(api.requests) == 3


@pytest.mark.parametrize(
    "failure", [httpx.ConnectError("Connection refused"), httpx.ConnectTimeout("timed out")]
)
def test_connect_errors_are_retried_even_for_a_create(make_client, sleeps, failure):
    api = ScriptedApi(failure, failure, ok(job_body()))
    assert make_client(api).create_job(sample_payload()).job_id == 119582
    assert len(api.requests) == 3
    assert len(sleeps) == 2


def test_connect_errors_end_as_request_not_sent(make_client, sleeps):
    api = ScriptedApi(httpx.ConnectError("Connection refused"))
    with pytest.raises(RequestNotSent) as caught:
        make_client(api).create_job(sample_payload())
    assert len(api.requests) == 5
    assert caught.value.__context__ is None and caught.value.__cause__ is None


def test_rate_limiter_is_asked_before_every_attempt(make_client):
    slots = []
    limiter = InProcessRateLimiter(Budget(requests=10, period=1.0, headroom=0),
                                   clock=lambda: 0.0, sleep=slots.append)
    api = ScriptedApi(httpx.ConnectError("refused"), ok(job_body()))
    make_client(api, rate_limiter=limiter).create_job(sample_payload())
    assert slots == [pytest.approx(0.1)]  # the retry waited one interval behind the first try


# --- configuration and secrets ----------------------------------------------------------------


def test_region_base_url():
    assert region_base_url("za") == "https://fleetapi-za.cartrack.com/rest"
    assert region_base_url(" SG ") == "https://fleetapi-sg.cartrack.com/rest"
    with pytest.raises(ValueError):
        region_base_url("south-africa")


def test_default_timeouts_are_generous():
    timeout = Timeouts().to_httpx()
    assert (timeout.connect, timeout.read) == (10.0, 60.0)


def test_timeouts_and_user_agent_reach_the_request(make_client):
    seen = {}

    def capture(request):
        seen.update(request.extensions["timeout"], agent=request.headers["user-agent"])
        return ok(job_body())

    make_client(ScriptedApi(capture), timeouts=Timeouts(connect=3, read=90),
                user_agent="acme-erp-sync/2").get_job(1)
    assert seen["connect"] == 3 and seen["read"] == 90
    assert seen["agent"] == "acme-erp-sync/2"


def test_a_base_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(ValueError) as caught:
        FleetApiClient(f"https://{USERNAME}:{PASSWORD}@fleet.test/rest", CREDENTIALS)
    assert PASSWORD not in str(caught.value) and USERNAME not in str(caught.value)


def assert_no_secret(text: str) -> None:
    token = base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()
    for secret in (PASSWORD, USERNAME, token, "authorization", "Authorization"):
        assert secret not in text


def test_credentials_never_show(make_client, caplog):
    caplog.set_level(logging.DEBUG)
    assert_no_secret(repr(CREDENTIALS) + str(CREDENTIALS))
    client = make_client(ScriptedApi(
        validation_error({"email": ["bad"]}), error(401), error(500),
        httpx.ReadTimeout("timed out"), httpx.ConnectError("refused"), ok(job_body()),
    ))
    assert_no_secret(repr(client))
    failures = []
    for _ in range(4):
        try:
            client.create_job(sample_payload())
        except Exception as exc:  # every failure's text and repr is checked below
            failures.append(exc)
    assert [type(f) for f in failures] == [ValidationFailed, AuthenticationFailed,
                                           OutcomeUnknown, OutcomeUnknown]
    client.create_job(sample_payload())  # the connect error is retried, then succeeds
    for failure in failures:
        assert failure.__cause__ is None and failure.__context__ is None
        assert_no_secret(str(failure) + repr(failure) + repr(vars(failure)))
    assert caplog.records
    for record in caplog.records:
        text = record.getMessage() + repr(record.__dict__)
        assert_no_secret(text)
        assert "Thandi" not in text and "+27821234567" not in text  # no payload data


def test_each_exchange_is_logged_with_method_path_status_and_time(make_client, caplog):
    caplog.set_level(logging.INFO, logger="fleet_pipeline.fleet_api")
    make_client(ScriptedApi(ok(job_body()))).create_job(sample_payload())
    (record,) = [r for r in caplog.records if r.name == "fleet_pipeline.fleet_api"]
    assert record.getMessage().startswith("POST /delivery/jobs -> 200 in ")
    assert (record.fleet_method, record.fleet_path, record.fleet_status) == (
        "POST", "/delivery/jobs", 200)
    assert record.fleet_elapsed >= 0
