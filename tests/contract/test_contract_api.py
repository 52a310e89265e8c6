"""The client against the simulator over real HTTP: every documented operation, answer and error
reads into the client's types, and bulk-upload callbacks arrive signed and parseable."""

from __future__ import annotations

import asyncio
from datetime import datetime
from decimal import Decimal

import pytest
from contract_support import (
    PASSWORD,
    TOMORROW,
    USER,
    YESTERDAY,
    inspect,
    job,
    job_ids_for,
    make_client,
    unique,
    upload_for,
)

from fleet_pipeline.fleet_api import (
    AsyncFleetApiClient,
    AuthenticationFailed,
    BulkUploadAccepted,
    Credentials,
    Job,
    JobPayload,
    NotFound,
    UploadTooLarge,
    ValidationFailed,
    build_upload_csv,
    parse_callback,
    signature,
)


def test_create_returns_the_job_with_its_server_ids(client):
    reference = unique("CREATE")
    created = client.create_job(JobPayload.model_validate(job(reference)))
    assert isinstance(created, Job)
    assert isinstance(created.job_id, int)
    assert created.order_id
    assert created.reference_number == reference
    assert created.scheduled_delivery_ts == TOMORROW
    fetched = client.get_job(created.job_id)
    assert (fetched.job_id, fetched.order_id) == (created.job_id, created.order_id)


def test_values_an_erp_row_brings_reach_the_api_in_its_formats(client):
    payload = job(
        unique("ERPVALUES"),
        scheduled_delivery_ts=datetime(2026, 3, 3, 9, 0, 0),
        items=[{"description": "Crate", "quantity": Decimal("3"), "weight": Decimal("2.5")}],
    )
    created = client.create_job(payload)
    assert created.scheduled_delivery_ts == TOMORROW
    (item,) = created.model_extra["items"]
    assert (item["quantity"], item["weight"]) == (3, 2.5)


def test_validation_failure_carries_the_simulators_field_errors(client, simulator):
    reference = unique("INVALID")
    payload = job(reference, job_type_id=9, scheduled_delivery_ts=YESTERDAY)
    expected = simulator.app.state.simulator.service.validate(payload)
    assert {"job_type_id", "scheduled_delivery_ts"} <= set(expected)
    with pytest.raises(ValidationFailed) as failed:
        client.create_job(payload)
    assert failed.value.status == 422
    assert failed.value.message == "The given data was invalid."
    assert failed.value.field_errors == expected
    assert job_ids_for(simulator, reference) == []


def test_bad_credentials_are_an_authentication_failure(simulator):
    wrong = "not-the-password"
    with make_client(simulator, password=wrong) as client, pytest.raises(
        AuthenticationFailed
    ) as failed:
        client.create_job(job(unique("AUTH")))
    assert failed.value.status == 401
    assert wrong not in str(failed.value) + repr(failed.value)


def test_an_unknown_job_is_not_found(client):
    with pytest.raises(NotFound) as missing:
        client.get_job(987_654_321)
    assert missing.value.status == 404


def test_find_jobs_walks_every_page(client):
    tracking = unique("PAGED")
    created = [
        client.create_job(
            job(unique("PAGE"), items=[{"description": "Box", "tracking_number": tracking}])
        ).job_id
        for _ in range(5)
    ]
    first = client.find_jobs_page(limit=2, item_tracking_number=tracking)
    assert first.meta is not None
    assert (first.meta.last_page, first.meta.total, len(first.data)) == (3, 5, 2)
    found = [found.job_id for found in client.find_jobs(limit=2, item_tracking_number=tracking)]
    assert found == created


def test_find_job_by_reference_finds_every_job_with_exactly_that_reference(client):
    reference = unique("BYREF")
    # The simulator creates a second job for a repeated reference (the API's unknown #1).
    twice = {client.create_job(job(reference)).job_id for _ in range(2)}
    client.create_job(job(reference + "0"))
    found = client.find_job_by_reference(reference)
    assert {j.job_id for j in found} == twice
    assert {j.reference_number for j in found} == {reference}
    assert client.find_job_by_reference(unique("NOBODY")) == []


