"""The delivery rules as vectorised predicates: Series in, boolean Series out (True = passes).

Each predicate passes missing values: whether a value must be there is its own rule (`required`,
`not_nullable`), so a defect is reported once, under its own name. Empty strings count as missing.
The pandera schemas (schema.py) attach these to columns and give each its check name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fleet_pipeline.validation.countries import ACCEPTED_COUNTRY_CODES, COUNTRY_BOXES

# Local part without leading, trailing or doubled dots; a domain with at least one dot and a
# top-level label of two characters or more. Deliberately simple: the Fleet API's own rule is
# not documented, and this catches what ERPs actually hold ("n/a", "name@", "a@@b", "a@localhost").
EMAIL_PATTERN = r"[^@\s.]+(?:\.[^@\s.]+)*@(?:[^@\s.]+\.)+[^@\s.]{2,}"
TIME_PATTERN = r"(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d)?"
UUID_PATTERN = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
# Separators people type inside phone numbers; the payload sends the number without them.
PHONE_SEPARATORS = r"[\s.\-]"

JOB_TYPES = (1, 3)
SCHEDULE_TYPES = (2, 3)
ITEM_TYPES = (1, 2, 3)
PICKUP_AND_DROPOFF, SINGLE_STOP = 1, 3
SCHEDULED = 2
MAX_DURATION_MINUTES = 24 * 60


def passes(mask: pd.Series) -> pd.Series:
    """A plain bool Series; unknowns (pd.NA from nullable dtypes) pass."""
    if mask.dtype == bool:
        return mask
    return mask.fillna(True).astype(bool)


def present(s: pd.Series) -> pd.Series:
    if s.dtype == object:
        return s.notna() & (s != "")
    return s.notna()


def within_length(s: pd.Series, limit: int) -> pd.Series:
    return ~(text_lengths(s) > limit)


def length_between(s: pd.Series, low: int, high: int) -> pd.Series:
    lengths = text_lengths(s)
    return lengths.isna() | ((lengths >= low) & (lengths <= high))


def matches(s: pd.Series, pattern: str) -> pd.Series:
    return fullmatch(s, pattern) | (s == "")


def email(s: pd.Series, max_length: int) -> pd.Series:
    return matches(s, EMAIL_PATTERN) & within_length(s, max_length)


def phone(s: pd.Series, pattern: str) -> pd.Series:
    return matches(strip_phone(s), pattern)


def strip_phone(s: pd.Series) -> pd.Series:
    text = _arrow_text(s)
    if text is None:
        return s.str.replace(PHONE_SEPARATORS, "", regex=True)
    stripped = pc.replace_substring_regex(text, PHONE_SEPARATORS, "").to_numpy(
        zero_copy_only=False)
    python = _not_printable_ascii(text)
    if python.any():
        stripped[python] = s[python].str.replace(PHONE_SEPARATORS, "", regex=True).to_numpy()
    return pd.Series(stripped, index=s.index, dtype=object)


# Text rules run on Arrow (RE2, in C++) instead of one Python call per value. On printable ASCII
# RE2 and Python's re agree for these patterns; elsewhere they do not (Python's \s and \d are
# Unicode-aware, RE2's ASCII-only), so any other value is judged by Python's re, as is every
# value when the pattern is one RE2 does not take (a look-ahead, say).


def fullmatch(s: pd.Series, pattern: str) -> pd.Series:
    """s.str.fullmatch(pattern, na=True)."""
    text = _arrow_text(s)
    if text is None:
        return s.str.fullmatch(pattern, na=True)
    try:
        matched = pc.match_substring_regex(text, f"^(?:{pattern})$")
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return s.str.fullmatch(pattern, na=True)
    result = pc.fill_null(matched, True).to_numpy(zero_copy_only=False).copy()
    python = _not_printable_ascii(text)
    if python.any():
        result[python] = s[python].str.fullmatch(pattern, na=True).to_numpy(dtype=bool)
    return pd.Series(result, index=s.index)


def text_lengths(s: pd.Series) -> pd.Series:
    """s.str.len(): characters per value, NaN where missing."""
    text = _arrow_text(s)
    if text is None:
        return s.str.len()
    return pd.Series(pc.utf8_length(text).to_numpy(zero_copy_only=False), index=s.index,
                     dtype="float64")


def _arrow_text(s: pd.Series) -> pa.Array | None:
    """The values as an Arrow string array; None when they are not all text (or missing)."""
    if s.dtype != object:
        return None
    try:
        return pa.array(s.to_numpy(), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeError):
        return None


def _not_printable_ascii(text: pa.Array) -> np.ndarray:
    found = pc.match_substring_regex(text, r"[^\x20-\x7e]")
    return pc.fill_null(found, False).to_numpy(zero_copy_only=False)


def one_of(s: pd.Series, allowed: tuple) -> pd.Series:
    return passes(s.isna() | s.isin(allowed))


def country(s: pd.Series) -> pd.Series:
    return ~present(s) | s.isin(ACCEPTED_COUNTRY_CODES)


def between(s: pd.Series, low: float, high: float) -> pd.Series:
    return passes(s.isna() | ((s >= low) & (s <= high)))


def positive(s: pd.Series) -> pd.Series:
    return s.isna() | ((s > 0) & np.isfinite(s))


def not_negative(s: pd.Series) -> pd.Series:
    return s.isna() | ((s >= 0) & np.isfinite(s))


def paired(a: pd.Series, b: pd.Series) -> pd.Series:
    return present(a) == present(b)


def needs(dependent: pd.Series, required: pd.Series) -> pd.Series:
    """`dependent` only together with `required` (address line 2 needs line 1)."""
    return ~present(dependent) | present(required)


def not_null_island(lat: pd.Series, lon: pd.Series) -> pd.Series:
    """(0, 0) is the usual placeholder of a missing position, not a place anyone delivers to."""
    return ~((lat == 0) & (lon == 0))


def not_swapped(lat: pd.Series, lon: pd.Series, country_code: pd.Series) -> pd.Series:
    """False where (lat, lon) lies outside the country's box and (lon, lat) lies inside it."""
    box = _boxes(country_code)
    as_given = _inside(box, lat.to_numpy(), lon.to_numpy())
    swapped = _inside(box, lon.to_numpy(), lat.to_numpy())
    return pd.Series(as_given | ~swapped, index=lat.index)


