"""The columnar payload bodies are, byte for byte, the canonical JSON of the per-row payloads.

`payload_bodies` replaced `canonical_json(job_payload(...))` row by row for speed; a difference
of one byte would change every payload hash and make the ledger see every job as changed, so
these tests compare the two on generated data meant to hit every formatting rule.
"""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validation_rows import deliveries_frame, delivery, item, items_frame, pickup_delivery

from fleet_pipeline.validation import bodies
from fleet_pipeline.validation.bodies import payload_bodies, payload_digests
from fleet_pipeline.validation.payloads import canonical_json, job_payload, payload_digest

# Text that needs JSON escaping, non-ASCII, Unicode spaces, and the empty string (= missing).
TEXT = st.one_of(
    st.none(), st.just(""),
    st.text(alphabet=st.sampled_from('aZ 9,."\\\n\t\x00\x1f\x7féü🚚\u00a0\u2009-'),
            max_size=12),
)
PHONE = st.one_of(st.none(), st.just(""), st.from_regex(r"\+?[0-9 .\-\u00a0()]{0,14}",
                                                         fullmatch=True))
TIME = st.one_of(st.none(), st.just(""), st.sampled_from(["08:00", "8:00", "12:00:00", 'x"']))
LABELS = st.one_of(st.none(), st.just(""), st.sampled_from(
    [" , ", "a", "fragile, express", ' x ,"y", ', "\u2009a\u00a0,b", "\x0ba\x0c,\x1cb\x1f"]))
# Floats of every magnitude: the columnar path formats some with Arrow, the rest with Python.
FLOAT = st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False),
                  st.sampled_from([0.0, -0.0, 1e-5, 9.99e-5, 1e-4, 12.5, 4.0, 1e10, 1e10 + 0.5,
                                   123456789012.25, 2.0**63, 1e22, -26.2385]))
WHOLE = st.one_of(st.none(), st.integers(min_value=-(2**63), max_value=2**63 - 1))
STAMP = st.one_of(st.none(), st.datetimes(min_value=datetime(1000, 1, 1),
                                          max_value=datetime(9999, 12, 31)))


@st.composite
def stop(draw, prefix: str) -> dict:
    return {
        f"{prefix}_customer_name": draw(TEXT), f"{prefix}_address_line_1": draw(TEXT),
        f"{prefix}_address_line_2": draw(TEXT), f"{prefix}_postal_code": draw(TEXT),
        f"{prefix}_latitude": draw(FLOAT), f"{prefix}_longitude": draw(FLOAT),
        f"{prefix}_contact_number": draw(PHONE), f"{prefix}_email": draw(TEXT),
        f"{prefix}_note": draw(TEXT), f"{prefix}_window_from": draw(TIME),
        f"{prefix}_window_to": draw(TIME), f"{prefix}_duration_minutes": draw(WHOLE),
    }


@st.composite
def day(draw) -> tuple[list[dict], list[dict]]:
    count = draw(st.integers(min_value=0, max_value=8))
    references = draw(st.lists(st.text(alphabet="AB-1é", min_size=1, max_size=4),
                               min_size=count, max_size=count))
    rows = []
    for reference in references:
        rows.append(delivery(
            reference, job_type_id=draw(st.sampled_from([1, 3])),
            schedule_type_id=draw(st.sampled_from([2, 3])),
            scheduled_delivery_ts=draw(STAMP), labels=draw(LABELS),
            delivery_driver_id=draw(TEXT), delivery_driver_name=draw(TEXT),
            **draw(stop("pickup")), **draw(stop("dropoff"))))
    lines = []
    for number in range(draw(st.integers(min_value=0, max_value=10))):
        lines.append(item(
            draw(st.sampled_from(references)) if references and draw(st.booleans())
            else "ORPHAN", draw(st.integers(min_value=1, max_value=5)) * 100 + number,
            description=draw(TEXT), quantity=draw(FLOAT), weight_kg=draw(FLOAT),
            item_type_id=draw(WHOLE), sku=draw(TEXT), tracking_number=draw(TEXT),
            length_cm=draw(FLOAT), width_cm=draw(FLOAT), height_cm=draw(FLOAT)))
    return rows, lines


def row_by_row(rows: list[dict], lines: list[dict]) -> list[str]:
    """The definition: canonical_json of job_payload, each row with its lines in line order."""
    deliveries, items = deliveries_frame(rows), items_frame(lines)
    records = items.to_dict("records")
    return [canonical_json(job_payload(row, sorted(
        (line for line in records if line["reference_number"] == row["reference_number"]),
        key=lambda line: line["line_number"])))
        for row in deliveries.to_dict("records")]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day())
def test_columnar_bodies_equal_the_canonical_json_of_each_payload(generated):
    rows, lines = generated
    built = payload_bodies(deliveries_frame(rows), items_frame(lines))
    assert built.type == pa.string()
    assert built.to_pylist() == row_by_row(rows, lines)


@settings(max_examples=50, deadline=None)
@given(day())
def test_digests_are_the_sha256_of_each_body(generated):
    rows, lines = generated
    built = payload_bodies(deliveries_frame(rows), items_frame(lines))
    assert payload_digests(built).to_pylist() == [payload_digest(b) for b in built.to_pylist()]


def test_bodies_are_built_in_slices_without_mixing_items(monkeypatch):
    monkeypatch.setattr(bodies, "SLICE_ROWS", 2)
    rows = [delivery(f"S-{n}") if n % 2 else pickup_delivery(f"S-{n}") for n in range(7)]
    lines = [item(f"S-{n}", line) for n in range(7) for line in (2, 1)][::-1]
    built = payload_bodies(deliveries_frame(rows), items_frame(lines))
    assert built.num_chunks == 4
    assert built.to_pylist() == row_by_row(rows, lines)


def test_the_columnar_path_is_taken_for_frames_read_from_parquet(monkeypatch):
    def refuse(*args):
        raise AssertionError("the dict path was taken")

    monkeypatch.setattr(bodies, "_by_dicts", refuse)
    rows = [delivery("C-1"), pickup_delivery("C-2", dropoff_note='say "hi"\n')]
    assert payload_bodies(deliveries_frame(rows), items_frame([item("C-2")])).to_pylist() == \
        row_by_row(rows, [item("C-2")])


def test_frames_of_other_dtypes_take_the_dict_path():
    rows = [delivery("O-1"), delivery("O-2", dropoff_duration_minutes=None)]
    frame = deliveries_frame(rows)
    hostile = frame.astype(object)  # numbers as Python objects in object columns
    assert payload_bodies(hostile, items_frame([])).to_pylist() == row_by_row(rows, [])


def test_an_infinite_number_is_refused_as_canonical_json_refuses_it():
    rows = [delivery("I-1", dropoff_latitude=float("inf"))]
    with pytest.raises(ValueError):
        payload_bodies(deliveries_frame(rows), items_frame([]))


def test_nothing_to_build():
    built = payload_bodies(deliveries_frame([]), items_frame([]))
    assert built.to_pylist() == []
    assert payload_digests(built).to_pylist() == []
