"""Every rule of the delivery contract, case by case, with the exact reasons it records.

All cases are judged in one partition (one `split` call), each row under its own reference, and
each test looks at its own row: the (column, check) pairs recorded must be exactly the expected.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
import pytest
from validation_rows import NOW, deliveries_frame, delivery, item, items_frame, pickup_delivery

from fleet_pipeline.erp.sample.vocabulary import BAD_EMAILS, BAD_PHONES
from fleet_pipeline.validation.countries import COUNTRY_BOXES, ISO_COUNTRY_CODES
from fleet_pipeline.validation.split import split

UUID = "6f1c2a3e-0b4d-4c1a-9e55-3c2f8a9b0d11"

# (case id, row builder, overrides[, expected {(column, check)}])
VALID = [
    ("single stop scheduled", delivery, {}),
    ("pickup and drop-off", pickup_delivery, {}),
    ("unscheduled without time", delivery, {"schedule_type_id": 3,
                                            "scheduled_delivery_ts": None}),
    ("non-ascii and emoji names", delivery, {
        "dropoff_customer_name": "Zoë's Bakery 🎂", "dropoff_contact_name": "北京烤鸭 Takeaway",
        "dropoff_address_line_1": "Łódź, ulica Piotrkowska 1 🌸", "dropoff_note": "Ève 🚚"}),
    ("coordinates without address", delivery, {"dropoff_address_line_1": None,
                                               "dropoff_address_line_2": None}),
    ("address without coordinates", delivery, {"dropoff_latitude": None,
                                               "dropoff_longitude": None}),
    ("lower-case country", delivery, {"dropoff_country_code": "za"}),
    ("national mobile", delivery, {"dropoff_contact_number": "082 555 0123"}),
    ("national landline with area code", delivery, {"dropoff_contact_number": "(011) 555-1234"}),
    ("driver by name", delivery, {"delivery_driver_name": "Thandi Mokoena"}),
    ("driver by id", delivery, {"delivery_driver_id": UUID}),
    ("window with seconds", delivery, {"dropoff_window_from": "08:00:00",
                                       "dropoff_window_to": "08:30"}),
    ("no window", delivery, {"dropoff_window_from": None, "dropoff_window_to": None}),
    ("empty optional text", delivery, {"dropoff_email": "", "dropoff_address_line_2": "",
                                       "labels": "", "delivery_driver_name": ""}),
    ("reference of 50 characters", delivery, {"reference_number": "R" * 50}),
    ("singapore position", delivery, {"dropoff_country_code": "SG", "dropoff_latitude": 1.35,
                                      "dropoff_longitude": 103.82,
                                      "dropoff_contact_number": "+65 9123 4567"}),
    ("zero duration", delivery, {"dropoff_duration_minutes": 0}),
]

INVALID = [
    ("reference missing", delivery, {"reference_number": None},
     {("reference_number", "not_nullable")}),
    ("reference empty", delivery, {"reference_number": ""},
     {("reference_number", "reference_length")}),
    ("reference too long", delivery, {"reference_number": "R" * 51},
     {("reference_number", "reference_length")}),
    ("reference with space", delivery, {"reference_number": "SO 77"},
     {("reference_number", "reference_charset")}),
    ("reference with emoji", delivery, {"reference_number": "SO-78🚚"},
     {("reference_number", "reference_charset")}),
    ("scheduled date missing", delivery, {"scheduled_date": None},
     {("scheduled_date", "not_nullable")}),
    ("unknown job type", delivery, {"job_type_id": 2}, {("job_type_id", "job_type_known")}),
    ("job type missing", delivery, {"job_type_id": None}, {("job_type_id", "not_nullable")}),
    ("asap schedule type", delivery, {"schedule_type_id": 1},
     {("schedule_type_id", "schedule_type_known")}),
    ("scheduled without time", delivery, {"scheduled_delivery_ts": None},
     {("scheduled_delivery_ts", "required_when_scheduled")}),
    ("scheduled time in the past", delivery, {"scheduled_date": date(2026, 3, 9),
                                              "scheduled_delivery_ts": datetime(2026, 3, 9, 17)},
     {("scheduled_delivery_ts", "not_in_past")}),
    ("booked days before the delivery date", delivery,
     {"scheduled_delivery_ts": datetime(2026, 3, 7, 9)},
     {("scheduled_delivery_ts", "not_in_past"), ("scheduled_delivery_ts", "on_scheduled_date")}),
    ("time on another day", delivery, {"scheduled_delivery_ts": datetime(2026, 3, 11, 9)},
     {("scheduled_delivery_ts", "on_scheduled_date")}),
    ("driver name and id", delivery, {"delivery_driver_name": "Anna Botha",
                                      "delivery_driver_id": UUID},
     {("delivery_driver_id", "driver_name_or_id")}),
    ("driver id not a uuid", delivery, {"delivery_driver_id": "driver-7"},
     {("delivery_driver_id", "uuid_format")}),
    ("driver name too long", delivery, {"delivery_driver_name": "A" * 256},
     {("delivery_driver_name", "text_length")}),
    ("labels too long", delivery, {"labels": "x" * 501}, {("labels", "text_length")}),
    ("pickup on a single-stop job", delivery, {"pickup_customer_name": "Depot",
                                               "pickup_latitude": -26.0},
     {("pickup_customer_name", "absent_for_single_stop"),
      ("pickup_latitude", "absent_for_single_stop"),
      ("pickup_longitude", "coordinates_paired")}),
    ("pickup job without its pickup", delivery, {"job_type_id": 1},
     {("pickup_customer_name", "required"), ("pickup_country_code", "required"),
      ("pickup_address_line_1", "address_or_coordinates")}),
    ("pickup without address or position", pickup_delivery,
     {"pickup_address_line_1": None, "pickup_latitude": None, "pickup_longitude": None},
     {("pickup_address_line_1", "address_or_coordinates")}),
    ("drop-off customer missing", delivery, {"dropoff_customer_name": None},
     {("dropoff_customer_name", "required")}),
    ("drop-off customer empty", delivery, {"dropoff_customer_name": ""},
     {("dropoff_customer_name", "required")}),
    ("drop-off country missing", delivery, {"dropoff_country_code": None},
     {("dropoff_country_code", "required")}),
    ("unknown country", delivery, {"dropoff_country_code": "XX"},
     {("dropoff_country_code", "country_known")}),
    ("mixed-case country", delivery, {"dropoff_country_code": "Za"},
     {("dropoff_country_code", "country_known")}),
    ("no address and no coordinates", delivery,
     {"dropoff_address_line_1": None, "dropoff_address_line_2": None,
      "dropoff_latitude": None, "dropoff_longitude": None},
     {("dropoff_address_line_1", "address_or_coordinates")}),
    ("line 2 without line 1", delivery, {"dropoff_address_line_1": None},
     {("dropoff_address_line_2", "line_2_needs_line_1")}),
    ("latitude without longitude", delivery, {"dropoff_longitude": None},
     {("dropoff_longitude", "coordinates_paired")}),
    ("longitude without latitude", delivery, {"dropoff_latitude": None},
     {("dropoff_latitude", "coordinates_paired")}),
    ("latitude out of range", delivery, {"dropoff_latitude": 91.0},
     {("dropoff_latitude", "latitude_range")}),
    ("infinite latitude", delivery, {"dropoff_latitude": float("inf")},
     {("dropoff_latitude", "latitude_range")}),
    ("longitude out of range", delivery, {"dropoff_longitude": -180.5},
     {("dropoff_longitude", "longitude_range")}),
    ("swapped coordinates", delivery, {"dropoff_latitude": 27.9085,
                                       "dropoff_longitude": -26.2385},
     {("dropoff_latitude", "coordinates_not_swapped")}),
    ("null island", delivery, {"dropoff_latitude": 0.0, "dropoff_longitude": 0.0},
     {("dropoff_latitude", "coordinates_not_zero")}),
    ("email too long", delivery, {"dropoff_email": "a" * 250 + "@example.co.za"},
     {("dropoff_email", "email_format")}),
    ("window hour without zero", delivery, {"dropoff_window_from": "8:00"},
     {("dropoff_window_from", "time_format")}),
    ("window at 24:00", delivery, {"dropoff_window_to": "24:00"},
     {("dropoff_window_to", "time_format")}),
    ("window closing before it opens", delivery, {"dropoff_window_from": "14:00",
                                                  "dropoff_window_to": "12:00"},
     {("dropoff_window_to", "window_order")}),
    ("empty window", delivery, {"dropoff_window_from": "12:00", "dropoff_window_to": "12:00:00"},
     {("dropoff_window_to", "window_order")}),
    ("window without end", delivery, {"dropoff_window_to": None},
     {("dropoff_window_to", "window_paired")}),
    ("window without start", delivery, {"dropoff_window_from": None},
     {("dropoff_window_from", "window_paired")}),
    ("negative duration", delivery, {"dropoff_duration_minutes": -5},
     {("dropoff_duration_minutes", "duration_range")}),
    ("duration over a day", delivery, {"dropoff_duration_minutes": 1441},
     {("dropoff_duration_minutes", "duration_range")}),
    ("10 kB note", delivery, {"dropoff_note": "Gate code 4471#. " * 640},
     {("dropoff_note", "text_length")}),
    ("10 kB customer name", delivery, {"dropoff_customer_name": "🎂" * 10_000},
     {("dropoff_customer_name", "text_length")}),
    ("postal code too long", delivery, {"dropoff_postal_code": "1" * 17},
     {("dropoff_postal_code", "text_length")}),
    ("every defect of a row is reported", delivery,
     {"dropoff_contact_number": "n/a", "dropoff_email": "none", "dropoff_latitude": 27.9085,
      "dropoff_longitude": -26.2385, "dropoff_duration_minutes": -1},
     {("dropoff_contact_number", "phone_format"), ("dropoff_email", "email_format"),
      ("dropoff_latitude", "coordinates_not_swapped"),
      ("dropoff_duration_minutes", "duration_range")}),
]
INVALID += [(f"phone {phone!r}", delivery, {"dropoff_contact_number": phone},
             {("dropoff_contact_number", "phone_format")}) for phone in BAD_PHONES]
INVALID += [(f"pickup phone {phone!r}", pickup_delivery, {"pickup_contact_number": phone},
             {("pickup_contact_number", "phone_format")}) for phone in BAD_PHONES[:2]]
INVALID += [(f"email {email!r}", delivery, {"dropoff_email": email},
             {("dropoff_email", "email_format")}) for email in BAD_EMAILS]
INVALID += [("email with doubled dot", delivery, {"dropoff_email": "thabo..nkosi@example.co.za"},
             {("dropoff_email", "email_format")})]

# Items: (case id, item overrides, expected item failures); each case has its own delivery.
INVALID_ITEMS = [
    ("zero quantity", {"quantity": 0.0}, {("quantity", "quantity_positive")}),
    ("negative quantity", {"quantity": -2.0}, {("quantity", "quantity_positive")}),
    ("quantity missing", {"quantity": None}, {("quantity", "not_nullable")}),
    ("negative weight", {"weight_kg": -0.5}, {("weight_kg", "weight_not_negative")}),
    ("negative height", {"height_cm": -1.0}, {("height_cm", "dimension_not_negative")}),
    ("unknown item type", {"item_type_id": 4}, {("item_type_id", "item_type_known")}),
    ("description missing", {"description": None}, {("description", "not_nullable")}),
    ("description empty", {"description": ""}, {("description", "not_empty")}),
    ("description 10 kB", {"description": "x" * 10_240}, {("description", "text_length")}),
    ("sku too long", {"sku": "S" * 65}, {("sku", "text_length")}),
]
VALID_ITEMS = [
    ("whole item", {}),
    ("weightless service", {"weight_kg": None, "item_type_id": 2, "length_cm": None}),
    ("zero weight", {"weight_kg": 0.0}),
    ("fractional quantity", {"quantity": 2.5}),
]


def _reference(number: int) -> str:
    return f"CASE-{number:03d}"


@pytest.fixture(scope="module")
def judged() -> dict[str, tuple[set, set]]:
    """Every case in one partition: case id -> (delivery reasons, item reasons)."""
    rows, items, ids, item_rows_of = [], [], [], {}
    for number, (case_id, build, overrides, *_) in enumerate(VALID + INVALID):
        row = build(_reference(number), **overrides)
        rows.append(row)
        ids.append(case_id)
    for number, (case_id, overrides, *_) in enumerate(INVALID_ITEMS + VALID_ITEMS, start=500):
        reference = _reference(number)
        rows.append(delivery(reference))
        ids.append(case_id)
        item_rows_of[case_id] = len(items)
        items.append(item(reference, 1, **overrides))
    for row in rows[: len(VALID)]:
        items.append(item(row["reference_number"], 1))
    result = split(deliveries_frame(rows), items_frame(items), NOW)
    failures = result.failures
    out = {}
    for position, case_id in enumerate(ids):
        mine = failures[(failures["record"] == "delivery") & (failures["row_position"] == position)]
        item_reasons = set()
        if case_id in item_rows_of:
            theirs = failures[(failures["record"] == "item")
                              & (failures["row_position"] == item_rows_of[case_id])]
            item_reasons = set(zip(theirs["column"], theirs["check"], strict=True))
        out[case_id] = (set(zip(mine["column"], mine["check"], strict=True)), item_reasons)
    return out


@pytest.mark.parametrize(("case_id", "build", "overrides"), VALID, ids=[c[0] for c in VALID])
def test_valid_rows_pass(judged, case_id, build, overrides):
    assert judged[case_id] == (set(), set())


@pytest.mark.parametrize(("case_id", "build", "overrides", "expected"), INVALID,
                         ids=[c[0] for c in INVALID])
def test_invalid_rows_record_exact_reasons(judged, case_id, build, overrides, expected):
    assert judged[case_id][0] == expected


@pytest.mark.parametrize(("case_id", "overrides", "expected"), INVALID_ITEMS,
                         ids=[c[0] for c in INVALID_ITEMS])
def test_an_invalid_item_rejects_its_delivery(judged, case_id, overrides, expected):
    assert judged[case_id] == ({("items", "items_valid")}, expected)


@pytest.mark.parametrize(("case_id", "overrides"), VALID_ITEMS, ids=[c[0] for c in VALID_ITEMS])
def test_valid_items_pass(judged, case_id, overrides):
    assert judged[case_id] == (set(), set())


def test_item_lines_must_be_unique_and_belong_to_a_delivery():
    deliveries = deliveries_frame([delivery("A"), delivery("B")])
    items = items_frame([item("A", 1), item("A", 1, sku="OTHER"), item("B", 1), item("GHOST", 1)])
    result = split(deliveries, items, NOW)
    reasons = set(zip(result.failures["record"], result.failures["row_position"],
                      result.failures["column"], result.failures["check"], strict=True))
    assert reasons == {
        ("item", 0, "line_number", "line_unique"), ("item", 1, "line_number", "line_unique"),
        ("item", 3, "reference_number", "delivery_exists"),
        ("delivery", 0, "items", "items_valid"),
    }
    assert result.valid_deliveries["reference_number"].tolist() == ["B"]
    assert result.valid_items["reference_number"].tolist() == ["B"]


def test_country_reference_data():
    assert len(ISO_COUNTRY_CODES) == 249
    assert set(COUNTRY_BOXES) <= ISO_COUNTRY_CODES


@pytest.mark.parametrize("country", sorted(COUNTRY_BOXES))
def test_a_true_position_can_never_look_swapped(country):
    """The swap heuristic is only sound where a box's latitude and longitude ranges are apart."""
    lat_min, lat_max, lon_min, lon_max = COUNTRY_BOXES[country]
    assert lat_min < lat_max and lon_min < lon_max
    assert lat_max < lon_min or lon_max < lat_min


def test_the_swap_heuristic_on_every_box():
    rows = []
    for number, (country, (lat_min, lat_max, lon_min, lon_max)) in enumerate(
            COUNTRY_BOXES.items()):
        lat, lon = (lat_min + lat_max) / 2, (lon_min + lon_max) / 2
        rows.append(delivery(f"OK-{number}", dropoff_country_code=country,
                             dropoff_latitude=lat, dropoff_longitude=lon))
        rows.append(delivery(f"SW-{number}", dropoff_country_code=country,
                             dropoff_latitude=lon, dropoff_longitude=lat))
    failures = split(deliveries_frame(rows), items_frame([]), NOW).failures
    swapped = failures[failures["check"] == "coordinates_not_swapped"]
    assert sorted(swapped["reference_number"]) == sorted(
        f"SW-{n}" for n in range(len(COUNTRY_BOXES)))
    assert pd.Series(failures["check"]).isin(["coordinates_not_swapped", "latitude_range",
                                              "longitude_range"]).all()
