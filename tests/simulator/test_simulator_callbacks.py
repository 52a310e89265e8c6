"""Bulk uploads end to end in process: partial creation, the signed callback, retries, give-up."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
from sim_support import (
    PASSWORD,
    USER,
    CallbackRecorder,
    TestClient,
    bulk_csv,
    fixed_clock,
    flush,
    make_config,
    simulator_client,
    stop,
    upload,
)

from fleet_pipeline.fleet_api import signature
from fleet_pipeline.simulator import create_app

WEBHOOK = "https://erp.example/fleet/callbacks/upload-7/tok3n"

ROWS = [
    {"reference_number": "OK-1", "job_type_id": 3, "schedule_type_id": 3, "stops": [stop()]},
    {"reference_number": "BAD-TYPE", "job_type_id": 2, "stops": [stop()]},
    {"reference_number": "BAD-JSON", "job_type_id": 3, "stops": '[{"address_line_1": '},
    {
        "reference_number": "OK-2",
        "job_type_id": 1,
        "stops": [stop(), stop(latitude=-26.2, longitude=28.0)],
        "items": [{"quantity": 3, "tracking_number": "T-2"}],
        "delivery_driver_name": "anna botha",
    },
]


def uploads(client) -> list[dict]:
    return client.get("/_simulator/uploads").json()["uploads"]


def test_partial_creation_and_a_signed_callback(client, recorder: CallbackRecorder) -> None:
    response = upload(client, bulk_csv(ROWS), webhook_url=WEBHOOK, template_version="v1")
    assert response.status_code == 200
    flush(client)

    assert len(recorder.requests) == 1
    request = recorder.requests[0]
    assert str(request.url) == WEBHOOK
    assert request.method == "POST"
    assert signature.verify(request.content, request.headers["X-Webhook-Signature"], PASSWORD)
    entries = json.loads(request.content)
    assert [entry["reference_number"] for entry in entries] == [
        "OK-1",
        "BAD-TYPE",
        "BAD-JSON",
        "OK-2",
    ]
    assert entries[1] == {
        "reference_number": "BAD-TYPE",
        "errors": {"job_type_id": ["The selected job_type_id is invalid."]},
    }
    assert entries[2] == {
        "reference_number": "BAD-JSON",
        "errors": {"stops": ["The stops must be a valid JSON string."]},
    }
    for entry in (entries[0], entries[3]):
        assert set(entry) == {"reference_number", "job_id"}
        job = client.get(f"/rest/delivery/jobs/{entry['job_id']}").json()["data"]
        assert job["reference_number"] == entry["reference_number"]
    assert client.get("/rest/delivery/jobs").json()["meta"]["total"] == 2

    (record,) = uploads(client)
    assert (record["status"], record["created"], record["rejected"]) == ("processed", 2, 2)
    assert record["webhook_url"] == WEBHOOK
    assert [row["job_id"] is not None for row in record["rows"]] == [True, False, False, True]
    (callback,) = record["callbacks"]
    assert callback["status"] == "delivered"
    assert [a["status_code"] for a in callback["attempts"]] == [200]


def test_signing_key_is_a_setting() -> None:
    recorder = CallbackRecorder()
    config = make_config(callback_signing_key="another-key")
    with simulator_client(config, recorder) as client:
        upload(client, bulk_csv(ROWS[:1]), webhook_url=WEBHOOK)
        flush(client)
    (request,) = recorder.requests
    assert signature.verify(request.content, request.headers["X-Webhook-Signature"], "another-key")
    assert not signature.verify(request.content, request.headers["X-Webhook-Signature"], PASSWORD)


def test_callback_is_retried_after_a_500() -> None:
    recorder = CallbackRecorder(statuses=[500])
    with simulator_client(make_config(callback_retry_schedule_s=[0.05]), recorder) as client:
        upload(client, bulk_csv(ROWS), webhook_url=WEBHOOK)
        flush(client)
        (callback,) = uploads(client)[0]["callbacks"]
    assert len(recorder.requests) == 2
    assert recorder.requests[0].content == recorder.requests[1].content
    assert callback["status"] == "delivered"
    assert [a["status_code"] for a in callback["attempts"]] == [500, 200]


def test_callback_is_given_up_after_the_schedule() -> None:
    recorder = CallbackRecorder(statuses=[503, 500, 404, 200])
    with simulator_client(make_config(callback_retry_schedule_s=[0.01, 0.01]), recorder) as client:
        upload(client, bulk_csv(ROWS[:1]), webhook_url=WEBHOOK)
        flush(client)
        (callback,) = uploads(client)[0]["callbacks"]
    assert callback["status"] == "given_up"
    assert [a["status_code"] for a in callback["attempts"]] == [503, 500, 404]
    assert len(recorder.requests) == 3


def test_unreachable_receiver_is_retried_and_recorded() -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused", request=request)

    config = make_config(callback_retry_schedule_s=[0.01])
    app_transport = httpx.MockTransport(refuse)
    with TestClient(
        create_app(config, clock=fixed_clock, callback_transport=app_transport)
    ) as client:
        client.auth = (USER, PASSWORD)
        upload(client, bulk_csv(ROWS[:1]), webhook_url=WEBHOOK)
        flush(client)
        (callback,) = uploads(client)[0]["callbacks"]
    assert len(calls) == 2
    assert callback["status"] == "given_up"
    assert [(a["status_code"], a["error"]) for a in callback["attempts"]] == [
        (None, "ConnectError"),
        (None, "ConnectError"),
    ]


def test_retries_follow_the_schedule() -> None:
    recorder = CallbackRecorder(statuses=[500])
    with simulator_client(make_config(callback_retry_schedule_s=[0.3]), recorder) as client:
        upload(client, bulk_csv(ROWS[:1]), webhook_url=WEBHOOK)
        flush(client)
        first, second = uploads(client)[0]["callbacks"][0]["attempts"]
    gap = datetime.fromisoformat(second["at"]) - datetime.fromisoformat(first["at"])
    assert gap.total_seconds() >= 0.3


def test_upload_without_webhook_creates_jobs_and_sends_nothing(client, recorder) -> None:
    upload(client, bulk_csv(ROWS))
    flush(client)
    (record,) = uploads(client)
    assert record["created"] == 2 and record["callbacks"] == []
    assert recorder.requests == []


def test_rejected_duplicates_within_one_upload() -> None:
    recorder = CallbackRecorder()
    rows = [ROWS[0], ROWS[0]]
    with simulator_client(make_config(duplicate_reference="reject"), recorder) as client:
        upload(client, bulk_csv(rows), webhook_url=WEBHOOK)
        flush(client)
    first, second = recorder.bodies()[0]
    assert "job_id" in first
    assert second == {
        "reference_number": "OK-1",
        "errors": {"reference_number": ["The reference_number has already been taken."]},
    }
