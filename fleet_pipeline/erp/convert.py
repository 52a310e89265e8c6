"""Python values from a database driver -> Arrow arrays of the canonical types, without loss.

Drivers disagree on types: SQLite hands back dates as text, PostgreSQL and MariaDB numerics as
Decimal, MariaDB TIME as timedelta, and an ERP may keep a quantity in a text column or a phone in
a number column. A value is converted only when nothing is lost (Decimal 12.5 -> 12.5, '3' -> 3,
27821234567 -> '27821234567'); anything else raises ConversionError, naming the column and the
value (masked when personal), so the query can be fixed. Nothing is ever dropped, trimmed or
replaced: text is copied as it is, however long or odd.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from operator import itemgetter

import pyarrow as pa

from fleet_pipeline.masking import is_personal, mask_value

_ARROW_ERRORS = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, TypeError,
                 ValueError, OverflowError)


class ConversionError(ValueError):
    def __init__(self, column: str, typ: pa.DataType, value: object, why: str):
        shown = mask_value(value) if is_personal(column) else value
        super().__init__(f"Column {column} holds {shown!r} ({type(value).__name__}), which "
                         f"cannot be stored as {typ} without loss: {why}. Convert it in the "
                         "source query.")


# Python types Arrow converts exactly, to the Arrow type that holds them.
_PLAIN_TYPES: dict[type, pa.DataType] = {
    str: pa.string(), int: pa.int64(), float: pa.float64(), bool: pa.bool_(),
    date: pa.date32(), datetime: pa.timestamp("us"),
}


# Arrow silently truncates a float or Decimal built into an integer column, and a datetime built
# into a date column; SQLite, typed per value, can mix them, so such columns are checked.
_UNIFORM_ONLY = (int, date)


def columns_of(rows: Sequence[Sequence]) -> list[pa.Array] | list[tuple]:
    """The rows' columns: Arrow arrays when every value is of a plain type, else tuples.

    Arrow builds the arrays straight from the row tuples in C++, which is about twice as fast as
    transposing in Python and converting each column; values it cannot take exactly (Decimal,
    bytes, zoned datetimes, a column of mixed types) send the chunk down the Python path.
    """
    tuples = list(map(tuple, rows))
    types = []
    for position in range(len(tuples[0]) if tuples else 0):
        first = next((row[position] for row in tuples if row[position] is not None), None)
        if first is None:
            types.append(pa.null())
        elif type(first) in _PLAIN_TYPES and getattr(first, "tzinfo", None) is None:
            types.append(_PLAIN_TYPES[type(first)])
        else:
            return list(zip(*tuples, strict=True))
        if type(first) in _UNIFORM_ONLY:
            found = set(map(type, map(itemgetter(position), tuples))) - {type(None)}
            if found == {int, float}:
                types[-1] = pa.float64()  # exact: Arrow refuses an integer a double cannot hold
            elif len(found) > 1:
                return list(zip(*tuples, strict=True))
    try:
        struct = pa.array(tuples, type=pa.struct([(str(i), t) for i, t in enumerate(types)]))
    except _ARROW_ERRORS:
        return list(zip(*tuples, strict=True))
    return struct.flatten()


def to_array(values: Sequence | pa.Array, typ: pa.DataType, column: str) -> pa.Array:
    """One column of driver values (Python values or an Arrow array) as an array of `typ`."""
    if isinstance(values, pa.Array):
        return _from_arrow(values, typ, column)
    first = next((v for v in values if v is not None), None)
    if first is None:
        return pa.nulls(len(values), typ)
    _refuse_silent_loss(values, first, typ, column)
    if isinstance(first, Decimal) and (pa.types.is_floating(typ) or pa.types.is_integer(typ)):
        return pa.array([None if v is None else _from_decimal(v, typ, column) for v in values],
                        type=typ)
    if not pa.types.is_integer(typ):  # asked for integers directly, Arrow truncates 2.5 to 2
        try:
            return pa.array(values, type=typ)
        except _ARROW_ERRORS:
            pass
    if pa.types.is_string(typ):
        return pa.array([None if v is None else as_text(v, column) for v in values], type=typ)
    try:
        # Arrow infers a type (Decimal -> decimal128, text -> string) and casts safely: a cast
        # that would truncate, overflow or fail to parse raises instead.
        return pa.array(values).cast(typ, safe=True)
    except _ARROW_ERRORS:
        pass
    texts = [None if v is None else as_text(v, column) for v in values]
    try:
        return pa.array(texts, type=pa.string()).cast(typ, safe=True)
    except _ARROW_ERRORS as exc:
        for value, text in zip(values, texts, strict=True):
            if text is not None and not _casts(text, typ):
                raise ConversionError(column, typ, value, "not a valid value") from None
        raise ConversionError(column, typ, first, str(exc)) from None


def _from_arrow(array: pa.Array, typ: pa.DataType, column: str) -> pa.Array:
    if array.type == typ:
        return array
    if pa.types.is_null(array.type):
        return pa.nulls(len(array), typ)
    exact_cast = (pa.types.is_string(array.type) and not pa.types.is_string(typ)) or (
        pa.types.is_integer(array.type) and pa.types.is_floating(typ))
    if exact_cast:
        try:
            # Text parsed, never rounded; an integer a double cannot hold exactly is refused.
            return array.cast(typ, safe=True)
        except _ARROW_ERRORS:
            pass
    # Anything else follows the rules for Python values, with the same checks and messages.
    return to_array(array.to_pylist(), typ, column)


def as_text(value: object, column: str) -> str:
    """The text form of a value that an ERP keeps as a number, date, time or bytes."""
    if isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError:
            raise ConversionError(column, pa.string(), value, "bytes that are not UTF-8") from None
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):  # MySQL/MariaDB TIME
        seconds = value.total_seconds()
        if 0 <= seconds < 86_400 and seconds == int(seconds):
            minutes, second = divmod(int(seconds), 60)
            return f"{minutes // 60:02d}:{minutes % 60:02d}:{second:02d}"
    return str(value)


def _from_decimal(value: object, typ: pa.DataType, column: str) -> float | int:
    # float(Decimal) rounds correctly; Arrow's decimal-to-double cast can be off in the last bit.
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float):
        raise ConversionError(column, typ, value, "a column of numbers holds other values")
    if pa.types.is_floating(typ):
        return float(value)
    if not math.isfinite(value) or value != int(value):
        raise ConversionError(column, typ, value, "it is not a whole number")
    return int(value)


def _refuse_silent_loss(values: Sequence, first: object, typ: pa.DataType, column: str) -> None:
    """Catch the two conversions Arrow would make silently but lossily."""
    if pa.types.is_date(typ) and isinstance(first, datetime):
        for value in values:
            if value is not None and value.time() != time(0):
                raise ConversionError(column, typ, value, "it has a time of day")
    if pa.types.is_timestamp(typ) and isinstance(first, datetime) and first.tzinfo is not None:
        # Arrow would shift it to UTC; the canonical timestamps are the account's local time.
        raise ConversionError(column, typ, first, "it carries a time zone")


def _casts(text: str, typ: pa.DataType) -> bool:
    try:
        pa.array([text], type=pa.string()).cast(typ, safe=True)
    except _ARROW_ERRORS:
        return False
    return True
