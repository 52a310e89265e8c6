"""Template v1 CSV rows of many JSON bodies at once, cut from their bytes with Arrow and numpy.

The row of a body is what `RowEncoder()(parse_payload(body))` writes, byte for byte: a string
cell is the string, a list or object cell the body's own JSON text, an integer its digits, a
boolean `true`/`false`, null an empty cell; a cell holding `,`, `"`, CR or LF is quoted with its
quotes doubled (the csv module's minimal quoting). Parsing and writing each body in Python cost
about 45 us a job; here a slice of bodies is validated as JSON by Arrow's reader, its top-level
fields are found by one pass of numpy over the bytes (quotes, nesting depth, top-level commas and
colons), and the cells are quoted and joined column by column.

Only bodies in the shape validation writes take this path: compact at the top level, every key a
template column named once, no backslash anywhere (so every quote is a real one and a string is
its bytes), integers in their shortest form, the reference the job's. Any other body comes back
as null, for the caller to write one by one (and to refuse, as before, what is not a job). One
difference is left: an integer of more than 4,300 digits inside a list, which json.loads refuses
(Python's limit on converting digits), is copied as it is.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from fleet_pipeline.fleet_api.template import TEMPLATE_V1_COLUMNS

# Bodies per slice: bounds the per-byte arrays (a few bytes of numpy per body byte); slices of
# about 2 MB were faster than slices of 16 MB (20,000 bodies) on the benchmark's day.
SLICE_ROWS = 2_000
_KEYS = pa.array([f'"{name}"'.encode() for name in TEMPLATE_V1_COLUMNS], pa.binary())
_COLUMNS = len(TEMPLATE_V1_COLUMNS)
_REFERENCE = TEMPLATE_V1_COLUMNS.index("reference_number")
_NO_FIELDS = pa.schema([])
# Integers as Python prints them (no -0, no leading zero); other numbers go one by one, and so do
# integers longer than Python converts (4,300 digits).
_INTEGER = r"^(?:0|-?[1-9][0-9]*)$"
_INTEGER_CHARS = 4300


def _byte_set(characters: str) -> np.ndarray:
    table = np.zeros(256, dtype=bool)
    table[list(characters.encode())] = True
    return table


# What a compact value starts and ends with: a string, list, object, number, true/false/null.
_VALUE_START = _byte_set('"[{-0123456789tfn')
_VALUE_END = _byte_set('"]}0123456789el')
_QUOTE, _BACKSLASH, _COMMA, _COLON = (ord(c) for c in '"\\,:')
_SPECIAL = bytes(c if chr(c) in '"\\{}[],:\r' else 0 for c in range(256))
_DEPTH_STEP = np.zeros(256, dtype=np.int8)
_DEPTH_STEP[[ord("{"), ord("[")]] = 1
_DEPTH_STEP[[ord("}"), ord("]")]] = -1


def template_rows(bodies: Sequence[str], references: Sequence[str]) -> pa.ChunkedArray:
    """Each body's template v1 row (CRLF included), or null where the body is not in the shape
    this path writes exactly (see the module's docstring). One chunk per slice of bodies: a
    day's rows are not copied again into one array."""
    return pa.chunked_array(
        [_slice_rows(bodies[start:start + SLICE_ROWS], references[start:start + SLICE_ROWS])
         for start in range(0, len(bodies), SLICE_ROWS)], pa.large_string())


def _nulls(n: int) -> pa.Array:
    return pa.nulls(n, pa.large_string())


def _slice_rows(bodies: Sequence[str], references: Sequence[str]) -> pa.Array:
    n = len(bodies)
    try:
        encoded = [body.encode("utf-8") for body in bodies]
    except UnicodeEncodeError:  # a lone surrogate: the writer one by one says so
        return _nulls(n)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    data = b"\n".join(encoded) + b"\n"
    if not _is_json_lines(data, n, int(lengths.max(initial=0))):
        return _nulls(n)
    return _rows(data, lengths, references)


def _is_json_lines(data: bytes, n: int, longest: int) -> bool:
    """Every body one JSON object on its own line (Arrow's reader, which refuses what json.loads
    refuses; a body it reads differently, an empty one or one holding a newline, changes the
    count of lines)."""
    options = pj.ReadOptions(block_size=max(1 << 22, 2 * longest + 2))
    try:
        table = pj.read_json(pa.BufferReader(data), read_options=options,
                             parse_options=pj.ParseOptions(explicit_schema=_NO_FIELDS,
                                                           unexpected_field_behavior="ignore"))
    except pa.ArrowException:
        return False
    return table.num_rows == n


def _rows(data: bytes, lengths: np.ndarray, references: Sequence[str]) -> pa.Array:
    n = len(lengths)
    b = np.frombuffer(data, dtype=np.uint8)
    starts = np.zeros(n, dtype=np.int64)
    np.cumsum(lengths[:-1] + 1, out=starts[1:])
    ends = starts + lengths  # one past the closing brace

    def row_of(positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(starts, positions, side="right") - 1

    # Every byte that matters to the structure or the quoting, found in one pass.
    special = np.flatnonzero(np.frombuffer(data.translate(_SPECIAL), dtype=np.uint8))
    char = b[special]

    slow = lengths < 2
    slow[row_of(special[char == _BACKSLASH])] = True
    first = np.minimum(starts, len(b) - 1)
    slow |= (b[first] != ord("{")) | (b[np.minimum(first + 1, len(b) - 1)] != _QUOTE)
    slow |= b[np.maximum(ends - 1, 0)] != ord("}")
    quotes = special[char == _QUOTE]  # every quote, for the quoting
    separators = special[(char == _COMMA) | (char == ord("\r"))]

    # Structure of the bodies left: with no backslash every quote opens or closes a string (a
    # bracket, comma or colon is outside strings when an even number of quotes comes before
    # it), and a valid body's quotes and brackets balance, so each body starts at depth 0.
    if slow.any():
        live = ~slow[row_of(special)]
        special, char = special[live], char[live]
    # (uint8 wraps around, the parity does not)
    outside = (np.cumsum((char == _QUOTE).view(np.uint8), dtype=np.uint8) & 1) == 0
    marks, mark = special[outside], char[outside]
    depth = np.cumsum(_DEPTH_STEP[mark], dtype=np.int32)
    top = depth == 1
    commas = marks[top & (mark == _COMMA)]
    colons = marks[top & (mark == _COLON)]
    del special, char, outside, marks, mark, depth, top

    # A field runs from after `{` or a top-level comma to before the next comma or the last `}`.
    kept = np.flatnonzero(~slow)
    if not len(kept):
        return _nulls(n)
    field_start = np.sort(np.concatenate([starts[kept] + 1, commas + 1]))
    field_end = np.sort(np.concatenate([commas, ends[kept] - 1]))
    if len(field_start) != len(colons) or not np.all(
            (field_start < colons) & (colons < field_end)):
        return _nulls(n)  # cannot happen for valid JSON; the one-by-one writer decides
    field_row = row_of(colons)
    value_start, value_end = colons + 1, field_end

    column = pc.index_in(_spans(b, field_start, colons), value_set=_KEYS)
    column = column.to_numpy(zero_copy_only=False)  # NaN for a key not in the template
    unknown = np.isnan(column)
    column = np.where(unknown, 0, column).astype(np.int64)
    first_byte, last_byte = b[value_start], b[np.maximum(value_end - 1, value_start)]
    bad = unknown | (value_end <= value_start) | ~_VALUE_START[first_byte] | ~_VALUE_END[last_byte]
    text = first_byte == _QUOTE
    # A string's cell is its content; null is no cell; anything else its JSON text.
    cell_start = np.where(text, value_start + 1, value_start)
    cell_end = np.maximum(np.where(text, value_end - 1, value_end), cell_start)
    number = (first_byte == ord("-")) | ((first_byte >= ord("0")) & (first_byte <= ord("9")))
    if number.any():
        numbers = np.flatnonzero(number)
        integer = pc.match_substring_regex(
            _spans(b, cell_start[numbers], cell_end[numbers]).cast(pa.large_string()), _INTEGER)
        bad[numbers[~integer.to_numpy(zero_copy_only=False)]] = True
        bad |= number & (cell_end - cell_start > _INTEGER_CHARS)
    null = first_byte == ord("n")
    slow[field_row[bad]] = True
    slot = field_row * _COLUMNS + column
    slow[np.flatnonzero(np.bincount(slot, minlength=n * _COLUMNS) > 1) // _COLUMNS] = True

    # The reference: a non-empty string, the job's own.
    where = np.full(n * _COLUMNS, -1, dtype=np.int64)
    where[slot] = np.arange(len(slot))
    where = where.reshape(n, _COLUMNS)
    reference = where[:, _REFERENCE]
    has = reference >= 0
    reference = reference[has]
    mine = np.zeros(n, dtype=bool)
    mine[has] = pc.equal(
        _spans(b, cell_start[reference], cell_end[reference]).cast(pa.large_string()),
        pa.array(references, pa.large_string()).filter(pa.array(has))
    ).to_numpy(zero_copy_only=False) & text[reference] & (cell_end > cell_start)[reference]
    slow |= ~mine

    # Quoting, on the bytes: every quote of the slice doubled, so that each cell is one span of
    # the new bytes. A string cell to quote (one holding a comma: with no backslash it holds no
    # quote nor newline) takes one of the doubled quotes around it; a list cell to quote (one
    # holding a quote, comma or CR) has the colon before it and the comma or brace after it
    # overwritten with quotes.
    quoted = (np.searchsorted(separators, cell_end) > np.searchsorted(separators, cell_start))
    quoted |= ~text & (np.searchsorted(quotes, cell_end) > np.searchsorted(quotes, cell_start))
    escaped = np.frombuffer(bytearray(data.replace(b'"', b'""')), dtype=np.uint8)
    start = cell_start + np.searchsorted(quotes, cell_start) - quoted
    end = cell_end + np.searchsorted(quotes, cell_end) + quoted
    wrap = quoted & ~text
    escaped[start[wrap]] = escaped[end[wrap] - 1] = _QUOTE
    cells = _span_pieces(escaped, start, end, pa.large_string())

    where[field_row[null], column[null]] = -1
    where[slow] = -1
    columns = [cells.take(pa.array(2 * where[:, k], mask=where[:, k] < 0))
               for k in range(_COLUMNS)]
    # The line ends with the last column, which may be empty.
    columns[-1] = pc.binary_join_element_wise(columns[-1], _text("\r\n"), _text(""),
                                              null_handling="replace", null_replacement="")
    rows = pc.binary_join_element_wise(*columns, _text(","), null_handling="replace",
                                       null_replacement="")
    _, offsets, content = rows.buffers()
    return pa.Array.from_buffers(pa.large_string(), n, [
        pa.py_buffer(np.packbits(~slow, bitorder="little")), offsets, content])


def _text(value: str) -> pa.Scalar:
    return pa.scalar(value, pa.large_string())


def _span_pieces(data: np.ndarray, start: np.ndarray, end: np.ndarray,
                 kind: pa.DataType = pa.large_binary()) -> pa.Array:
    """Binary pieces over `data` whose even ones are data[start[i]:end[i]] (spans in order,
    none overlapping), the odd ones what lies between: no byte copied."""
    offsets = np.empty(2 * len(start) + 1, dtype=np.int64)
    offsets[0:-1:2], offsets[1::2] = start, end
    offsets[-1] = end[-1] if len(end) else 0
    return pa.Array.from_buffers(kind, len(offsets) - 1,
                                 [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def _spans(data: np.ndarray, start: np.ndarray, end: np.ndarray) -> pa.Array:
    """data[start[i]:end[i]] for every i, as binary (spans in order, none overlapping)."""
    return _span_pieces(data, start, end).take(pa.array(np.arange(0, 2 * len(start), 2)))
