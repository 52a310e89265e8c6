"""The canonical JSON of every valid delivery's payload, built column by column with Arrow.

`payload_bodies` gives, for each row, exactly `canonical_json(job_payload(row, items))`: the same
keys, the same values, the same bytes, so the payload hashes of the ledger do not change. Building
a dict per job and serialising it cost about 40 s for a million deliveries; here every field is
turned into its JSON fragment (`"key":value`) for the whole column at once, the fragments of a
row are joined in key order (canonical JSON sorts keys), and only values that Arrow cannot format
like Python (floats outside 1e-4..1e10, text with control characters, labels) go through Python.

Frames that are not as the extraction's Parquet reads back (a number in a text column, text in
a number column) take the dict path, `build_payloads` + `canonical_json`, which handles anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fleet_pipeline.validation.csv_cells import row_pieces
from fleet_pipeline.validation.payloads import (
    JOB_COLUMNS,
    KILOGRAM,
    _kind,
    _labels,
    _phone,
    build_payloads,
    canonical_json,
    stop_columns,
)
from fleet_pipeline.validation.rules import PICKUP_AND_DROPOFF, SCHEDULED

# Rows per slice: bounds the memory of the intermediate columns (about 1 kB a row per column of
# fragments) and keeps every slice's strings far below Arrow's 2 GB per string array.
SLICE_ROWS = 20_000
_TEXT = pa.large_string()
# Arrow writes these floats as Python's repr does (shortest round-trip digits, fixed notation);
# outside, its notation differs (1e-05 vs 0.00001).
_ARROW_FLOAT_RANGE = (1e-4, 1e10)
# ASCII characters str.isspace() is true for: what the payload strips from phones, with . and -.
_ASCII_PHONE_SEPARATORS = r"[\t\n\x0b\x0c\r\x1c-\x1f .\-]"
_ESCAPED = r'[\x00-\x1f"\\\\]'
_encode_text = json.encoder.c_encode_basestring or json.encoder.py_encode_basestring  # type: ignore[attr-defined]
_encode_json = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                allow_nan=False).encode

# Keys of a stop and of an item in canonical (sorted) order: (key, canonical column or None).
_STOP_ORDER = (("address_line_1", "address_line_1"), ("address_line_2", "address_line_2"),
               ("contact_number", "contact_number"), ("customer_name", "customer_name"),
               ("delivery_windows", None), ("duration", "duration_minutes"),
               ("email", "email"), ("latitude", "latitude"), ("longitude", "longitude"),
               ("note", "note"), ("postal_code", "postal_code"))
_ITEM_ORDER = (("description", "description"), ("height", "height_cm"),
               ("item_type_id", "item_type_id"), ("length", "length_cm"),
               ("quantity", "quantity"), ("sku", "sku"), ("tracking_number", "tracking_number"),
               ("weight", "weight_kg"), ("weight_measure_id", None), ("width", "width_cm"))
_ITEM_SOURCE = ("reference_number", "line_number",
                *(column for _, column in _ITEM_ORDER if column is not None))


def payload_bodies(deliveries: pd.DataFrame, items: pd.DataFrame) -> pa.ChunkedArray:
    """`canonical_json(job_payload(row, its items in line order))` of every row, in row order."""
    return bodies_and_rows(deliveries, items)[0]


def bodies_and_rows(deliveries: pd.DataFrame, items: pd.DataFrame
                    ) -> tuple[pa.ChunkedArray, pa.ChunkedArray]:
    """Every row's payload body (as `payload_bodies`) and its template v1 CSV row, CRLF included
    (as the client's builder writes the body's row: see csv_cells), or null where that row is
    left to the cut to write."""
    built = list(sliced_bodies_and_rows(deliveries, items))
    return (pa.chunked_array([body for body, _ in built], pa.string()),
            pa.chunked_array([row for _, row in built], pa.string()))


def sliced_bodies_and_rows(deliveries: pd.DataFrame, items: pd.DataFrame
                           ) -> Iterator[tuple[pa.Array, pa.Array]]:
    """`bodies_and_rows` slice after slice of SLICE_ROWS rows, in row order: a caller writing
    each slice away never holds the day's bodies."""
    build = slice_builder(deliveries, items)
    return (build(start) for start in slice_starts(len(deliveries)))


def slice_starts(rows: int) -> range:
    """The first row of every slice of a frame of `rows` rows."""
    return range(0, rows, SLICE_ROWS)


