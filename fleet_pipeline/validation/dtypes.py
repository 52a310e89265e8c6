"""Value types, row by row: a value of the wrong type is a failure of its row, never a crash.

The extraction writes the canonical Parquet types, so in production every column already has its
type and this stage costs a dtype comparison (text: one C-level scan). Frames built by hand can hold
anything: numbers as strings, floats in an object column, booleans. Those values are reported with
the check name `dtype('<type>')` (pandera's own naming) and nulled in the typed frame, so the rules
that follow see each column in one dtype and report every other defect of the row.

Typed dtypes: text `object` (str or null), real `float64`, whole `Int64` (nullable: Parquet reads an
int column with nulls as float64), timestamps and dates `datetime64[us]` (aware times converted to
the account's zone). A whole number stored as a whole float (3.0) is accepted.

A number written as a string ("12.5" for a latitude) is a failure, not a conversion: the ERP query
should return numbers, and quietly parsing text would hide a broken mapping.
"""

from __future__ import annotations

import datetime as dt
import numbers
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

from fleet_pipeline.erp.canonical import Column

TEXT, REAL, WHOLE, TIMESTAMP, DATE = "str", "float64", "int64", "datetime64", "date"


def kind_of(arrow_type: pa.DataType) -> str:
    if pa.types.is_string(arrow_type):
        return TEXT
    if pa.types.is_floating(arrow_type):
        return REAL
    if pa.types.is_integer(arrow_type):
        return WHOLE
    if pa.types.is_timestamp(arrow_type):
        return TIMESTAMP
    if pa.types.is_date(arrow_type):
        return DATE
    raise TypeError(f"no validation type for {arrow_type}")


def check_name(kind: str) -> str:
    return f"dtype('{kind}')"


@dataclass(frozen=True)
class Typed:
    """The canonical columns in their typed dtypes (RangeIndex), and the ill-typed values as
    failures (row, column, check)."""

    frame: pd.DataFrame
    failures: pd.DataFrame


def conform(frame: pd.DataFrame, columns: Iterable[Column], timezone: str) -> Typed:
    """Type every canonical column of `frame`; values of the wrong type become nulls, reported.

    `frame` must hold every canonical column (a missing column is a broken extraction, not bad
    data). Call under pandas copy-on-write: columns that already have their type are not copied.
    """
    columns = tuple(columns)
    missing = [c.name for c in columns if c.name not in frame.columns]
    if missing:
        raise ValueError(f"the frame lacks canonical columns: {', '.join(missing)}")
    typed = frame[[c.name for c in columns]].set_axis(pd.RangeIndex(len(frame)), axis=0)
    failures = [pd.DataFrame({"row": pd.Series(dtype="int64"), "column": pd.Series(dtype=object),
                              "check": pd.Series(dtype=object)})]
    for column in columns:
        kind = kind_of(column.type)
        values, ok = _CONFORMERS[kind](typed[column.name], timezone)
        if values is not None:
            typed[column.name] = values
        if ok is not None and not ok.all():
            failures.append(pd.DataFrame({"row": np.flatnonzero(~ok), "column": column.name,
                                          "check": check_name(kind)}))
    return Typed(typed, pd.concat(failures, ignore_index=True))


# Each conformer returns (typed values, or None when the column already has its typed dtype;
# mask of well-typed values, or None when every value has the right type).
Conformed = tuple[pd.Series | None, np.ndarray | None]


def _text(s: pd.Series, timezone: str) -> Conformed:
    if s.dtype == object:
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            return None, None
        ok = _mask(s, lambda v: isinstance(v, str))
        return _nulled(s, ok, object), ok
    if pd.api.types.is_string_dtype(s.dtype):
        return s.astype(object).where(s.notna(), None), None
    return _all_wrong(s, object)


