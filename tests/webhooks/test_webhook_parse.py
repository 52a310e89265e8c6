"""The receiver's core without HTTP or a database: entries, content type, flags, result rows."""

from __future__ import annotations

import json

import pytest

from fleet_pipeline.webhooks.landing import judge, kept_headers, result_rows
from fleet_pipeline.webhooks.parse import (
    Entry,
    InvalidCallback,
    entries_digest,
    is_json_content_type,
    parse_entries,
)


def test_the_documented_entries_parse():
    body = (b'[{"reference_number": "CART202502260001", "job_id": 119582},'
            b' {"reference_number": "CART202502260002", "errors": {"job_type_id":'
            b' ["The selected job_type_id is invalid."]}, "extra": 1}]')
    assert parse_entries(body) == [
        Entry("CART202502260001", 119582, None),
        Entry("CART202502260002", None, {"job_type_id": ["The selected job_type_id is invalid."]}),
    ]


def test_a_null_for_the_other_field_is_allowed():
    assert parse_entries(b'[{"reference_number": "A", "job_id": 1, "errors": null}]') == \
        [Entry("A", 1, None)]


@pytest.mark.parametrize("body, reason", [
    (b"\xff[]", "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
    (b'[{"reference_number": "A", "job_id": Infinity}]', "not valid JSON"),
    (b'{"entries": []}', "JSON array"),
    (b"[null]", "entry 0 is not an object"),
    (b'[{"reference_number": "A", "job_id": 1}, {"reference_number": ""}]', "entry 1"),
    (b'[{"reference_number": "A\\nB", "job_id": 1}]', "printable"),
    (b'[{"reference_number": "A", "errors": {"\\udc00": []}}]', "not Unicode"),
    (b'[{"reference_number": "A", "errors": {"f": ["x\\uDBFF"]}}]', "not Unicode"),
])
def test_bodies_that_are_not_callbacks_are_refused_with_a_reason(body, reason):
    with pytest.raises(InvalidCallback, match=reason):
        parse_entries(body)


def test_an_escaped_character_beyond_the_basic_plane_is_unicode():
    body = b'[{"reference_number": "A", "errors": {"note": ["\\ud83d\\ude9a"]}}]'
    assert parse_entries(body)[0].errors == {"note": ["\U0001f69a"]}


def test_the_reason_never_quotes_a_value():
    with pytest.raises(InvalidCallback) as refused:
        parse_entries(b'[{"reference_number": "0821234567 Jane", "job_id": "x"}]')
    assert "Jane" not in str(refused.value)


@pytest.mark.parametrize("value, ok", [
    ("application/json", True), ("application/json; charset=utf-8", True),
    ("Application/JSON", True), ("application/vnd.cartrack+json", True),
    ("text/plain", False), ("application/jsonp", False), ("", False), (None, False),
    ("multipart/form-data", False),
])
def test_json_content_types(value, ok):
    assert is_json_content_type(value) is ok


def test_the_digest_ignores_order_and_serialisation_but_not_content():
    a, b = Entry("A", 1, None), Entry("B", None, {"f": ["m"]})
    assert entries_digest([a, b]) == entries_digest([b, a])
    assert entries_digest([a, b]) != entries_digest([a, Entry("B", 2, None)])
    assert entries_digest([a]) != entries_digest([a, a])


def test_the_digest_is_the_one_stored_with_earlier_events():
    # Events landed before a change of the code keep their entries_sha256; a later copy of
    # their entries must still be judged the same.
    entries = [Entry("CART-2", None, {"job_type_id": ["The selected job_type_id is invalid."],
                                      "a": ['é",\\']}),
               Entry("CART-1", 119582, None), Entry("CART-é", 7, None)]
    assert entries_digest(entries) == \
        "67e429b3f6312b5b4d7ed54393bc45469ad7de0adeb7a45e203d1eebdafb5cfe"


def test_judge_flags_against_the_uploads_earlier_events():
    assert judge([], "x") == (None, False)
    assert judge([(1, "x")], "x") == (1, False)
    assert judge([(1, "x")], "y") == (None, True)
    assert judge([(1, "x"), (2, "y"), (3, "x")], "x") == (1, True)


def test_result_rows_keep_position_outcome_and_flag_unexpected_references():
    rows = result_rows("U1", [Entry("A", 7, None), Entry("Z", None, {"f": ["é"]})], {"A"})
    assert [(r["position"], r["reference_number"], r["outcome"], r["fleet_job_id"],
             r["unexpected"]) for r in rows] == [(0, "A", "created", 7, False),
                                                (1, "Z", "rejected", None, True)]
    assert json.loads(rows[1]["errors"]) == {"f": ["é"]} and rows[0]["errors"] is None


def test_only_the_headers_that_matter_are_kept_and_clipped():
    kept = json.loads(kept_headers({"user-agent": "u" * 900, "authorization": "secret",
                                    "x-forwarded-for": "10.0.0.1"}))
    assert kept == {"user-agent": "u" * 500, "x-forwarded-for": "10.0.0.1"}