def slice_builder(deliveries: pd.DataFrame, items: pd.DataFrame
                  ) -> Callable[[int], tuple[pa.Array, pa.Array]]:
    """A function giving the bodies and CSV rows (as `bodies_and_rows`) of the slice of
    SLICE_ROWS deliveries that starts at a row (slice_starts). It only reads the frames: slices
    can be built in any order, on several threads at once."""
    columnar = _columnar(deliveries, _delivery_source()) and _columnar(items, _ITEM_SOURCE)
    lines = None
    # A lone surrogate, a year before 1000, an integer beyond int64: the dict path takes the
    # slice (or says what is wrong with it).
    unusual = contextlib.suppress(pa.ArrowException, UnicodeError, _Unusual)
    if columnar:
        with unusual:
            lines = _Lines(items, deliveries["reference_number"])

    def build(start: int) -> tuple[pa.Array, pa.Array]:
        part = deliveries.iloc[start:start + SLICE_ROWS]
        built = None
        if lines is not None:
            with unusual:
                built = _bodies(part, lines, start)
        return built or _by_dicts(part, items[items["reference_number"].isin(
            part["reference_number"])])

    return build


class _Unusual(Exception):
    """A value the columnar path does not format like Python."""


def payload_digests(bodies: pa.Array | pa.ChunkedArray) -> pa.Array:
    """`payload_digest` (sha256 hex of the UTF-8 body) of every body."""
    sha256 = hashlib.sha256
    return pa.array([sha256(body).hexdigest() for body in _utf8_bytes(bodies)], pa.string())


def _utf8_bytes(bodies: pa.Array | pa.ChunkedArray):
    """Each body's UTF-8 bytes, read from the Arrow buffers (no str decoded and encoded again)."""
    chunks = bodies.chunks if isinstance(bodies, pa.ChunkedArray) else [bodies]
    for chunk in chunks:
        if chunk.null_count:
            raise ValueError("a payload body is missing")
        chunk = chunk.cast(pa.large_string())
        offsets = np.frombuffer(chunk.buffers()[1], dtype=np.int64)[
            chunk.offset:chunk.offset + len(chunk) + 1].tolist()
        data = memoryview(chunk.buffers()[2] or b"")
        for start, end in zip(offsets[:-1], offsets[1:], strict=True):
            yield data[start:end]


def _by_dicts(deliveries: pd.DataFrame, items: pd.DataFrame) -> tuple[pa.Array, pa.Array]:
    """Bodies through the dict path; their rows are left to the cut."""
    bodies = [canonical_json(p) for p in build_payloads(deliveries, items)]
    return pa.array(bodies, pa.string()), pa.nulls(len(bodies), pa.string())


def _delivery_source() -> tuple[str, ...]:
    return (*JOB_COLUMNS, *stop_columns("pickup"), *stop_columns("dropoff"))


def _columnar(frame: pd.DataFrame, names: tuple[str, ...]) -> bool:
    """Every column in a dtype the columnar path formats exactly as `_clean` does."""
    for name in names:
        if name == "line_number":
            continue  # only sorted on
        s = frame[name]
        kind = _kind(name)
        if kind == "number":
            ok = pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype)
        elif kind == "timestamp":
            ok = pd.api.types.is_datetime64_dtype(s.dtype)
        else:
            ok = s.dtype == object and pd.api.types.infer_dtype(s, skipna=True) in (
                "string", "empty")
        if not ok:
            return False
    return True


class _Lines:
    """The item lines in (reference, line number) order, and where each delivery's lines are."""

    def __init__(self, items: pd.DataFrame, references: pd.Series) -> None:
        table = pa.table({name: _arrow(items[name]) for name in _ITEM_SOURCE})
        order = pc.sort_indices(table, sort_keys=[("reference_number", "ascending", "at_end"),
                                                  ("line_number", "ascending", "at_end")])
        self.table = table.take(order).combine_chunks()
        # Per delivery: the first of its lines and how many it has (0: none).
        self.first = self.count = np.zeros(len(references), dtype=np.int64)
        if not self.table.num_rows:
            return
        runs = pc.run_end_encode(self.table["reference_number"].chunk(0))
        ends = runs.run_ends.to_numpy().astype(np.int64)
        starts = np.concatenate([[0], ends[:-1]])
        run = pc.fill_null(pc.index_in(_arrow(references), value_set=runs.values), -1)
        run = run.to_numpy()
        safe = np.maximum(run, 0)
        self.first = np.where(run >= 0, starts[safe], 0)
        self.count = np.where(run >= 0, ends[safe] - starts[safe], 0)

    def of(self, start: int, stop: int) -> tuple[pa.Table, np.ndarray]:
        """The lines of deliveries start..stop, delivery after delivery, and their counts."""
        counts = self.count[start:stop]
        total = int(counts.sum())
        first = np.repeat(self.first[start:stop], counts)
        within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
        return self.table.take(pa.array(first + within)), counts


