"""Masking of personal data for logs and metadata previews.

Names, phones, emails and addresses never leave the pipeline's own stores unmasked. Masking keeps
just enough shape (length class, first character, domain) for an analyst to spot a defect.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

import pandas as pd

# Column-name fragments that mark personal data in the canonical record and in payloads.
PERSONAL_MARKERS = (
    "name",
    "phone",
    "contact",
    "email",
    "address",
    "postal",
    "note",
    "latitude",
    "longitude",
)

_EMAIL = re.compile(r"^[^@]*@(.+)$")


def is_personal(column: str) -> bool:
    lowered = column.lower()
    if lowered in {"reference_number", "delivery_driver_id"}:
        return False
    return any(marker in lowered for marker in PERSONAL_MARKERS)


def mask_value(value: object) -> object:
    """Mask one value: keep None/NaN as they are so that missing data stays visible."""
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return value
    if isinstance(value, int | float):
        return "<number>"
    text = str(value)
    if not text:
        return text
    match = _EMAIL.match(text)
    if match:
        return f"***@{match.group(1)}"
    if len(text) <= 2:
        return "*" * len(text)
    return f"{text[0]}***({len(text)})"


def mask_frame(frame: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy of `frame` with every personal column (or the ones named) masked."""
    masked = frame.copy()
    targets = list(columns) if columns is not None else [c for c in frame if is_personal(c)]
    for column in targets:
        if column in masked:
            masked[column] = masked[column].map(mask_value).astype(object)
    return masked


def mask_mapping(record: dict) -> dict:
    """Mask a dict (for example a payload) recursively by key name."""
    out: dict = {}
    for key, value in record.items():
        if isinstance(value, dict):
            out[key] = mask_mapping(value)
        elif isinstance(value, list):
            out[key] = [mask_mapping(v) if isinstance(v, dict) else v for v in value]
        elif is_personal(str(key)):
            out[key] = mask_value(value)
        else:
            out[key] = value
    return out
