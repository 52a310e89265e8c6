"""The cut takes the CSV rows validation wrote beside the bodies (valid_jobs.parquet's csv_row)
for the jobs whose body is the one validation wrote, and writes the others itself: the files are
the job-by-job cut's either way."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_uploads_cut_columnar import cut_job_by_job, generated_jobs, same_cut
from uploads_support import DAY

from fleet_pipeline.fleet_api.upload import RowEncoder, parse_payload
from fleet_pipeline.ledger.repository import QueuedJob
from fleet_pipeline.storage import partition_dir
from fleet_pipeline.uploads.batching import UploadLimits, cut_uploads
from fleet_pipeline.uploads.planning import DELIVERY_JOBS, VALID_JOBS_FILE, known_rows


def rows_of(jobs: list[QueuedJob]) -> pa.Table:
    """What validation writes for these jobs: each body's row (null where it leaves it)."""
    encode = RowEncoder()
    rows = []
    for job in jobs:
        try:
            rows.append(encode(parse_payload(job.payload)).decode("utf-8"))
        except Exception:  # the cut refuses or sends it alone: validation left it
            rows.append(None)
    return pa.table({"reference_number": [job.reference_number for job in jobs],
                     "payload_hash": [job.payload_hash for job in jobs],
                     "csv_row": pa.array(rows, pa.string())})


@pytest.mark.parametrize("limits", [UploadLimits(), UploadLimits(max_jobs=7),
                                    UploadLimits(max_bytes=3000)])
def test_known_rows_give_the_job_by_job_cut(limits):
    jobs = generated_jobs(11, 600)
    known = rows_of(jobs)
    same_cut(cut_uploads(DAY, jobs, limits, known), cut_job_by_job(DAY, jobs, limits))


def test_a_known_row_is_taken_only_for_the_same_reference_and_payload_hash():
    jobs = sorted(generated_jobs(12, 40), key=lambda job: job.reference_number)
    known = rows_of(jobs).to_pylist()
    # A marker row for every job: what the cut takes from `known` is seen in the files.
    for n, row in enumerate(known):
        row["csv_row"] = f"KNOWN-{n}\r\n"
    known[0]["payload_hash"] = "0" * 64  # the ERP row changed since: its body is another
    del known[1]  # validated on another day
    cut = cut_uploads(DAY, jobs, None, pa.Table.from_pylist(known))
    content = b"".join(upload.content for upload in cut.uploads).decode("utf-8")
    expected = cut_job_by_job(DAY, jobs[:2])
    for upload in expected.uploads:
        assert upload.content.split(b"\r\n", 1)[1].decode("utf-8") in content
    sent = [job for upload in cut.uploads for job in upload.jobs]
    assert [f"KNOWN-{n}\r\n" in content for n in range(2, 40)] == \
        [job in sent for job in jobs[2:]]


def test_the_day_rows_are_read_from_valid_jobs(tmp_path):
    folder = partition_dir(tmp_path, DELIVERY_JOBS, DAY)
    folder.mkdir(parents=True)
    assert known_rows(tmp_path, DAY) is None
    pq.write_table(pa.table({"reference_number": ["A"], "payload_hash": ["h"],
                             "payload": ["{}"]}), folder / VALID_JOBS_FILE)
    assert known_rows(tmp_path, DAY) is None  # validated before the rows were written
    table = pa.table({"reference_number": ["A"], "payload_hash": ["h"], "payload": ["{}"],
                      "csv_row": ["A,\r\n"]})
    pq.write_table(table, folder / VALID_JOBS_FILE)
    assert known_rows(tmp_path, DAY).to_pylist() == [
        {"reference_number": "A", "payload_hash": "h", "csv_row": "A,\r\n"}]
