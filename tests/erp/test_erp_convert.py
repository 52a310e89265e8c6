"""Driver values to canonical Arrow types: lossless conversions pass, lossy ones are refused."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

import pyarrow as pa
import pytest

from fleet_pipeline.erp.convert import ConversionError, columns_of, to_array


@pytest.mark.parametrize(("values", "typ", "expected"), [
    ([Decimal("-34.000061"), None], pa.float64(), [-34.000061, None]),
    (["3.5", "0", None], pa.float64(), [3.5, 0.0, None]),
    ([3, 2.0], pa.float64(), [3.0, 2.0]),
    ([Decimal("4"), None], pa.int64(), [4, None]),
    ([2.0, 3], pa.int64(), [2, 3]),
    (["12"], pa.int64(), [12]),
    ([27821234567, None], pa.string(), ["27821234567", None]),
    ([Decimal("0800.50")], pa.string(), ["800.50"]),
    ([b"caf\xc3\xa9"], pa.string(), ["café"]),
    ([timedelta(hours=8, minutes=30), time(12, 0)], pa.string(), ["08:30:00", "12:00:00"]),
    (["2026-12-04", None], pa.date32(), [date(2026, 12, 4), None]),
    ([datetime(2026, 12, 4)], pa.date32(), [date(2026, 12, 4)]),
    (["2026-12-04 09:30:00.000000"], pa.timestamp("us"), [datetime(2026, 12, 4, 9, 30)]),
    ([date(2026, 12, 4)], pa.timestamp("us"), [datetime(2026, 12, 4)]),
    ([None, None], pa.string(), [None, None]),
])
def test_lossless_conversions(values, typ, expected):
    array = to_array(values, typ, "column")
    assert array.type == typ
    assert array.to_pylist() == expected


def test_text_passes_through_byte_for_byte():
    odd = ["", " leading and trailing ", "Zoë's Bakery 🎂", "北京烤鸭", "x" * 20_000,
           "0800 FLOWERS", "line\nbreak\ttab", "quote ' and \" and \\"]
    assert to_array(odd, pa.string(), "dropoff_note").to_pylist() == odd


def test_nan_stays_nan():
    value = to_array([float("nan")], pa.float64(), "weight_kg").to_pylist()[0]
    assert math.isnan(value)


@pytest.mark.parametrize(("values", "typ", "why"), [
    (["1,5"], pa.float64(), "not a valid value"),
    ([Decimal("2.5")], pa.int64(), "not a whole number"),
    ([2.5], pa.int64(), "without loss"),
    ([datetime(2026, 12, 4, 10, 30)], pa.date32(), "time of day"),
    ([datetime(2026, 12, 4, 10, 30, tzinfo=UTC)], pa.timestamp("us"), "time zone"),
    ([b"\xff\xfe"], pa.string(), "not UTF-8"),
])
def test_lossy_conversions_are_refused_with_the_column_named(values, typ, why):
    with pytest.raises(ConversionError, match=why) as raised:
        to_array(values, typ, "quantity")
    assert "Column quantity" in str(raised.value)


def test_refused_personal_value_is_masked_in_the_message():
    with pytest.raises(ConversionError) as raised:
        to_array(["-33,9249"], pa.float64(), "dropoff_latitude")
    assert "-33,9249" not in str(raised.value)
    assert "dropoff_latitude" in str(raised.value)


def test_plain_rows_become_arrow_columns_of_the_drivers_types():
    rows = [("DN1", 3, 1.5, date(2026, 12, 4), datetime(2026, 12, 4, 9), None),
            ("DN2", None, 2, None, None, None)]
    columns = columns_of(rows)
    assert [c.type for c in columns] == [pa.string(), pa.int64(), pa.float64(), pa.date32(),
                                         pa.timestamp("us"), pa.null()]
    assert columns[2].to_pylist() == [1.5, 2.0]


def test_a_column_of_whole_and_fractional_numbers_keeps_every_fraction():
    # SQLite hands a NUMERIC 20.000 back as the integer 20 and 20.464 as a float.
    columns = columns_of([("a", 20), ("b", 20.464), ("c", None)])
    assert columns[1].type == pa.float64()
    assert columns[1].to_pylist() == [20.0, 20.464, None]


@pytest.mark.parametrize("mixed", [
    [1, Decimal("2.5")],
    [date(2026, 12, 4), datetime(2026, 12, 4, 10, 30)],
    [datetime(2026, 12, 4, tzinfo=UTC), datetime(2026, 12, 4, tzinfo=UTC)],
    ["text", 7],
])
def test_values_arrow_would_take_inexactly_go_the_python_way(mixed):
    columns = columns_of([(value,) for value in mixed])
    assert columns == [tuple(mixed)]


def test_python_and_arrow_columns_convert_to_the_same_values():
    rows = [("2026-12-04", 3, "7"), ("2026-12-05", None, "8.5")]
    for columns in (columns_of(rows), list(zip(*rows, strict=True))):
        assert to_array(columns[0], pa.date32(), "d").to_pylist() == [date(2026, 12, 4),
                                                                      date(2026, 12, 5)]
        assert to_array(columns[1], pa.float64(), "q").to_pylist() == [3.0, None]
        assert to_array(columns[2], pa.float64(), "w").to_pylist() == [7.0, 8.5]
    with pytest.raises(ConversionError, match="Column n"):
        to_array(columns_of(rows)[2], pa.int64(), "n")


def test_an_arrow_integer_column_becomes_doubles_as_python_integers_do():
    values = [3, None, -2**53, 2**53 + 1]  # the last is beyond what a double holds exactly
    assert (to_array(pa.array(values), pa.float64(), "length_cm").to_pylist()
            == to_array(values, pa.float64(), "length_cm").to_pylist()
            == [3.0, None, float(-2**53), float(2**53 + 1)])
