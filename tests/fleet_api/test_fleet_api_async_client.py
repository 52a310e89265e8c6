"""The asyncio client shares every rule with the blocking one; these pin the async paths."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from fleet_api_fakes import ScriptedApi, error, job_body, multipart_fields, ok, sample_payload

from fleet_pipeline.fleet_api import (
    OutcomeUnknown,
    UploadTooLarge,
    ValidationFailed,
)


def run(coroutine):
    return asyncio.run(coroutine)


def test_create_job(make_async_client):
    api = ScriptedApi(ok(job_body(5, "R-5")))

    async def scenario():
        async with make_async_client(api) as client:
            return await client.create_job(sample_payload("R-5"))

    assert run(scenario()).job_id == 5
    assert json.loads(api.requests[0].content)["reference_number"] == "R-5"


def test_create_jobs_bounds_concurrency_and_reports_every_outcome(make_async_client):
    in_flight = 0
    peak = 0

    async def slow_api(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        reference = json.loads(request.content)["reference_number"]
        if reference == "R-3":
            return error(422, "The given data was invalid.")
        if reference == "R-4":
            return error(500)
        return ok(job_body(int(reference[2:]), reference))

    async def scenario():
        client = make_async_client(ScriptedApi(slow_api))
        async with client:
            return [item async for item in client.create_jobs(
                (sample_payload(f"R-{i}") for i in range(10)), concurrency=3)]

    results = dict(run(scenario()))
    assert sorted(results) == list(range(10))
    assert peak == 3
    assert isinstance(results[3], ValidationFailed)
    assert isinstance(results[4], OutcomeUnknown)
    assert results[7].job_id == 7


def test_create_jobs_cancels_the_rest_when_the_caller_stops(make_async_client):
    sent = []

    async def slow_api(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        await asyncio.sleep(0.05)
        return ok(job_body())

    async def scenario():
        client = make_async_client(ScriptedApi(slow_api))
        async with client:
            results = client.create_jobs([sample_payload(f"R{i}") for i in range(20)],
                                         concurrency=2)
            async for _ in results:
                break
            await results.aclose()
            await asyncio.sleep(0.1)

    run(scenario())
    assert len(sent) < 6


def test_5xx_on_create_is_not_resent(make_async_client, sleeps):
    api = ScriptedApi(error(503), ok(job_body()))

    async def scenario():
        async with make_async_client(api) as client:
            await client.create_job(sample_payload())

    with pytest.raises(OutcomeUnknown):
        run(scenario())
    assert len(api.requests) == 1 and sleeps == []


def test_429_and_connect_errors_are_retried_with_async_waits(make_async_client, sleeps):
    api = ScriptedApi(
        error(429, X_RateLimit_Retry_After_Seconds="2"),
        httpx.ConnectError("refused"),
        ok(job_body(8)),
    )

    async def scenario():
        async with make_async_client(api) as client:
            return await client.create_job(sample_payload())

    assert run(scenario()).job_id == 8
    assert len(api.requests) == 3
    assert sleeps[0] == 2.0 and len(sleeps) == 2


def test_find_jobs_pages_and_exact_reference(make_async_client):
    def page(data, current):
        return httpx.Response(200, json={"data": data, "meta": {"current_page": current,
                                                                "last_page": 2}})

    api = ScriptedApi(page([job_body(1, "X"), job_body(2, "X-2")], 1), page([job_body(3, "X")], 2))

    async def scenario():
        async with make_async_client(api) as client:
            return await client.find_job_by_reference("X")

    assert [job.job_id for job in run(scenario())] == [1, 3]
    assert [r.url.params["page"] for r in api.requests] == ["1", "2"]


def test_get_job_and_bulk_upload(make_async_client):
    api = ScriptedApi(ok(job_body(4)), ok({"accepted": 2}))

    async def scenario():
        async with make_async_client(api) as client:
            job = await client.get_job(4)
            accepted = await client.bulk_upload(
                [sample_payload("A"), sample_payload("B")], webhook_url="https://h.test/1")
            with pytest.raises(UploadTooLarge):
                await client.bulk_upload([sample_payload(f"R{i}") for i in range(1001)])
            return job, accepted

    job, accepted = run(scenario())
    assert job.job_id == 4
    assert accepted.data == {"accepted": 2} and accepted.jobs == 2
    assert multipart_fields(api.requests[1])["webhook_url"] == (None, b"https://h.test/1")
    assert len(api.requests) == 2