def _real(s: pd.Series, timezone: str) -> Conformed:
    if s.dtype == np.float64:
        return None, None
    if pd.api.types.is_float_dtype(s.dtype) or pd.api.types.is_integer_dtype(s.dtype):
        return pd.Series(s.to_numpy(dtype="float64", na_value=np.nan), index=s.index), None
    if s.dtype == object:
        ok = _mask(s, _is_real)
        keep = ok & s.notna().to_numpy()
        values = [float(v) if k else np.nan for v, k in zip(s, keep, strict=True)]
        return pd.Series(values, index=s.index, dtype="float64"), ok
    return _all_wrong(s, "float64")


def _whole(s: pd.Series, timezone: str) -> Conformed:
    if isinstance(s.dtype, pd.Int64Dtype):
        return None, None
    if pd.api.types.is_integer_dtype(s.dtype):
        return s.astype("Int64"), None
    if pd.api.types.is_float_dtype(s.dtype):
        values = s.to_numpy(dtype="float64", na_value=np.nan)
        null = np.isnan(values)
        with np.errstate(invalid="ignore"):
            ok = null | ((np.mod(values, 1) == 0) & (np.abs(values) < 2**53))
        whole = pd.Series(np.where(ok & ~null, values, np.nan), index=s.index).astype("Int64")
        return whole, ok
    if s.dtype == object:
        ok = _mask(s, _is_whole)
        keep = ok & s.notna().to_numpy()
        values = [int(v) if k else None for v, k in zip(s, keep, strict=True)]
        return pd.Series(values, index=s.index, dtype="Int64"), ok
    return _all_wrong(s, "Int64")


def _timestamp(s: pd.Series, timezone: str) -> Conformed:
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return s.dt.tz_convert(timezone).dt.tz_localize(None).astype("datetime64[us]"), None
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return (None, None) if s.dtype == "datetime64[us]" else (s.astype("datetime64[us]"), None)
    if s.dtype == object:
        ok = _mask(s, lambda v: isinstance(v, dt.datetime) and v.tzinfo is None)
        return _datetimes(s, ok), ok
    return _all_wrong(s, "datetime64[us]")


def _date(s: pd.Series, timezone: str) -> Conformed:
    if pd.api.types.is_datetime64_dtype(s.dtype):
        return s.astype("datetime64[us]").dt.normalize(), None
    if s.dtype == object:
        if pd.api.types.infer_dtype(s, skipna=True) in ("date", "empty"):
            days = pa.array(s, type=pa.date32(), from_pandas=True)
            return pd.Series(days.to_numpy(zero_copy_only=False), index=s.index).astype(
                "datetime64[us]"), None
        ok = _mask(s, lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime))
        return _datetimes(s, ok), ok
    return _all_wrong(s, "datetime64[us]")


_CONFORMERS = {TEXT: _text, REAL: _real, WHOLE: _whole, TIMESTAMP: _timestamp, DATE: _date}


def _is_null(value: object) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (
        isinstance(value, float) and np.isnan(value))


def _mask(s: pd.Series, well_typed) -> np.ndarray:
    """Per value: null, or of the right type. Only hand-built frames ever take this path."""
    return np.fromiter((_is_null(v) or well_typed(v) for v in s), bool, len(s))


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_)


def _is_whole(value: object) -> bool:
    if isinstance(value, bool | np.bool_):
        return False
    if isinstance(value, numbers.Integral):
        return abs(int(value)) < 2**63
    return isinstance(value, float) and value.is_integer() and abs(value) < 2**53


def _datetimes(s: pd.Series, ok: np.ndarray) -> pd.Series:
    values = [None if _is_null(v) or not good else v for v, good in zip(s, ok, strict=True)]
    return pd.Series(np.array(values, dtype="datetime64[us]"), index=s.index)


def _nulled(s: pd.Series, ok: np.ndarray, dtype) -> pd.Series:
    return pd.Series(np.where(ok, s.to_numpy(dtype=object), None), index=s.index, dtype=dtype)


def _all_wrong(s: pd.Series, dtype) -> Conformed:
    ok = s.isna().to_numpy()
    return pd.Series([None] * len(s), index=s.index, dtype=dtype), ok
