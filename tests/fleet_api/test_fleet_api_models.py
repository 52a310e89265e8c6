"""Request/response shapes: unknown fields pass, callbacks and error bodies parse."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from fleet_api_fakes import sample_payload

from fleet_pipeline.fleet_api.models import (
    CallbackParseError,
    Job,
    JobPage,
    JobPayload,
    parse_callback,
    parse_error_body,
)

DOCUMENTED_CALLBACK = b"""[
  {"reference_number": "CART202502260001", "job_id": 119582},
  {"reference_number": "CART202502260002",
   "errors": {"job_type_id": ["The selected job_type_id is invalid."]}}
]"""


def test_payload_omits_unset_fields_and_keeps_unknown_ones():
    payload = JobPayload(
        job_type_id=3,
        reference_number="R-1",
        scheduled_delivery_ts=datetime(2026, 3, 2, 9, 30),
        stops=[{"customer_name": "Shop", "gate_code": "4411", "todos": [{"todo_type_id": 1}]}],
        future_field={"nested": True},
    )
    assert payload.to_request() == {
        "job_type_id": 3,
        "reference_number": "R-1",
        "scheduled_delivery_ts": "2026-03-02 09:30:00",
        "stops": [{"customer_name": "Shop", "gate_code": "4411", "todos": [{"todo_type_id": 1}]}],
        "future_field": {"nested": True},
    }


def test_job_reads_lax_types_and_keeps_extra_fields():
    job = Job.model_validate(
        {"job_id": "119582", "order_id": 5501, "reference_number": "R-1", "stops": [{"x": 1}]}
    )
    assert job.job_id == 119582
    assert job.order_id == "5501"
    assert job.model_extra == {"stops": [{"x": 1}]}


def test_job_page_reads_meta_with_from_keyword():
    page = JobPage.model_validate({
        "data": [{"job_id": 1}],
        "meta": {"from": 1, "to": 1, "current_page": 1, "per_page": 1000, "last_page": 3,
                 "total": 2001, "path": "/rest/delivery/jobs"},
    })
    assert page.meta.from_ == 1
    assert page.meta.last_page == 3
    assert page.meta.total == 2001


def test_documented_callback_examples_parse():
    created, rejected = parse_callback(DOCUMENTED_CALLBACK)
    assert created.created and created.job_id == 119582
    assert created.reference_number == "CART202502260001"
    assert not rejected.created
    assert rejected.errors == {"job_type_id": ["The selected job_type_id is invalid."]}


def test_callback_tolerates_numbers_and_single_messages():
    (entry,) = parse_callback(json.dumps([{"reference_number": 42, "errors": {"stops": "bad"}}]))
    assert entry.reference_number == "42"
    assert entry.errors == {"stops": ["bad"]}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "not JSON"),
        (b'{"data": []}', "not an array"),
        (b'[{"job_id": 1}]', "entry 0 is invalid"),
        (b'[{"reference_number": "R"}]', "neither job_id nor errors"),
    ],
)
def test_malformed_callback_is_refused(body, reason):
    with pytest.raises(CallbackParseError, match=reason):
        parse_callback(body)


def test_laravel_validation_body():
    body = parse_error_body(json.dumps({
        "data": None,
        "error": {"code": 422, "message": "The given data was invalid.",
                  "data": {"stops.0.address_line_1": ["The address line 1 field is required."],
                           "scheduled_delivery_ts": "must be in the future"}},
    }).encode())
    assert body.code == 422
    assert body.message == "The given data was invalid."
    assert body.field_errors == {
        "stops.0.address_line_1": ["The address line 1 field is required."],
        "scheduled_delivery_ts": ["must be in the future"],
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"error": {"code": 401, "message": "Unauthenticated."}}', "Unauthenticated."),
        (b'{"error": "Forbidden"}', "Forbidden"),
        (b'{"error": {"code": "x", "details": [1]}}', None),
        (b'{"message": "Server Error"}', "Server Error"),
        (b"<html><body><h1>502 Bad Gateway</h1></body></html>",
         "<html><body><h1>502 Bad Gateway</h1></body></html>"),
        (b"", None),
        (b"[1, 2]", "[1, 2]"),
        (b"\xff\xfe", "\ufffd\ufffd"),
    ],
)
def test_any_error_body_is_tolerated(content, message):
    assert parse_error_body(content).message == message


def test_error_body_message_is_bounded():
    assert len(parse_error_body(b"x" * 10_000).message) == 300


def test_reprs_hide_personal_data():
    payload = JobPayload.model_validate(sample_payload(delivery_driver_name="Sipho Dlamini"))
    job = Job.model_validate({"job_id": 1, "reference_number": "R-1", **sample_payload()})
    for text in (repr(payload), str(payload), repr(job), str(job)):
        for personal in ("Thandi", "Long Street", "+27821234567", "thandi@", "Sipho"):
            assert personal not in text
    assert "reference_number='CART202502260001'" in repr(payload)
    assert "customer_name='<hidden>'" in repr(payload)
    assert "extra_fields=['items', 'stops']" in repr(job)
