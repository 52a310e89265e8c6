"""split(): the sample ERP's defect classes, hostile values, the count invariant, untouched rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
from validation_rows import NOW, deliveries_frame, delivery, item, items_frame, pickup_delivery

from fleet_pipeline.erp.canonical import JOB_COLUMN_NAMES
from fleet_pipeline.validation.settings import ValidationSettings
from fleet_pipeline.validation.split import (
    FAILURE_COLUMNS,
    CountInvariantBroken,
    ValidationResult,
    _check_counts,
    split,
)


def reasons(result: ValidationResult, record: str = "delivery") -> set[tuple]:
    f = result.failures[result.failures["record"] == record]
    return set(zip(f["row_position"], f["reference_number"], f["column"], f["check"],
                   strict=True))


def test_each_defect_class_of_the_sample_erp():
    """One row per defect kind of fleet_pipeline.erp.sample.generator.DEFECT_KINDS."""
    rows = [
        delivery("MISSING-COORDS", dropoff_latitude=None, dropoff_longitude=None),
        delivery("SWAPPED", dropoff_latitude=27.9085, dropoff_longitude=-26.2385),
        delivery("BAD-PHONE", dropoff_contact_number="0800 FLOWERS"),
        delivery("BAD-EMAIL", dropoff_email="thabo.nkosi@"),
        delivery("PAST", scheduled_delivery_ts=datetime(2026, 3, 7, 10, 0)),
        delivery("DUP"),
        delivery("DUP", dropoff_customer_name="Another Customer"),
        delivery("BAD-QTY"),
        delivery("LONG-NOTE", dropoff_note="Pallets go to bay 3 only. " * 400),
        delivery("NON-ASCII", dropoff_customer_name="Ñandú Steakhouse 🔥",
                 dropoff_contact_name="Θεσσαλονίκη Deli"),
    ]
    references = dict.fromkeys(r["reference_number"] for r in rows)
    items = [item(reference) for reference in references] + [item("BAD-QTY", 2, quantity=-1.0)]
    result = split(deliveries_frame(rows), items_frame(items), NOW)

    assert reasons(result) == {
        (1, "SWAPPED", "dropoff_latitude", "coordinates_not_swapped"),
        (2, "BAD-PHONE", "dropoff_contact_number", "phone_format"),
        (3, "BAD-EMAIL", "dropoff_email", "email_format"),
        (4, "PAST", "scheduled_delivery_ts", "not_in_past"),
        (4, "PAST", "scheduled_delivery_ts", "on_scheduled_date"),
        (5, "DUP", "reference_number", "field_uniqueness"),
        (6, "DUP", "reference_number", "field_uniqueness"),
        (7, "BAD-QTY", "items", "items_valid"),
        (8, "LONG-NOTE", "dropoff_note", "text_length"),
    }
    assert reasons(result, "item") == {(9, "BAD-QTY", "quantity", "quantity_positive")}
    # An address without a position is a valid stop for the API (it geocodes the address).
    assert result.valid_deliveries["reference_number"].tolist() == ["MISSING-COORDS", "NON-ASCII"]
    assert result.valid_items["reference_number"].tolist() == ["MISSING-COORDS", "NON-ASCII"]
    assert result.rejected_references.to_dict() == {
        1: "SWAPPED", 2: "BAD-PHONE", 3: "BAD-EMAIL", 4: "PAST", 5: "DUP", 6: "DUP",
        7: "BAD-QTY", 8: "LONG-NOTE"}


def test_missing_coordinates_can_be_made_a_defect():
    rows = [delivery("NO-POSITION", dropoff_latitude=None, dropoff_longitude=None),
            pickup_delivery("PICKUP-NO-POSITION", pickup_latitude=None, pickup_longitude=None)]
    result = split(deliveries_frame(rows), items_frame([]), NOW,
                   ValidationSettings(require_coordinates=True))
    assert reasons(result) == {
        (0, "NO-POSITION", "dropoff_latitude", "coordinates_required"),
        (1, "PICKUP-NO-POSITION", "pickup_latitude", "coordinates_required"),
    }


def test_valid_rows_come_out_untouched():
    rows = [delivery("A"), delivery("B", dropoff_email="bad"), pickup_delivery("C"),
            delivery("D", dropoff_customer_name="Ève 🌸", dropoff_note="é" * 900)]
    deliveries = deliveries_frame(rows)
    deliveries.index = [10, 11, 12, 13]  # labels are kept, positions are what counts
    items = items_frame([item("A"), item("B"), item("C", 1), item("C", 2), item("D")])
    before = deliveries.copy(deep=True), items.copy(deep=True)

    result = split(deliveries, items, NOW)

    pd.testing.assert_frame_equal(result.valid_deliveries, deliveries.iloc[[0, 2, 3]])
    pd.testing.assert_frame_equal(result.valid_items, items.iloc[[0, 2, 3, 4]])
    assert (result.valid_deliveries.dtypes == deliveries.dtypes).all()
    pd.testing.assert_frame_equal(deliveries, before[0])  # the input is not modified
    pd.testing.assert_frame_equal(items, before[1])


def test_duplicated_references_are_all_rejected_by_position():
    rows = [delivery("SAME"), delivery("OTHER"), delivery("SAME"), delivery("SAME")]
    result = split(deliveries_frame(rows), items_frame([item("SAME"), item("OTHER")]), NOW)
    assert result.rejected_references.to_dict() == {0: "SAME", 2: "SAME", 3: "SAME"}
    assert result.valid_deliveries["reference_number"].tolist() == ["OTHER"]
    assert result.valid_items["reference_number"].tolist() == ["OTHER"]
    assert result.extracted == 4
    assert result.rejection_rate == 0.75


def test_failure_frame_shape_and_masking():
    rows = [delivery("M", dropoff_email="thabo nkosi@example.co.za", dropoff_latitude=95.0,
                     dropoff_contact_number="call reception", labels="x" * 600)]
    failures = split(deliveries_frame(rows), items_frame([]), NOW).failures
    assert tuple(failures.columns) == FAILURE_COLUMNS
    assert failures["row_position"].dtype == "int64"
    values = dict(zip(failures["column"], failures["value"], strict=True))
    assert values == {
        "dropoff_email": "***@example.co.za",
        "dropoff_latitude": "<number>",
        "dropoff_contact_number": "c***(14)",
        "labels": "x" * 64 + "…(600 chars)",
    }


def test_hostile_values_become_failures_not_crashes():
    frame = deliveries_frame([delivery(f"H-{n}") for n in range(14)])
    hostile = {
        "dropoff_latitude": {1: "-26.2385",          # a number written as text
                             2: True,                # a boolean
                             3: {"lat": -26.2}},     # an object
        "job_type_id": {4: "3", 5: 3.0, 6: 3.5},     # 3.0 is a whole number: accepted
        "reference_number": {7: 12345},
        "scheduled_delivery_ts": {8: "2026-03-10 09:30:00"},
        "scheduled_date": {9: "2026-03-10"},
        "dropoff_customer_name": {10: 42},
        "dropoff_duration_minutes": {11: "15"},
        "dropoff_email": {12: np.nan, 13: pd.NA},    # missing, in a text column
    }
    for column, values in hostile.items():
        cells = frame[column].astype(object).tolist()
        for position, value in values.items():
            cells[position] = value
        frame[column] = pd.Series(cells, index=frame.index, dtype=object)
    items = items_frame([item(f"H-{n}") for n in range(14)])
    items["quantity"] = pd.Series(["4", *items["quantity"].tolist()[1:]], dtype=object)

    result = split(frame, items, NOW)

    assert reasons(result) == {
        (0, "H-0", "items", "items_valid"),
        (1, "H-1", "dropoff_latitude", "dtype('float64')"),
        (2, "H-2", "dropoff_latitude", "dtype('float64')"),
        (3, "H-3", "dropoff_latitude", "dtype('float64')"),
        (4, "H-4", "job_type_id", "dtype('int64')"),
        (6, "H-6", "job_type_id", "dtype('int64')"),
        (7, "12345", "reference_number", "dtype('str')"),
        (8, "H-8", "scheduled_delivery_ts", "dtype('datetime64')"),
        (9, "H-9", "scheduled_date", "dtype('date')"),
        (10, "H-10", "dropoff_customer_name", "dtype('str')"),
        (11, "H-11", "dropoff_duration_minutes", "dtype('int64')"),
    }
    assert reasons(result, "item") == {
        (0, "H-0", "quantity", "dtype('float64')"),
        # Its delivery's reference, 12345, was not text: the line has no delivery to join.
        (7, "H-7", "reference_number", "delivery_exists"),
    }
    pd.testing.assert_frame_equal(result.valid_deliveries, frame.iloc[[5, 12, 13]])
    assert len(result.valid_deliveries) + len(result.rejected_references) == len(frame)


@pytest.mark.parametrize("dtype", ["bool", "string", "datetime64[ns]"])
def test_a_whole_column_of_the_wrong_type_fails_every_value(dtype):
    frame = deliveries_frame([delivery("A"), delivery("B")])
    values = {"bool": [True, False], "string": ["-26.1", "-26.2"],
              "datetime64[ns]": pd.to_datetime(["2026-01-01", "2026-01-02"])}[dtype]
    frame["dropoff_latitude"] = pd.Series(values, dtype=dtype)
    result = split(frame, items_frame([]), NOW)
    assert reasons(result) == {(0, "A", "dropoff_latitude", "dtype('float64')"),
                               (1, "B", "dropoff_latitude", "dtype('float64')")}


def test_other_well_typed_dtypes_are_accepted():
    frame = deliveries_frame([delivery("A"), delivery("B", dropoff_duration_minutes=None)])
    frame["dropoff_customer_name"] = frame["dropoff_customer_name"].astype("string")
    frame["job_type_id"] = frame["job_type_id"].astype("Int64")
    frame["dropoff_duration_minutes"] = frame["dropoff_duration_minutes"].astype("Int64")
    frame["scheduled_delivery_ts"] = (frame["scheduled_delivery_ts"].dt.tz_localize("UTC"))
    frame["scheduled_date"] = pd.to_datetime(frame["scheduled_date"])
    result = split(frame, items_frame([]), NOW)
    assert result.failures.empty
    pd.testing.assert_frame_equal(result.valid_deliveries, frame)


def test_an_empty_partition():
    result = split(deliveries_frame([]), items_frame([]), NOW)
    assert result.valid_deliveries.empty and result.failures.empty
    assert tuple(result.failures.columns) == FAILURE_COLUMNS
    assert result.rejection_rate == 0.0


def test_missing_canonical_columns_are_a_broken_extraction():
    frame = deliveries_frame([delivery("A")]).drop(columns=["dropoff_email"])
    with pytest.raises(ValueError, match="dropoff_email"):
        split(frame, items_frame([]), NOW)


def test_extra_columns_are_carried_not_judged():
    frame = deliveries_frame([delivery("A")]).assign(erp_internal_id=[7])
    result = split(frame, items_frame([]), NOW)
    assert result.valid_deliveries.columns.tolist() == [*JOB_COLUMN_NAMES, "erp_internal_id"]


def test_a_time_zone_aware_clock_is_read_in_the_account_time_zone():
    row = delivery("A", scheduled_date=NOW.date(), scheduled_delivery_ts=NOW + timedelta(hours=1))
    frame = deliveries_frame([row])
    # 18:00 in Johannesburg is 16:00 UTC; at 17:30 UTC the delivery (19:00 local) is ahead.
    johannesburg = ValidationSettings(account_timezone="Africa/Johannesburg")
    ahead = split(frame, items_frame([]), datetime(2026, 3, 9, 16, 30, tzinfo=UTC), johannesburg)
    past = split(frame, items_frame([]), datetime(2026, 3, 9, 17, 30, tzinfo=UTC), johannesburg)
    assert ahead.failures.empty
    assert set(past.failures["check"]) == {"not_in_past"}


def test_the_count_invariant_is_enforced():
    result = split(deliveries_frame([delivery("A"), delivery("B", dropoff_email="x")]),
                   items_frame([]), NOW)
    references = result.valid_deliveries["reference_number"]
    _check_counts(result, references)
    dropped = dataclasses.replace(result, valid_deliveries=result.valid_deliveries.iloc[:0])
    with pytest.raises(CountInvariantBroken, match="2 deliveries extracted but 0 valid"):
        _check_counts(dropped, references)
    unexplained = dataclasses.replace(result, failures=result.failures.iloc[:0])
    with pytest.raises(CountInvariantBroken, match="1 deliveries rejected but 0 have failures"):
        _check_counts(unexplained, references)
    with pytest.raises(CountInvariantBroken, match="valid twice"):
        _check_counts(result, pd.concat([references, references]))


def test_settings_from_the_environment(monkeypatch):
    monkeypatch.setenv("FLEET_MAX_REFERENCE_LENGTH", "8")
    monkeypatch.setenv("FLEET_MAX_REJECTION_RATE", "0.2")
    monkeypatch.setenv("FLEET_REJECTION_CHECK_SEVERITY", "error")
    monkeypatch.setenv("FLEET_REQUIRE_COORDINATES", "yes")
    settings = ValidationSettings.from_env()
    assert (settings.max_reference_length, settings.max_rejection_rate,
            settings.rejection_check_severity, settings.require_coordinates) == (8, 0.2, "ERROR",
                                                                                 True)
    result = split(deliveries_frame([delivery("SO-123456")]), items_frame([]), NOW, settings)
    assert set(result.failures["check"]) == {"reference_length"}
    monkeypatch.setenv("FLEET_MAX_REJECTION_RATE", "lots")
    with pytest.raises(ValueError, match="FLEET_MAX_REJECTION_RATE"):
        ValidationSettings.from_env()


def test_the_typed_frames_are_freed_when_split_returns(monkeypatch):
    """pandera leaves each frame it validates in a reference cycle; split collects them, so the
    day's typed columns do not outlive it (a regression: 0.5 GB held through the next stage)."""
    import gc
    import weakref

    from fleet_pipeline.validation import dtypes

    typed_frames = []
    conform = dtypes.conform

    def watched(*args, **kwargs):
        typed = conform(*args, **kwargs)
        typed_frames.append(weakref.ref(typed.frame))
        return typed

    monkeypatch.setattr(dtypes, "conform", watched)
    gc.disable()
    try:
        result = split(deliveries_frame([delivery("A"), delivery("B")]),
                       items_frame([item("A", 1)]), NOW)
        assert len(result.valid_deliveries) == 2
        assert len(typed_frames) == 2
        assert [ref() for ref in typed_frames] == [None, None]
    finally:
        gc.enable()
