"""The CSV row validation builds beside each body is, byte for byte, the row the client's builder
writes for that body (`RowEncoder()(parse_payload(body))`): the cut sends these rows instead of
writing its own, so one byte of difference would change the files sent."""

from __future__ import annotations

from datetime import datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from test_validation_bodies import day, row_by_row
from validation_rows import DAY, deliveries_frame, delivery, item, items_frame, pickup_delivery

from fleet_pipeline.fleet_api.upload import RowEncoder, parse_payload
from fleet_pipeline.validation import bodies
from fleet_pipeline.validation.bodies import bodies_and_rows, payload_bodies, payload_digests
from fleet_pipeline.validation.partition import (
    VALID_JOBS_SCHEMA,
    valid_jobs_slices,
    valid_jobs_table,
    write_outcome,
)
from fleet_pipeline.validation.payloads import build_payloads, canonical_json
from fleet_pipeline.validation.settings import ValidationSettings
from fleet_pipeline.validation.split import split

# The evening before the deliveries, when the daily run validates them.
NOW = datetime(2026, 3, 9, 18, 0)


def builders_row(body: str) -> str:
    return RowEncoder()(parse_payload(body)).decode("utf-8")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(day())
def test_each_row_is_the_builders_row_of_its_body(generated):
    rows, lines = generated
    deliveries, items = deliveries_frame(rows), items_frame(lines)
    built, csv_rows = bodies_and_rows(deliveries, items)
    assert csv_rows.type == pa.string()
    assert built.to_pylist() == payload_bodies(deliveries, items).to_pylist()
    for body, row in zip(built.to_pylist(), csv_rows.to_pylist(), strict=True):
        if row is not None:
            assert row == builders_row(body)


def test_quotes_commas_and_non_ascii_are_written_here_and_control_characters_left_to_the_cut():
    rows = [delivery("R-1", delivery_driver_id=None, delivery_driver_name='Ann "A", ü',
                     labels='fragile, "x"', dropoff_note='say "hi"\n, ok'),
            pickup_delivery("R,2", pickup_customer_name="Zoë, Ltd"),
            delivery("R-3", delivery_driver_name="Line\r\nbreak", delivery_driver_id=None),
            delivery("R-4", delivery_driver_id="D\t7")]
    lines = [item("R-1", description='2" pipe, steel'), item("R-1", 2), item("R,2")]
    built, csv_rows = bodies_and_rows(deliveries_frame(rows), items_frame(lines))
    got = csv_rows.to_pylist()
    assert got[2] is None and got[3] is None
    for body, row in zip(built.to_pylist()[:2], got[:2], strict=True):
        assert row == builders_row(body)
    assert got[0].startswith('R-1,3,,"Ann ""A"", ü",')
    assert got[1].startswith('"R,2",1,')


def test_rows_are_built_in_slices_like_the_bodies(monkeypatch):
    monkeypatch.setattr(bodies, "SLICE_ROWS", 2)
    rows = [delivery(f"S-{n}") if n % 2 else pickup_delivery(f"S-{n}") for n in range(7)]
    lines = [item(f"S-{n}", line) for n in range(7) for line in (2, 1)][::-1]
    built, csv_rows = bodies_and_rows(deliveries_frame(rows), items_frame(lines))
    assert csv_rows.num_chunks == 4
    assert csv_rows.to_pylist() == [builders_row(body) for body in built.to_pylist()]


def test_the_dict_path_leaves_every_row_to_the_cut():
    frame = deliveries_frame([delivery("O-1")]).astype(object)
    built, csv_rows = bodies_and_rows(frame, items_frame([]))
    assert len(built) == 1 and csv_rows.to_pylist() == [None]


def test_a_slice_the_columnar_path_cannot_take_goes_through_the_dict_path_alone(monkeypatch):
    monkeypatch.setattr(bodies, "SLICE_ROWS", 2)
    rows = [delivery(f"Y-{n}") for n in range(6)]
    rows[3]["scheduled_delivery_ts"] = datetime(999, 1, 2, 3, 4)  # Python writes 0999
    lines = [item(f"Y-{n}") for n in range(6)]
    deliveries, items = deliveries_frame(rows), items_frame(lines)
    sliced = list(bodies.sliced_bodies_and_rows(deliveries, items))
    assert [len(b) for b, _ in sliced] == [2, 2, 2]
    built = [body for b, _ in sliced for body in b.to_pylist()]
    # What the whole day got before slices fell back alone: the dict path's bodies.
    assert built == [canonical_json(p) for p in build_payloads(deliveries, items)]
    assert built[:3] + built[4:] == (row_by_row(rows, lines)[:3] + row_by_row(rows, lines)[4:])
    csv_rows = [row for _, r in sliced for row in r.to_pylist()]
    assert csv_rows[2] is None and csv_rows[3] is None  # the dict path's slice: the cut's
    assert [row for n, row in enumerate(csv_rows) if n not in (2, 3)] == \
        [builders_row(body) for n, body in enumerate(built) if n not in (2, 3)]


@pytest.mark.parametrize("workers", [1, 2, 4])
def test_valid_jobs_written_slice_by_slice_are_the_whole_table(monkeypatch, tmp_path, workers):
    """Slices built one after the other or several at once on threads: the same file."""
    monkeypatch.setattr(bodies, "SLICE_ROWS", 3)
    rows = [delivery(f"W-{n}") if n % 3 else pickup_delivery(f"W-{n}") for n in range(8)]
    lines = [item(f"W-{n}", line) for n in range(8) for line in (1, 2)]
    deliveries, items = deliveries_frame(rows), items_frame(lines)
    result = split(deliveries, items, NOW, ValidationSettings())
    assert len(result.valid_deliveries) == 8
    built, csv_rows = bodies_and_rows(result.valid_deliveries, result.valid_items)
    whole = valid_jobs_table(result, built, payload_digests(built), csv_rows)
    jobs_path, _ = write_outcome(tmp_path, DAY, result, valid_jobs_slices(result, workers))
    written = pq.read_table(jobs_path)
    assert written.schema.equals(VALID_JOBS_SCHEMA)
    assert written.to_pylist() == whole.to_pylist()
    assert written["csv_row"].null_count == 0
