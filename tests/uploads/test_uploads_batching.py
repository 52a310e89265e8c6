"""Cutting a day's queued jobs into uploads: limits, exact sizes, order and stable ids."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import date

import pytest
from uploads_support import DAY, payload, queued, references

from fleet_pipeline.fleet_api import build_upload_csv
from fleet_pipeline.uploads.batching import (
    HEADER,
    UploadLimits,
    csv_row,
    cut_uploads,
    upload_id,
)


def payloads_of(upload) -> list[dict]:
    return [json.loads(job.payload) for job in upload.jobs]


def test_cut_by_count_in_reference_order_with_the_clients_exact_file():
    jobs = queued(payload(ref) for ref in references(25))
    random.Random(1).shuffle(jobs)
    cut = cut_uploads(DAY, jobs, UploadLimits(max_jobs=10))
    assert [upload.job_count for upload in cut.uploads] == [10, 10, 5]
    assert [ref for upload in cut.uploads for ref in upload.references] == references(25)
    for upload in cut.uploads:
        assert upload.content == build_upload_csv(payloads_of(upload))
        assert upload.csv_bytes == len(upload.content)
    assert cut.single_only == ()


def test_default_limit_is_a_thousand_jobs():
    cut = cut_uploads(DAY, queued(payload(ref) for ref in references(2500)))
    assert [upload.job_count for upload in cut.uploads] == [1000, 1000, 500]


def test_cut_by_bytes_counts_the_header_and_fills_each_file():
    bodies = [payload(ref, items=[{"description": "x" * (i * 37 % 200), "quantity": 1}])
              for i, ref in enumerate(references(40))]
    rows = [len(csv_row(body)) for body in bodies]
    # Room for exactly the first three rows after the header.
    limit = len(HEADER) + sum(rows[:3])
    cut = cut_uploads(DAY, queued(bodies), UploadLimits(max_bytes=limit))
    assert cut.uploads[0].job_count == 3
    assert cut.uploads[0].csv_bytes == limit
    start = 0
    for upload in cut.uploads:
        assert upload.csv_bytes <= limit
        assert upload.content == build_upload_csv(payloads_of(upload))
        following = start + upload.job_count
        if following < len(rows):  # the next row would not have fitted
            assert upload.csv_bytes + rows[following] > limit
        start = following
    assert start == 40


def test_ten_megabytes_cut_before_a_thousand_jobs():
    bodies = [payload(ref, stops=[{"customer_name": "C", "address_line_1": "1 Rd",
                                   "note": "n" * 1_000_000}]) for ref in references(12)]
    cut = cut_uploads(DAY, queued(bodies))
    assert [upload.job_count for upload in cut.uploads] == [10, 2]
    first = cut.uploads[0]
    assert first.csv_bytes <= 10 * 1024 * 1024 < first.csv_bytes + len(csv_row(bodies[10]))
    assert first.content == build_upload_csv(payloads_of(first))


def test_jobs_no_file_can_carry_go_one_by_one():
    jobs = queued([payload("A-1"), payload("A-2", plan_id=7),
                   payload("A-3", items=[{"description": "x" * 5000}])])
    cut = cut_uploads(DAY, jobs, UploadLimits(max_bytes=4000))
    assert [upload.references for upload in cut.uploads] == [["A-1"]]
    reasons = {item.job.reference_number: item.reason for item in cut.single_only}
    assert "plan_id" in reasons["A-2"]
    assert "over 4000 bytes" in reasons["A-3"]


def test_the_same_jobs_cut_again_get_the_same_ids():
    jobs = queued(payload(ref) for ref in references(30))
    first = cut_uploads(DAY, jobs, UploadLimits(max_jobs=10))
    again = cut_uploads(DAY, list(reversed(jobs)), UploadLimits(max_jobs=10))
    assert [u.upload_id for u in first.uploads] == [u.upload_id for u in again.uploads]
    assert [u.content for u in first.uploads] == [u.content for u in again.uploads]
    assert len({u.upload_id for u in first.uploads}) == 3
    assert all(u.upload_id.startswith("20261130-") for u in first.uploads)


def test_ids_change_with_the_day_an_attempt_a_payload_or_a_generation():
    jobs = queued(payload(ref) for ref in references(5))
    base = upload_id(DAY, jobs)
    assert upload_id(date(2026, 12, 1), jobs) != base
    assert upload_id(DAY, [replace(jobs[0], attempts=1), *jobs[1:]]) != base
    assert upload_id(DAY, [replace(jobs[0], payload_hash="0" * 64), *jobs[1:]]) != base
    assert upload_id(DAY, jobs, generation=1) != base
    assert upload_id(DAY, jobs[:4]) != base


def test_limits_stay_within_the_apis():
    with pytest.raises(ValueError):
        UploadLimits(max_jobs=1001)
    with pytest.raises(ValueError):
        UploadLimits(max_bytes=10 * 1024 * 1024 + 1)
    with pytest.raises(ValueError):
        UploadLimits(max_bytes=len(HEADER))


def test_a_payload_under_another_reference_is_refused():
    job = queued([payload("A-1")])[0]
    with pytest.raises(ValueError, match="another reference"):
        cut_uploads(DAY, [replace(job, reference_number="A-2")])
