"""A payload's template v1 CSV row, built from the same column values as its JSON body.

The row is what the client's builder writes for the body (`RowEncoder()(parse_payload(body))`),
byte for byte: the template's columns in order, a text field as its text, a number as its JSON
digits, a list (`labels`, `stops`, `items`) as its JSON text, a missing field as an empty cell;
a cell holding `,` or `"` is quoted with its quotes doubled (the csv module's minimal quoting).
Building the row here, beside the body, spares the cut parsing every body again: it takes this
row when the job it sends has the body validation wrote.

A text field holding a control character (CR and LF among them) leaves its row to the cut,
which writes such rows one by one.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fleet_pipeline.fleet_api.template import TEMPLATE_V1_COLUMNS

TEXT_FIELDS = frozenset({"reference_number", "delivery_driver_id", "delivery_driver_name",
                         "scheduled_delivery_ts"})
LIST_FIELDS = frozenset({"labels", "stops", "items"})
NUMBER_FIELDS = frozenset({"job_type_id", "schedule_type_id"})
_TEXT = pa.large_string()
_CONTROL = np.arange(256) < 0x20
_TO_QUOTE = np.zeros(256, dtype=bool)
_TO_QUOTE[[ord(","), ord('"')]] = True

# A piece of a row as bodies._join takes it: a constant or a column, and the rows it is on.
Piece = tuple["str | pa.Array", "np.ndarray | None"]


def row_pieces(n: int, values: dict[str, pa.Array]) -> tuple[list[Piece], np.ndarray]:
    """The pieces of `n` rows' template v1 lines (CRLF included) from the top-level values of
    their payloads (text as it is, numbers and lists as JSON text, null where absent), and the
    rows left to the cut."""
    unknown = set(values) - TEXT_FIELDS - LIST_FIELDS - NUMBER_FIELDS
    if unknown or not set(values) <= set(TEMPLATE_V1_COLUMNS):
        raise ValueError(f"fields without a cell rule: {sorted(unknown)}")
    left = np.zeros(n, dtype=bool)
    pieces: list[Piece] = []
    for position, name in enumerate(TEMPLATE_V1_COLUMNS):
        if position:
            pieces.append((",", None))
        value = values.get(name)
        if value is None:
            continue
        if name in TEXT_FIELDS:
            left |= _control(value)
        pieces.append((_cell(value) if name in TEXT_FIELDS | LIST_FIELDS else value, None))
    pieces.append(("\r\n", None))
    return pieces, left


def _bytes(text: pa.Array) -> np.ndarray:
    data = text.buffers()[2]
    return np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)


def _control(text: pa.Array) -> np.ndarray:
    """The texts holding a control character."""
    if not _CONTROL[_bytes(text)].any():
        return np.zeros(len(text), dtype=bool)
    control = pc.fill_null(pc.match_substring_regex(text, r"[\x00-\x1f]"), False)
    return control.to_numpy(zero_copy_only=False)


def _cell(text: pa.Array) -> pa.Array:
    """Each text as a cell: quoted, its quotes doubled, when it holds `,` or `"` (JSON text
    holds no CR nor LF; text holding them is left to the cut)."""
    text = text.cast(_TEXT)
    if not _TO_QUOTE[_bytes(text)].any():
        return text
    to_quote = pc.fill_null(pc.match_substring_regex(text, '[,"]'), False)
    quoted = pc.binary_join_element_wise(
        pa.scalar('"', _TEXT), pc.replace_substring(text, '"', '""'), pa.scalar('"', _TEXT),
        pa.scalar("", _TEXT))
    return pc.if_else(to_quote, quoted, text)
