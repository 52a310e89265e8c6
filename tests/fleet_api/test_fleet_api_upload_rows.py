"""Rows cut one by one from JSON bodies are the rows build_upload_csv writes for those payloads.

The cut (uploads/batching.py) measures and joins rows from `parse_payload` + `RowEncoder`, which
keep list cells as the body's own JSON text instead of serialising them again.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleet_pipeline.fleet_api import FieldsNotInTemplate, UploadTooLarge, build_upload_csv
from fleet_pipeline.fleet_api.template import TEMPLATE_V1_COLUMNS
from fleet_pipeline.fleet_api.upload import RawJson, RowEncoder, parse_payload

HEADER_BYTES = len(",".join(TEMPLATE_V1_COLUMNS)) + 2
TEXT = st.text(alphabet=st.sampled_from('ab ,"\\\n\r\té🚚\x00'), max_size=10)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), TEXT,
                 st.floats(allow_nan=False, allow_infinity=False))
JSON_VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)), max_leaves=12)
PAYLOAD = st.fixed_dictionaries(
    {"reference_number": st.text(alphabet="AB-1é,\"", min_size=1, max_size=6)},
    optional={"job_type_id": st.sampled_from([1, 3]), "labels": st.lists(TEXT, max_size=3),
              "delivery_driver_name": TEXT, "scheduled_delivery_ts": TEXT,
              "stops": st.lists(st.dictionaries(TEXT, JSON_VALUE, max_size=4), max_size=2),
              "items": st.lists(st.dictionaries(TEXT, JSON_VALUE, max_size=4), max_size=3)})


def expected_row(payload: dict) -> bytes:
    return bytes(build_upload_csv([payload]))[HEADER_BYTES:]


@settings(max_examples=300, deadline=None)
@given(PAYLOAD)
def test_rows_from_canonical_bodies_are_the_builders_rows(payload):
    body = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert RowEncoder()(parse_payload(body)) == expected_row(json.loads(body))


@settings(max_examples=100, deadline=None)
@given(PAYLOAD)
def test_bodies_with_spaces_are_parsed_as_json(payload):
    body = json.dumps(payload, indent=1)
    parsed = parse_payload(body)
    assert parsed == json.loads(body)
    assert not any(isinstance(value, RawJson) for value in parsed.values())


def test_list_cells_are_the_bodys_own_json_text():
    body = '{"items":[{"a":1.5}],"reference_number":"R-1","stops":[{"note":"say \\"hi\\""}]}'
    parsed = parse_payload(body)
    assert parsed["stops"] == '[{"note":"say \\"hi\\""}]'
    assert isinstance(parsed["stops"], RawJson)
    assert parsed["reference_number"] == "R-1"


def test_one_encoder_writes_row_after_row():
    encode = RowEncoder()
    payloads = [{"reference_number": f"R-{n}", "stops": [{"note": "x" * n}]} for n in range(3)]
    assert [encode(p) for p in payloads] == [expected_row(p) for p in payloads]


def test_the_builders_checks_hold_per_row():
    encode = RowEncoder()
    with pytest.raises(FieldsNotInTemplate):
        encode({"reference_number": "R-1", "colour": "red"})
    with pytest.raises(ValueError, match="reference_number"):
        encode({"job_type_id": 3})
    with pytest.raises(UploadTooLarge):
        encode({"reference_number": "R-2", "stops": [{"note": "x" * (10 * 1024 * 1024)}]})


@pytest.mark.parametrize("body", ['{"a":1', '{"a":1}x', "[1]x", '{"a" 1}', ""])
def test_a_body_that_is_not_json_raises_as_json_loads_does(body):
    with pytest.raises(ValueError):
        parse_payload(body)
