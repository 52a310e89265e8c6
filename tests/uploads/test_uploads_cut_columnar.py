"""The day's rows written at once (csv_rows.template_rows) give the cut the job-by-job writer gave:
the same files byte for byte, the same ids, the same jobs sent one by one, the same errors."""

from __future__ import annotations

import json
import random
from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from uploads_support import DAY

from fleet_pipeline.fleet_api import FieldsNotInTemplate, UploadTooLarge
from fleet_pipeline.fleet_api.upload import RowEncoder, parse_payload
from fleet_pipeline.ledger.repository import QueuedJob
from fleet_pipeline.uploads import csv_rows
from fleet_pipeline.uploads.batching import (
    HEADER,
    Cut,
    SingleOnly,
    Upload,
    UploadLimits,
    cut_uploads,
    upload_id,
)
from fleet_pipeline.uploads.csv_rows import template_rows
from fleet_pipeline.validation.payloads import canonical_json, payload_digest


def cut_job_by_job(day: date, jobs: list[QueuedJob], limits: UploadLimits | None = None) -> Cut:
    """The cut as it was before the columnar rows: each body parsed and its row written alone."""
    limits = limits or UploadLimits()
    uploads, single_only, batch, rows, size = [], [], [], [], len(HEADER)
    encode_row = RowEncoder()
    for job in sorted(jobs, key=lambda j: j.reference_number):
        payload = parse_payload(job.payload)
        if payload.get("reference_number") != job.reference_number:
            raise ValueError(f"{job.reference_number}: the payload carries another reference")
        try:
            row = encode_row(payload)
        except (FieldsNotInTemplate, UploadTooLarge) as exc:
            single_only.append(SingleOnly(job, str(exc)))
            continue
        if len(HEADER) + len(row) > limits.max_bytes:
            single_only.append(SingleOnly(job, f"its CSV row alone is over {limits.max_bytes} "
                                               "bytes"))
            continue
        if batch and (len(batch) >= limits.max_jobs or size + len(row) > limits.max_bytes):
            uploads.append(Upload(upload_id(day, batch), day, tuple(batch),
                                  HEADER + b"".join(rows)))
            batch, rows, size = [], [], len(HEADER)
        batch.append(job)
        rows.append(row)
        size += len(row)
    if batch:
        uploads.append(Upload(upload_id(day, batch), day, tuple(batch), HEADER + b"".join(rows)))
    return Cut(tuple(uploads), tuple(single_only))


# Text JSON writes as it is (commas, brackets, non-ASCII) and text it escapes (quotes, newlines,
# backslashes, control characters): a body holding the latter is written one job at a time.
PLAIN = ["", "plain", "a,b", "Zoë Ndlovu", "Ωmega, 🚚", "{k:[1]}", " spaced ", "é,", "\u2028",
         "null", "[]", "1,5", "',',"]
ESCAPED = ['say "hi"', "tab\there", "two\nlines", "cr\r\nlf", "back\\slash", "ends with \\",
           'é,\n"', "\x00"]


def text(rng: random.Random, escaped: float = 0.01) -> str:
    if rng.random() < escaped:
        return rng.choice(ESCAPED)
    return rng.choice(PLAIN) if rng.random() < 0.6 else "".join(
        rng.choice("ab ,é🚚{}[]:'") for _ in range(rng.randrange(8)))


def maybe(rng: random.Random, value):
    """A value, None (JSON null) or nothing (the key left out)."""
    roll = rng.random()
    return value if roll < 0.6 else None if roll < 0.8 else ...


def present(fields: dict) -> dict:
    return {key: value for key, value in fields.items() if value is not ...}


