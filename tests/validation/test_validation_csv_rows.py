"""The CSV row validation builds beside each body is, byte for byte, the row the client's builder
writes for that body (`RowEncoder()(parse_payload(body))`): the cut sends these rows instead of
writing its own, so one byte of difference would change the files sent."""

from __future__ import annotations

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from test_validation_bodies import day
from validation_rows import deliveries_frame, delivery, item, items_frame, pickup_delivery

from fleet_pipeline.fleet_api.upload import RowEncoder, parse_payload
from fleet_pipeline.validation import bodies
from fleet_pipeline.validation.bodies import bodies_and_rows, payload_bodies


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