def window_order(opens: pd.Series, closes: pd.Series) -> pd.Series:
    """A window opens before it closes; windows with a missing or malformed end are not judged."""
    judged = (opens.notna() & fullmatch(opens, TIME_PATTERN)
              & closes.notna() & fullmatch(closes, TIME_PATTERN)).to_numpy(dtype=bool)
    in_order = np.ones(len(opens), dtype=bool)
    if judged.any():
        in_order[judged] = to_hms(opens[judged]).to_numpy() < to_hms(closes[judged]).to_numpy()
    return pd.Series(~judged | in_order, index=opens.index)


def to_hms(s: pd.Series) -> pd.Series:
    """HH:MM[:SS] as HH:MM:SS, so that times compare as strings."""
    return s.where(text_lengths(s) != 5, s + ":00")


def _boxes(country_code: pd.Series) -> np.ndarray:
    """One (lat_min, lat_max, lon_min, lon_max) row per value; NaN where no box is known."""
    table = np.array([*COUNTRY_BOXES.values(), (np.nan,) * 4], dtype="float64")
    index = {code: i for i, code in enumerate(COUNTRY_BOXES)}
    index.update({code.lower(): i for code, i in list(index.items())})
    positions = country_code.map(index).fillna(len(COUNTRY_BOXES)).to_numpy(dtype="int64")
    return table[positions]


def _inside(box: np.ndarray, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Inside the box; rows without a box or a position count as inside (nothing to judge)."""
    with np.errstate(invalid="ignore"):
        outside = ((lat < box[:, 0]) | (lat > box[:, 1]) | (lon < box[:, 2]) | (lon > box[:, 3]))
    return ~outside