def _arrow(s: pd.Series) -> pa.Array:
    if s.dtype == object:
        return pa.array(s.to_numpy(), type=_TEXT, from_pandas=True)
    return pa.array(s, from_pandas=True)


# A piece of a row: a constant or a column's value, and the rows it appears on (None: all; a
# column's value appears only where it is not null).
Piece = tuple["str | pa.Array", "np.ndarray | None"]


def _bodies(deliveries: pd.DataFrame, lines: _Lines, start: int) -> tuple[pa.Array, pa.Array]:
    """The bodies and CSV rows of one slice of deliveries, the slice starting at row `start`."""
    n = len(deliveries)
    column = {name: _arrow(deliveries[name]) for name in _delivery_source()}
    two_stops = _mask(pc.equal(pc.cast(column["job_type_id"], pa.float64()), PICKUP_AND_DROPOFF))
    scheduled = _mask(pc.equal(pc.cast(column["schedule_type_id"], pa.float64()), SCHEDULED))
    reference = _text(column["reference_number"])
    if reference.null_count:
        raise _Unusual("a payload without a reference")
    # The values of the top-level fields: text as it is, anything else as its JSON text; the
    # body and the CSV row are both made of them.
    value = {
        "delivery_driver_id": _text(column["delivery_driver_id"]),
        "items": _items(lines, start, n),
        "job_type_id": _number(column["job_type_id"]),
        "labels": _labels_json(column["labels"]),
        "reference_number": reference,
        "schedule_type_id": _number(column["schedule_type_id"]),
        "stops": _join(n, [("[", None),
                           *((part, two_stops if mask is None else mask & two_stops)
                             for part, mask in _object(n, _stop_fields(column, "pickup"))),
                           (",", two_stops),
                           *_object(n, _stop_fields(column, "dropoff")),
                           ("]", None)]),
    }
    driver_missing = ~_valid(value["delivery_driver_id"])
    value["delivery_driver_name"] = _only(_text(column["delivery_driver_name"]), driver_missing)
    value["scheduled_delivery_ts"] = _only(_timestamp(column["scheduled_delivery_ts"]), scheduled)
    fields = [
        _text_field("delivery_driver_id", value["delivery_driver_id"]),
        _text_field("delivery_driver_name", value["delivery_driver_name"]),
        _json_field("items", value["items"]),
        _json_field("job_type_id", _always(value["job_type_id"])),
        _json_field("labels", value["labels"]),
        _text_field("reference_number", reference),
        _json_field("schedule_type_id", _always(value["schedule_type_id"])),
        _text_field("scheduled_delivery_ts", value["scheduled_delivery_ts"]),
        _json_field("stops", value["stops"]),
    ]
    body = _join(n, _object(n, fields)).cast(pa.string())
    pieces, left = row_pieces(n, value)
    return body, _only(_join(n, pieces), ~left).cast(pa.string())


def _only(values: pa.Array, where: np.ndarray) -> pa.Array:
    """`values` on the rows `where`, null elsewhere."""
    if where.all():
        return values
    return pc.if_else(pa.array(where), values, pa.scalar(None, values.type))


# A field of an object: its parts (constants, columns, or constants shown on some rows only) and
# the rows it is present on.
Field = tuple[list, np.ndarray]


def _text_field(key: str, text: pa.Array, where: np.ndarray | None = None) -> Field:
    return _field([f'"{key}":"', _escaped(text), '"'], where)


def _json_field(key: str, json_values: pa.Array) -> Field:
    return _field([f'"{key}":', json_values])


def _field(parts: list, where: np.ndarray | None = None) -> Field:
    present = where if where is not None else None
    for part in parts:
        if isinstance(part, pa.Array):
            valid = _valid(part)
            present = valid if present is None else present & valid
    return parts, present