@pytest.mark.parametrize("webhook_field", ["webhook_url", "webhooks_url"])
def test_bulk_upload_callback_arrives_signed_and_parses(
    client, simulator, receiver, webhook_field
):
    references = [unique("BULK") for _ in range(3)]
    # Mappings and models mix in one upload.
    payloads = [
        job(references[0]),
        JobPayload.model_validate(job(references[1])),
        job(references[2]),
    ]
    url = receiver.new_url()
    accepted = client.bulk_upload(payloads, webhook_url=url, webhook_field=webhook_field)
    assert isinstance(accepted, BulkUploadAccepted)
    assert accepted.jobs == 3
    assert simulator.flush(10)
    (delivery,) = receiver.wait_for(url, 1)
    assert signature.verify(delivery.body, delivery.signature, PASSWORD)
    entries = parse_callback(delivery.body)
    assert [entry.reference_number for entry in entries] == references
    assert all(entry.created and entry.errors is None for entry in entries)
    for entry in entries:
        assert client.get_job(entry.job_id).reference_number == entry.reference_number
    assert upload_for(simulator, url)["created"] == 3


def test_bulk_upload_of_caller_supplied_csv_bytes(client, simulator, receiver):
    references = [unique("RAW") for _ in range(2)]
    content = bytes(build_upload_csv([job(reference) for reference in references]))
    url = receiver.new_url()
    accepted = client.bulk_upload(content, webhook_url=url)
    assert (accepted.jobs, accepted.size_bytes) == (2, len(content))
    assert simulator.flush(10)
    (delivery,) = receiver.wait_for(url, 1)
    assert [e.reference_number for e in parse_callback(delivery.body) if e.created] == references


def test_partial_creation_reports_each_rejected_row_with_its_errors(client, simulator, receiver):
    good = [unique("GOOD") for _ in range(2)]
    bad_type, bad_time = unique("BADTYPE"), unique("BADTIME")
    payloads = [
        job(good[0]),
        job(bad_type, job_type_id=9),
        job(good[1]),
        job(bad_time, scheduled_delivery_ts=YESTERDAY),
    ]
    url = receiver.new_url()
    client.bulk_upload(payloads, webhook_url=url)
    assert simulator.flush(10)
    (delivery,) = receiver.wait_for(url, 1)
    entries = {entry.reference_number: entry for entry in parse_callback(delivery.body)}
    assert {ref for ref, entry in entries.items() if entry.created} == set(good)
    assert entries[bad_type].job_id is None
    assert entries[bad_type].errors == {"job_type_id": ["The selected job_type_id is invalid."]}
    assert entries[bad_time].job_id is None
    assert set(entries[bad_time].errors) == {"scheduled_delivery_ts"}
    assert client.find_job_by_reference(bad_type) == []
    upload = upload_for(simulator, url)
    assert (upload["created"], upload["rejected"]) == (2, 2)


def test_oversized_uploads_are_refused_before_sending(client, simulator, receiver):
    uploads_before = inspect(simulator, "uploads")["summary"]["uploads"]
    url = receiver.new_url()
    with pytest.raises(UploadTooLarge):
        client.bulk_upload([job(f"TOO-MANY-{i}") for i in range(1001)], webhook_url=url)
    full = bytes(build_upload_csv(job(f"FULL-{i}") for i in range(1000)))
    one_more = full + full.split(b"\r\n")[1].replace(b"FULL-0", b"FULL-1000") + b"\r\n"
    with pytest.raises(UploadTooLarge) as too_many:
        client.bulk_upload(one_more, webhook_url=url)
    assert too_many.value.jobs == 1001
    with pytest.raises(UploadTooLarge) as too_big:
        client.bulk_upload(full + b"x" * (10 * 1024 * 1024), webhook_url=url)
    assert too_big.value.size_bytes > 10 * 1024 * 1024
    assert inspect(simulator, "uploads")["summary"]["uploads"] == uploads_before


def test_async_client_creates_concurrently(simulator):
    references = [unique("ASYNC") for _ in range(6)]

    async def create_all() -> dict[int, Job | Exception]:
        async with AsyncFleetApiClient(simulator.base_url, Credentials(USER, PASSWORD)) as fleet:
            return {
                index: outcome
                async for index, outcome in fleet.create_jobs(
                    [job(reference) for reference in references], concurrency=3
                )
            }

    outcomes = asyncio.run(create_all())
    assert all(isinstance(outcome, Job) for outcome in outcomes.values()), outcomes
    job_ids = {index: outcome.job_id for index, outcome in outcomes.items()}
    assert sorted(job_ids) == list(range(6))
    assert len(set(job_ids.values())) == 6
    for index, reference in enumerate(references):
        assert job_ids_for(simulator, reference) == [job_ids[index]]