def generated_payload(rng: random.Random, reference: str) -> dict:
    stops = [present({"customer_name": text(rng), "address_line_1": text(rng),
                      "note": maybe(rng, text(rng)),
                      "latitude": rng.choice([-33.925706, 18.4, 0.0, 1e-05, 12]),
                      "delivery_windows": [{"time_from": "09:00:00", "time_to": "15:30:00"}]
                      * rng.randrange(3)}) for _ in range(rng.randrange(1, 4))]
    items = [present({"description": text(rng), "quantity": rng.choice([1, 2.5, -3, 10**20]),
                      "sku": maybe(rng, text(rng))}) for _ in range(rng.randrange(5))]
    fields = {"reference_number": reference, "job_type_id": rng.choice([1, 3, -1, 0]),
              "schedule_type_id": maybe(rng, rng.choice([2, 3])),
              "delivery_driver_id": maybe(rng, text(rng)),
              "delivery_driver_name": maybe(rng, text(rng)),
              "scheduled_delivery_ts": maybe(rng, "2026-12-04 13:50:00"),
              "labels": maybe(rng, [text(rng) for _ in range(rng.randrange(3))]),
              "subuser_id": maybe(rng, rng.choice([7, "u-1"])),
              "allowed_to_start_at": maybe(rng, True), "send_to_driver_at": maybe(rng, False),
              "stops": maybe(rng, stops), "items": maybe(rng, items)}
    return present(fields)


def body_of(rng: random.Random, payload: dict) -> str:
    """Mostly canonical JSON, as validation writes it; now and then another writing of it."""
    roll = rng.random()
    if roll < 0.85:
        return canonical_json(payload)
    if roll < 0.9:
        return json.dumps(payload, separators=(",", ":"))  # keys unsorted, \\u escapes
    if roll < 0.95:
        return json.dumps(payload, sort_keys=True)  # spaces between tokens
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                      indent=1)  # newlines between tokens


def generated_jobs(seed: int, count: int) -> list[QueuedJob]:
    rng = random.Random(seed)
    jobs = []
    for n in range(count):
        reference = f"DN{n:07d}" if rng.random() < 0.9 else f"DN{n:07d}-{text(rng)}"
        payload = generated_payload(rng, reference)
        if rng.random() < 0.03:
            payload["plan_id"] = rng.choice([7, None])  # not in the template (None: ignored)
        body = body_of(rng, payload)
        jobs.append(QueuedJob(reference, payload_digest(body), body, rng.randrange(3)))
    rng.shuffle(jobs)
    return jobs


def same_cut(got: Cut, expected: Cut) -> None:
    assert [(u.upload_id, u.partition_date, u.references) for u in got.uploads] == \
        [(u.upload_id, u.partition_date, u.references) for u in expected.uploads]
    assert [u.jobs for u in got.uploads] == [u.jobs for u in expected.uploads]
    for ours, theirs in zip(got.uploads, expected.uploads, strict=True):
        assert bytes(ours.content) == bytes(theirs.content)
    assert got.single_only == expected.single_only


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("limits", [UploadLimits(), UploadLimits(max_jobs=7),
                                    UploadLimits(max_bytes=3000)])
def test_the_cut_is_the_job_by_job_cut(seed, limits):
    jobs = generated_jobs(seed, 600)
    same_cut(cut_uploads(DAY, jobs, limits), cut_job_by_job(DAY, jobs, limits))


def test_the_generated_days_take_both_paths():
    """Most rows are written at once; non-canonical bodies and escapes go one by one."""
    jobs = sorted(generated_jobs(0, 600), key=lambda j: j.reference_number)
    rows = template_rows([j.payload for j in jobs], [j.reference_number for j in jobs])
    assert 0 < rows.null_count < len(jobs) // 2
    expected = RowEncoder()
    for job, row in zip(jobs, rows.to_pylist(), strict=True):
        if row is not None:
            assert row.encode() == expected(parse_payload(job.payload))


@pytest.mark.parametrize("limits", [UploadLimits(), UploadLimits(max_jobs=7),
                                    UploadLimits(max_bytes=5000)])