def _object(n: int, fields: list[Field]) -> list[Piece]:
    """`{`, the present fields comma-separated, `}`."""
    pieces: list[Piece] = [("{", None)]
    before = np.zeros(n, dtype=bool)
    for parts, present in fields:
        pieces.append((",", present & before))
        for part in parts:
            if isinstance(part, tuple):
                pieces.append((part[0], part[1] & present))
            else:
                pieces.append((part, present))
        before = before | present
    pieces.append(("}", None))
    return pieces


def _join(n: int, pieces: list[Piece]) -> pa.Array:
    """Per row, its pieces concatenated: one gather of every piece in row order, one join."""
    if n == 0:
        return pa.array([], _TEXT)
    constants: dict[str, int] = {}
    for value, _ in pieces:
        if isinstance(value, str):
            constants.setdefault(value, len(constants))
    index = np.empty((n, len(pieces)), dtype=np.int64)
    present = np.empty((n, len(pieces)), dtype=bool)
    rows = np.arange(n, dtype=np.int64)
    arrays: list[pa.Array] = []
    start = len(constants)
    for position, (value, where) in enumerate(pieces):
        if isinstance(value, str):
            index[:, position] = constants[value]
            present[:, position] = True if where is None else where
        else:
            index[:, position] = rows + start
            valid = _valid(value)
            present[:, position] = valid if where is None else valid & where
            arrays.append(value.cast(_TEXT))
            start += n
    values = pa.concat_arrays([pa.array(list(constants), _TEXT), *arrays])
    taken = values.take(pa.array(index[present]))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(present.sum(axis=1), out=offsets[1:])
    return pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), taken),
                          pa.scalar("", _TEXT))


def _stop_fields(column: dict[str, pa.Array], prefix: str) -> list[Field]:
    fields = []
    for key, name in _STOP_ORDER:
        if name is None:
            opens = _text(column[f"{prefix}_window_from"])
            closes = _text(column[f"{prefix}_window_to"])
            fields.append(_field([f'"{key}":[{{"time_from":"', _escaped(opens),
                                  (":00", _short(opens)), '","time_to":"', _escaped(closes),
                                  (":00", _short(closes)), '"}]']))
        else:
            fields.append(_value_field(key, name, column[f"{prefix}_{name}"]))
    return fields


def _items(lines: _Lines, start: int, n: int) -> pa.Array:
    """The JSON array of each delivery's lines in line order (null: no lines)."""
    mine, counts = lines.of(start, start + n)
    fields = []
    for key, name in _ITEM_ORDER:
        if name is None:  # the weight's unit goes with a weight
            fields.append(_field([f'"{key}":{KILOGRAM}'], _valid(mine["weight_kg"].chunk(0))))
        else:
            fields.append(_value_field(key, name, mine[name].chunk(0)))
    line_json = _join(mine.num_rows, _object(mine.num_rows, fields))
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    joined = pc.binary_join(pa.LargeListArray.from_arrays(pa.array(offsets), line_json),
                            pa.scalar(",", _TEXT))
    some = counts > 0
    return _only(_join(n, [("[", some), (joined, some), ("]", some)]), some)


def _value_field(key: str, name: str, values: pa.Array) -> Field:
    """A column's values as the field `key`, absent where `_clean` gives None."""
    kind = _kind(name)
    if kind == "number":
        return _json_field(key, _number(values))
    text = _text(values)
    if kind == "phone":
        text = _phone_text(text)
    if kind == "time":
        return _field([f'"{key}":"', _escaped(text), (":00", _short(text)), '"'])
    return _text_field(key, text)


def _valid(values: pa.Array) -> np.ndarray:
    if values.null_count == 0:
        return np.ones(len(values), dtype=bool)
    return pc.is_valid(values).to_numpy(zero_copy_only=False)


def _mask(values: pa.Array) -> np.ndarray:
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False)


def _text(values: pa.Array) -> pa.Array:
    """Text with "" as missing."""
    values = values.cast(_TEXT)
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, _TEXT), values)


def _escaped(text: pa.Array) -> pa.Array:
    """The inside of each value's JSON string (json.dumps(ensure_ascii=False) escapes)."""
    data = text.buffers()[2]
    if data is None:
        return text
    raw = np.frombuffer(data, dtype=np.uint8)
    if not ((raw < 0x20).any() or (raw == ord('"')).any() or (raw == ord("\\")).any()):
        return text
    special = _mask(pc.match_substring_regex(text, _ESCAPED))
    return _patched(text, special, text, lambda value: _encode_text(value)[1:-1])


