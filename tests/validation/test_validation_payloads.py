"""Payload mapping: the single-create body, the bulk CSV row, the payload hash, the batch build."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from datetime import datetime

import pytest
from validation_rows import NOW, deliveries_frame, delivery, item, items_frame, pickup_delivery

from fleet_pipeline.fleet_api.template import TEMPLATE_V1_COLUMNS
from fleet_pipeline.simulator.config import DEFAULT_DRIVERS
from fleet_pipeline.simulator.rules import validate_job
from fleet_pipeline.validation.payloads import (
    build_payloads,
    canonical_json,
    csv_row,
    job_payload,
    payload_hash,
)
from fleet_pipeline.validation.split import split

DRIVER = DEFAULT_DRIVERS[0]

EXPECTED_SINGLE_STOP = {
    "job_type_id": 3,
    "schedule_type_id": 2,
    "reference_number": "SO-1001",
    "scheduled_delivery_ts": "2026-03-10 09:30:00",
    "labels": ["fragile", "express"],
    "stops": [{
        "customer_name": "Soweto Hardware",
        "address_line_1": "12 Vilakazi Street",
        "address_line_2": "Orlando West",
        "postal_code": "1804",
        "latitude": -26.2385,
        "longitude": 27.9085,
        "contact_number": "+27825550123",
        "email": "thabo.nkosi@example.co.za",
        "note": "Ring the bell at gate 2.",
        "duration": 15,
        "delivery_windows": [{"time_from": "08:00:00", "time_to": "12:00:00"}],
    }],
    "items": [{
        "description": "Cement 50 kg", "quantity": 4, "weight": 200, "weight_measure_id": 1,
        "item_type_id": 1, "sku": "CEM-50", "tracking_number": "TRK-SO-1001-1",
        "length": 60, "width": 40, "height": 12,
    }],
}


def records(rows: list[dict]) -> list[dict]:
    """Rows as the asset reads them back from Parquet, then as plain records."""
    return deliveries_frame(rows).to_dict("records")


def test_single_stop_body():
    (row,) = records([delivery()])
    (line,) = items_frame([item()]).to_dict("records")
    assert job_payload(row, [line]) == EXPECTED_SINGLE_STOP


def test_pickup_and_drop_off_stops_in_order():
    (row,) = records([pickup_delivery("SO-2001")])
    payload = job_payload(row)
    assert payload["job_type_id"] == 1
    assert [stop["customer_name"] for stop in payload["stops"]] == [
        "Northwind Distribution - Midrand DC", "Soweto Hardware"]
    assert payload["stops"][0] == {
        "customer_name": "Northwind Distribution - Midrand DC", "address_line_1": "1 Depot Road",
        "latitude": -25.9992, "longitude": 28.1263, "contact_number": "0115551234",
        "delivery_windows": [{"time_from": "06:00:00", "time_to": "07:00:00"}],
    }
    assert "items" not in payload


@pytest.mark.parametrize(("overrides", "driver"), [
    ({}, {}),
    ({"delivery_driver_name": DRIVER.name}, {"delivery_driver_name": DRIVER.name}),
    ({"delivery_driver_id": DRIVER.driver_id}, {"delivery_driver_id": DRIVER.driver_id}),
], ids=["assign later", "by name", "by id"])
def test_driver_by_name_or_id_or_neither(overrides, driver):
    (row,) = records([delivery(**overrides)])
    payload = job_payload(row)
    assert {k: v for k, v in payload.items() if k.startswith("delivery_driver")} == driver


def test_unscheduled_jobs_carry_no_time_and_nulls_are_left_out():
    (row,) = records([delivery(schedule_type_id=3, dropoff_email="", dropoff_note=None,
                               dropoff_window_from=None, dropoff_window_to=None, labels=" , ",
                               dropoff_duration_minutes=None)])
    payload = job_payload(row, items_frame([item(weight_kg=None, sku=None)]).to_dict("records"))
    assert "scheduled_delivery_ts" not in payload and "labels" not in payload
    assert set(payload["stops"][0]) == {"customer_name", "address_line_1", "address_line_2",
                                        "postal_code", "latitude", "longitude", "contact_number"}
    assert set(payload["items"][0]) == {"description", "quantity", "item_type_id",
                                        "tracking_number", "length", "width", "height"}
    assert "null" not in json.dumps(payload)


def test_fields_without_a_documented_api_form_are_not_sent():
    (row,) = records([pickup_delivery()])
    stops = job_payload(row)["stops"]
    for stop in stops:
        assert not {"country_id", "country_code", "contact_name", "stop_type_id",
                    "contact_code"} & set(stop)


def test_the_simulated_api_accepts_every_valid_payload():
    rows = [delivery("V-1"), pickup_delivery("V-2"), delivery("V-3", schedule_type_id=3,
                                                              scheduled_delivery_ts=None),
            delivery("V-4", delivery_driver_name=DRIVER.name, dropoff_latitude=None,
                     dropoff_longitude=None),
            delivery("V-5", delivery_driver_id=DRIVER.driver_id, dropoff_address_line_1=None,
                     dropoff_address_line_2=None, dropoff_customer_name="Zoë's Bakery 🎂")]
    result = split(deliveries_frame(rows), items_frame([item("V-1"), item("V-2", quantity=1.5)]),
                   NOW)
    payloads = build_payloads(result.valid_deliveries, result.valid_items)
    assert len(payloads) == len(rows)
    for payload in payloads:
        assert validate_job(payload, NOW, DEFAULT_DRIVERS) == {}, payload["reference_number"]


def test_csv_row_of_template_v1():
    row = csv_row(EXPECTED_SINGLE_STOP)
    assert tuple(row) == TEMPLATE_V1_COLUMNS
    assert row["reference_number"] == "SO-1001"
    assert row["job_type_id"] == "3" and row["schedule_type_id"] == "2"
    assert row["delivery_driver_id"] == row["subuser_id"] == row["send_to_driver_at"] == ""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=TEMPLATE_V1_COLUMNS)
    writer.writeheader()
    writer.writerow(row)
    (read_back,) = csv.DictReader(io.StringIO(buffer.getvalue()))
    for cell in ("stops", "items", "labels"):
        assert json.loads(read_back[cell]) == EXPECTED_SINGLE_STOP[cell]
    assert read_back["scheduled_delivery_ts"] == "2026-03-10 09:30:00"


def test_csv_cells_keep_non_ascii_text():
    (row,) = records([delivery(dropoff_customer_name="Ñandú Steakhouse 🔥")])
    assert "Ñandú Steakhouse 🔥" in csv_row(job_payload(row))["stops"]


def test_payload_hash_is_sha256_of_canonical_json():
    payload = {"b": [1, {"y": "é", "x": None}], "a": 1.5}
    assert canonical_json(payload) == '{"a":1.5,"b":[1,{"x":null,"y":"é"}]}'
    assert payload_hash(payload) == hashlib.sha256(
        '{"a":1.5,"b":[1,{"x":null,"y":"é"}]}'.encode()).hexdigest()
    assert payload_hash(dict(reversed(list(payload.items())))) == payload_hash(payload)


def _leaves(value, path=()):
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _leaves(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _leaves(child, (*path, index))
    else:
        yield path, value


def _with(payload, path, value):
    copy = json.loads(json.dumps(payload))
    target = copy
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return copy


def test_payload_hash_changes_with_any_value():
    base = payload_hash(EXPECTED_SINGLE_STOP)
    leaves = list(_leaves(EXPECTED_SINGLE_STOP))
    assert len(leaves) > 20
    for path, value in leaves:
        changed = value + 1 if isinstance(value, int | float) else f"{value}!"
        assert payload_hash(_with(EXPECTED_SINGLE_STOP, path, changed)) != base, path


def test_payload_hash_does_not_depend_on_how_numbers_were_typed():
    (as_float,) = records([delivery(dropoff_duration_minutes=None)])
    as_float.update(dropoff_duration_minutes=15.0, job_type_id=3.0)
    (as_int,) = records([delivery()])
    assert payload_hash(job_payload(as_float)) == payload_hash(job_payload(as_int))


def test_build_payloads_matches_job_payload_row_by_row():
    rows = [delivery("B-1"), pickup_delivery("B-2", pickup_window_from=None,
                                             pickup_window_to=None),
            delivery("B-3", schedule_type_id=3, scheduled_delivery_ts=None, labels=None,
                     dropoff_duration_minutes=None, delivery_driver_name=DRIVER.name),
            delivery("B-4", dropoff_contact_number="(011) 555-1234", dropoff_window_to="17:30",
                     delivery_driver_id=DRIVER.driver_id, dropoff_email="",
                     dropoff_note="Ève 🚚 " * 100)]
    lines = [item("B-2", 2), item("B-1", 1), item("B-2", 1, weight_kg=None, quantity=2.5),
             item("B-4", 3, item_type_id=None), item("B-4", 1)]
    deliveries, items = deliveries_frame(rows), items_frame(lines)
    built = build_payloads(deliveries, items)
    item_records = items.to_dict("records")
    expected = [
        job_payload(row, sorted((i for i in item_records
                                 if i["reference_number"] == row["reference_number"]),
                                key=lambda i: i["line_number"]))
        for row in deliveries.to_dict("records")
    ]
    assert built == expected
    assert [i["tracking_number"] for i in built[1]["items"]] == ["TRK-B-2-1", "TRK-B-2-2"]
    assert "items" not in built[2]


def test_build_payloads_on_frames_of_other_dtypes():
    rows = [delivery("O-1"), delivery("O-2", dropoff_duration_minutes=None)]
    frame = deliveries_frame(rows)
    hostile = frame.astype(object)  # what a hand-built frame may hold; values still valid
    hostile["scheduled_delivery_ts"] = [datetime(2026, 3, 10, 9, 30)] * 2
    assert build_payloads(hostile, items_frame([])) == build_payloads(frame, items_frame([]))


def test_build_payloads_on_nothing():
    assert build_payloads(deliveries_frame([]), items_frame([])) == []
    assert isinstance(build_payloads(deliveries_frame([]), items_frame([])), list)


def test_payloads_are_json_serialisable_with_plain_types():
    frame = deliveries_frame([pickup_delivery("J-1")])
    (payload,) = build_payloads(frame, items_frame([item("J-1")]))
    assert json.loads(canonical_json(payload)) == payload
    assert all(type(v) in (str, int, float) for _, v in _leaves(payload))