def test_files_across_slices_of_rows_cut_alike(monkeypatch, limits):
    """Canonical bodies only, so every row is written at once, in slices of 97 rows that the
    files cross."""
    monkeypatch.setattr(csv_rows, "SLICE_ROWS", 97)
    monkeypatch.setattr(f"{__name__}.text", lambda rng: PLAIN[rng.randrange(len(PLAIN))])
    rng = random.Random(11)
    jobs = []
    for n in range(1500):
        body = canonical_json(generated_payload(rng, f"R-{n:05d}"))
        jobs.append(QueuedJob(f"R-{n:05d}", payload_digest(body), body, 0))
    assert template_rows([j.payload for j in jobs], [j.reference_number for j in jobs]) \
        .null_count == 0
    got = cut_uploads(DAY, jobs, limits)
    starts = np.cumsum([0] + [u.job_count for u in got.uploads])
    assert any(first // 97 != (end - 1) // 97 for first, end in zip(starts[:-1], starts[1:],
                                                                    strict=True))
    same_cut(got, cut_job_by_job(DAY, jobs, limits))


def test_several_thousand_jobs_across_slices_cut_alike():
    jobs = generated_jobs(7, 45_000)
    same_cut(cut_uploads(DAY, jobs), cut_job_by_job(DAY, jobs))


def test_a_row_over_the_file_limit_goes_one_by_one_with_the_same_reason():
    rng = random.Random(3)
    payloads = [generated_payload(rng, f"R-{n}") for n in range(5)]
    payloads[2]["stops"] = [{"note": "n" * (10 * 1024 * 1024)}]
    jobs = [QueuedJob(p["reference_number"], "h", canonical_json(p), 0) for p in payloads]
    for limits in (UploadLimits(), UploadLimits(max_bytes=2000)):
        got, expected = cut_uploads(DAY, jobs, limits), cut_job_by_job(DAY, jobs, limits)
        same_cut(got, expected)
        assert "R-2" in [item.job.reference_number for item in got.single_only]


@pytest.mark.parametrize("body", ['{"reference_number":"R-1","stops":[1,,2]}',
                                  '{"reference_number":"R-1"', "",
                                  '{"reference_number":"R-2"}', '{"job_type_id":3}',
                                  '{"reference_number":""}', '{"reference_number":1}'])
def test_a_body_that_is_not_this_jobs_fails_as_before(body):
    good = canonical_json({"reference_number": "R-0", "job_type_id": 3})
    jobs = [QueuedJob("R-0", "h", good, 0), QueuedJob("R-1", "h", body, 0)]
    with pytest.raises(ValueError) as expected:
        cut_job_by_job(DAY, jobs)
    with pytest.raises(type(expected.value), match=expected.value.args[0][:20]
                       .replace("(", r"\(").replace("[", r"\[")):
        cut_uploads(DAY, jobs)


def test_a_lone_surrogate_fails_as_before():
    body = canonical_json({"reference_number": "R-1", "delivery_driver_name": "x"})
    jobs = [QueuedJob("R-1", "h", body.replace('"x"', '"x\ud800"'), 0)]
    with pytest.raises(Exception) as expected:
        cut_job_by_job(DAY, jobs)
    with pytest.raises(type(expected.value)):
        cut_uploads(DAY, jobs)


JSON_TEXT = st.text(alphabet=st.sampled_from('ab ,"\\\n\r\té🚚\x00[]{}:'), max_size=8)
LEAF = st.one_of(st.none(), st.booleans(), st.integers(), JSON_TEXT,
                 st.floats(allow_nan=False, allow_infinity=False))
JSON_VALUE = st.recursive(LEAF, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(JSON_TEXT, inner, max_size=3)), max_leaves=10)
PAYLOAD = st.fixed_dictionaries(
    {"reference_number": st.text(alphabet="AB-1é,\"", min_size=1, max_size=6)},
    optional={name: JSON_VALUE for name in ("job_type_id", "labels", "delivery_driver_id",
                                            "delivery_driver_name", "scheduled_delivery_ts",
                                            "subuser_id", "stops", "items")})


@settings(max_examples=200, deadline=None)
@given(st.lists(PAYLOAD, min_size=1, max_size=6, unique_by=lambda p: p["reference_number"]))
def test_any_canonical_bodies_give_the_builders_rows(payloads):
    bodies = [canonical_json(p) for p in payloads]
    rows = template_rows(bodies, [p["reference_number"] for p in payloads]).to_pylist()
    expected = RowEncoder()
    for body, row in zip(bodies, rows, strict=True):
        if row is not None:
            assert row.encode() == expected(parse_payload(body))
