"""Each job rule, table-driven: a payload change and the exact field errors it must produce."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sim_support import TOMORROW, job_payload, stop

from fleet_pipeline.simulator.config import Driver, RuleSettings
from fleet_pipeline.simulator.rules import validate_job

NOW = datetime(2026, 3, 2, 8, 0, 0)
ANN = "11111111-1111-4111-8111-111111111111"
DRIVERS = (
    Driver(driver_id=ANN, name="Ann Lee"),
    Driver(driver_id="22222222-2222-4222-8222-222222222222", name="Bob Smith"),
    Driver(driver_id="33333333-3333-4333-8333-333333333333", name="bob  smith"),
    Driver(driver_id="44444444-4444-4444-8444-444444444444", name="BOB SMITH"),
)


def errors_for(settings: RuleSettings = RuleSettings(), **changes: Any) -> dict[str, list[str]]:
    return validate_job(job_payload(**changes), NOW, DRIVERS, settings)


VALID = [
    pytest.param({}, id="the base payload"),
    pytest.param({"job_type_id": 1, "stops": [stop(), stop()]}, id="pickup and drop-off"),
    pytest.param({"job_type_id": "3"}, id="numeric string job_type_id"),
    pytest.param({"schedule_type_id": 3, "scheduled_delivery_ts": None}, id="unscheduled"),
    pytest.param({"scheduled_delivery_ts": "2026-03-02 08:00:00"}, id="scheduled exactly now"),
    pytest.param({"delivery_driver_name": "ann LEE"}, id="driver name, any case"),
    pytest.param({"delivery_driver_id": ANN}, id="driver id"),
    pytest.param({"stops": [{"latitude": -33.9, "longitude": "18.4"}]}, id="coordinates only"),
    pytest.param({"stops": [{"customer_id": 55}]}, id="saved customer only"),
    pytest.param(
        {"stops": [stop(address_line_2="Unit 4")]}, id="address_line_2 with address_line_1"
    ),
    pytest.param(
        {"stops": [stop(delivery_windows=[{"time_from": "08:00:00", "time_to": "12:00:00"}])]},
        id="delivery window",
    ),
    pytest.param(
        {
            "stops": [
                stop(delivery_windows=[{"time_from": "09:00:00+02:00", "time_to": "08:00:00Z"}])
            ]
        },
        id="window with offsets, compared in UTC",
    ),
    pytest.param({"labels": ["fragile", "cold"]}, id="labels"),
    pytest.param({"reference_number": "R" * 50}, id="reference at the max length"),
    pytest.param({"items": [{"quantity": "1.5"}]}, id="numeric string quantity"),
    pytest.param({"items": [{"description": "no quantity"}]}, id="item without quantity"),
]


@pytest.mark.parametrize("changes", VALID)
def test_valid_payloads_have_no_errors(changes: dict[str, Any]) -> None:
    assert errors_for(**changes) == {}


INVALID = [
    pytest.param(
        {"job_type_id": None},
        {"job_type_id": ["The job_type_id field is required."]},
        id="job_type_id missing",
    ),
    pytest.param(
        {"job_type_id": 2},
        {"job_type_id": ["The selected job_type_id is invalid."]},
        id="job_type_id 2",
    ),
    pytest.param(
        {"job_type_id": 1},
        {"stops": ["The stops must contain 2 items."]},
        id="pickup with one stop",
    ),
    pytest.param(
        {"stops": [stop(), stop()]},
        {"stops": ["The stops must contain 1 items."]},
        id="single stop job with two",
    ),
    pytest.param({"stops": None}, {"stops": ["The stops field is required."]}, id="no stops"),
    pytest.param(
        {"stops": "nope"}, {"stops": ["The stops must be an array."]}, id="stops not a list"
    ),
    pytest.param(
        {"stops": ["x"]}, {"stops.0": ["The stops.0 must be an array."]}, id="stop not an object"
    ),
    pytest.param(
        {"schedule_type_id": 1},
        {"schedule_type_id": ["The selected schedule_type_id is invalid."]},
        id="ASAP rejected",
    ),
    pytest.param(
        {"schedule_type_id": 2, "scheduled_delivery_ts": None},
        {
            "scheduled_delivery_ts": [
                "The scheduled_delivery_ts field is required when schedule_type_id is 2."
            ]
        },
        id="scheduled without a time",
    ),
    pytest.param(
        {"scheduled_delivery_ts": "2026-03-03T09:00:00"},
        {
            "scheduled_delivery_ts": [
                "The scheduled_delivery_ts does not match the format Y-m-d H:i:s."
            ]
        },
        id="ISO T separator",
    ),
    pytest.param(
        {"scheduled_delivery_ts": "2026-03-02 07:59:59"},
        {
            "scheduled_delivery_ts": [
                "The scheduled_delivery_ts must be a date after or equal to now."
            ]
        },
        id="in the past",
    ),
    pytest.param(
        {"send_to_driver_at": "tomorrow"},
        {"send_to_driver_at": ["The send_to_driver_at does not match the format Y-m-d H:i:s."]},
        id="send_to_driver_at format",
    ),
    pytest.param(
        {"stops": [{"latitude": 10}]},
        {
            "stops.0.longitude": [
                "The stops.0.longitude field is required when stops.0.latitude is present."
            ]
        },
        id="latitude alone",
    ),
    pytest.param(
        {"stops": [stop(longitude=10)]},
        {
            "stops.0.latitude": [
                "The stops.0.latitude field is required when stops.0.longitude is present."
            ]
        },
        id="longitude alone",
    ),
    pytest.param(
        {"stops": [{"latitude": 91, "longitude": -181}]},
        {
            "stops.0.latitude": ["The stops.0.latitude must be between -90 and 90."],
            "stops.0.longitude": ["The stops.0.longitude must be between -180 and 180."],
        },
        id="coordinates out of range",
    ),
    pytest.param(
        {"stops": [{"latitude": "north", "longitude": 1}]},
        {"stops.0.latitude": ["The stops.0.latitude must be a number."]},
        id="latitude not a number",
    ),
    pytest.param(
        {"stops": [{"address_line_2": "Unit 4", "latitude": 1, "longitude": 1}]},
        {
            "stops.0.address_line_1": [
                "The stops.0.address_line_1 field is required when "
                "stops.0.address_line_2 is present."
            ]
        },
        id="address_line_2 without address_line_1",
    ),
    pytest.param(
        {"stops": [{"customer_name": "Nowhere"}]},
        {
            "stops.0.address_line_1": [
                "The stops.0.address_line_1 field is required when none of stops.0.latitude / "
                "stops.0.longitude / stops.0.customer_id are present."
            ]
        },
        id="stop without address, coordinates or customer",
    ),
    pytest.param(
        {"delivery_driver_name": "Nobody Here"},
        {"delivery_driver_name": ["The selected delivery_driver_name is invalid."]},
        id="unknown driver name",
    ),
    pytest.param(
        {"delivery_driver_name": "Bob Smith"},
        {"delivery_driver_name": ["The delivery_driver_name matches more than one driver."]},
        id="ambiguous driver name",
    ),
    pytest.param(
        {"delivery_driver_name": "Ann Lee", "delivery_driver_id": ANN},
        {
            "delivery_driver_name": [
                "The delivery_driver_name field prohibits delivery_driver_id from being present."
            ]
        },
        id="driver name and id",
    ),
    pytest.param(
        {"delivery_driver_id": "not-a-uuid"},
        {"delivery_driver_id": ["The delivery_driver_id must be a valid UUID."]},
        id="driver id not a UUID",
    ),
    pytest.param(
        {"delivery_driver_id": "99999999-9999-4999-8999-999999999999"},
        {"delivery_driver_id": ["The selected delivery_driver_id is invalid."]},
        id="unknown driver id",
    ),
    pytest.param(
        {"items": [{"quantity": 0}, {"quantity": "lots"}, "x"]},
        {
            "items.0.quantity": ["The items.0.quantity must be greater than 0."],
            "items.1.quantity": ["The items.1.quantity must be a number."],
            "items.2": ["The items.2 must be an array."],
        },
        id="item quantities",
    ),
    pytest.param(
        {"stops": [stop(delivery_windows=[{"time_from": "12:00:00", "time_to": "12:00:00"}])]},
        {
            "stops.0.delivery_windows.0.time_to": [
                "The stops.0.delivery_windows.0.time_to must be a date after "
                "stops.0.delivery_windows.0.time_from."
            ]
        },
        id="window ends when it starts",
    ),
    pytest.param(
        {"stops": [stop(delivery_windows=[{"time_from": "8am", "time_to": None}])]},
        {
            "stops.0.delivery_windows.0.time_from": [
                "The stops.0.delivery_windows.0.time_from does not match the format H:i:s."
            ],
            "stops.0.delivery_windows.0.time_to": [
                "The stops.0.delivery_windows.0.time_to field is required."
            ],
        },
        id="window time format and presence",
    ),
    pytest.param(
        {"labels": "fragile"}, {"labels": ["The labels must be an array."]}, id="labels not a list"
    ),
    pytest.param(
        {"labels": ["ok", 5]},
        {"labels.1": ["The labels.1 must be a string."]},
        id="label not a string",
    ),
    pytest.param(
        {"reference_number": 12345},
        {"reference_number": ["The reference_number must be a string."]},
        id="reference not a string",
    ),
    pytest.param(
        {"reference_number": "R" * 51},
        {"reference_number": ["The reference_number must not be greater than 50 characters."]},
        id="reference too long",
    ),
]


@pytest.mark.parametrize(("changes", "expected"), INVALID)
def test_invalid_payloads_name_each_field(changes: dict[str, Any], expected: dict) -> None:
    assert errors_for(**changes) == expected


@pytest.mark.parametrize(
    ("settings", "changes", "expected"),
    [
        pytest.param(
            RuleSettings(asap_schedule="convert"), {"schedule_type_id": 1}, {}, id="ASAP converted"
        ),
        pytest.param(
            RuleSettings(item_quantity_must_be_positive=False),
            {"items": [{"quantity": 0}]},
            {},
            id="zero quantity allowed",
        ),
        pytest.param(
            RuleSettings(reference_number_max_length=5),
            {"reference_number": "REF-12"},
            {"reference_number": ["The reference_number must not be greater than 5 characters."]},
            id="shorter reference limit",
        ),
    ],
)
def test_rules_follow_their_settings(settings: RuleSettings, changes: dict, expected: dict) -> None:
    assert errors_for(settings, **changes) == expected


def test_several_problems_are_reported_together() -> None:
    payload = {"job_type_id": 9, "schedule_type_id": 2, "stops": [{}], "labels": [1]}
    assert set(validate_job(payload, NOW, DRIVERS)) == {
        "job_type_id",
        "scheduled_delivery_ts",
        "stops.0.address_line_1",
        "labels.0",
    }


def test_schedule_judged_against_the_given_now() -> None:
    later = datetime(2026, 3, 3, 10, 0, 0)
    assert validate_job(job_payload(scheduled_delivery_ts=TOMORROW), later, DRIVERS) == {
        "scheduled_delivery_ts": ["The scheduled_delivery_ts must be a date after or equal to now."]
    }