def _short(text: pa.Array) -> np.ndarray:
    """HH:MM, which payloads._time completes with :00."""
    return _mask(pc.equal(pc.utf8_length(text), 5))


def _phone_text(text: pa.Array) -> pa.Array:
    stripped = pc.replace_substring_regex(text, _ASCII_PHONE_SEPARATORS, "")
    # Unicode spaces (U+00A0, U+2009, ...) are separators too: those numbers go through Python.
    non_ascii = _mask(pc.invert(pc.string_is_ascii(text)))
    return _patched(stripped, non_ascii, text, _phone)


def _timestamp(values: pa.Array) -> pa.Array:
    seconds = values.to_numpy(zero_copy_only=False).astype("datetime64[s]")  # floors, like Python
    years = seconds[~np.isnat(seconds)].astype("datetime64[Y]").astype(np.int64) + 1970
    if len(years) and (years.min() < 1000 or years.max() > 9999):
        raise _Unusual("a year Python writes with other than four digits")
    stamps = pa.array(seconds, pa.timestamp("s"), from_pandas=True)
    return pc.strftime(stamps, format="%Y-%m-%d %H:%M:%S").cast(_TEXT)


def _labels_json(text: pa.Array) -> pa.Array:
    """payloads._labels as JSON: split on commas, each label stripped, empty ones dropped."""
    text = _text(text)
    n = len(text)
    labels = pc.list_flatten(pc.split_pattern(text, ","))
    owners = pc.list_parent_indices(pc.split_pattern(text, ",")).to_numpy()
    labels = pc.ascii_trim_whitespace(labels)
    kept = _mask(pc.not_equal(labels, ""))
    counts = np.bincount(owners[kept], minlength=n)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    listed = pa.LargeListArray.from_arrays(pa.array(offsets), _escaped(labels.filter(kept)))
    joined = pc.binary_join(listed, pa.scalar('","', _TEXT))
    some = counts > 0
    json_labels = _join(n, [('["', some), (joined, some), ('"]', some)])
    json_labels = pc.if_else(pa.array(some), json_labels, pa.scalar(None, _TEXT))
    # str.strip() also strips Unicode spaces and \x1c-\x1f, which Arrow's ASCII trim keeps.
    python = _mask(pc.match_substring_regex(text, r"[^\x00-\x1b\x20-\x7f]"))
    return _patched(json_labels, python, text, _python_labels)


def _python_labels(value: str) -> str | None:
    labels = _labels(value)
    return None if labels is None else _encode_json(labels)


def _number(values: pa.Array) -> pa.Array:
    """Numbers as `_clean` leaves them, in JSON: whole values as integers, others as repr."""
    if pa.types.is_integer(values.type):
        return values.cast(pa.int64()).cast(_TEXT)
    numbers = values.cast(pa.float64()).to_numpy(zero_copy_only=False)
    with np.errstate(invalid="ignore"):
        whole = np.mod(numbers, 1) == 0
        size = np.abs(numbers)
        small_whole = whole & (size < 2**63)
        arrow_float = ~whole & (size >= _ARROW_FLOAT_RANGE[0]) & (size < _ARROW_FLOAT_RANGE[1])
    missing = np.isnan(numbers)
    text = pc.if_else(small_whole,
                      pa.array(np.where(small_whole, numbers, 0).astype(np.int64)).cast(_TEXT),
                      pa.array(numbers).cast(_TEXT))
    text = pc.if_else(missing, pa.scalar(None, _TEXT), text)
    python = ~(small_whole | arrow_float | missing)
    return _patched(text, python, pa.array(numbers), _python_number)


def _python_number(value: float) -> str:
    if value.is_integer():
        return str(int(value))
    return _encode_json(value)  # raises on inf, as canonical_json does


def _patched(result: pa.Array, where: np.ndarray, source: pa.Array,
             form: Callable) -> pa.Array:
    """`result` with the rows `where` replaced by `form` of `source`'s value (Python)."""
    positions = np.flatnonzero(where)
    if not len(positions):
        return result
    values = result.to_pylist()
    originals = source.take(pa.array(positions)).to_pylist()
    for position, original in zip(positions.tolist(), originals, strict=True):
        values[position] = form(original)
    return pa.array(values, _TEXT)


def _always(json_values: pa.Array) -> pa.Array:
    """A key the payload always carries: null when missing."""
    return pc.fill_null(json_values, pa.scalar("null", _TEXT))
