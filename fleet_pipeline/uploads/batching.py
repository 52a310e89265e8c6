"""How a day's queued jobs are cut into bulk uploads: the one place a batch is cut.

In reference_number order, each upload takes jobs until the next one would pass the job limit
(1,000) or the file limit (10 MB, header included). A file is the header followed by its rows'
bytes, so the cut is exact: the file sent is the file measured. The rows of the day are written
at once, column by column (csv_rows.template_rows), byte for byte what the client's builder
writes; a body outside that path's shape, and a job no file can carry, go through the builder
one job at a time as before.

An upload's id is a hash of its day and of its jobs (reference, payload hash, attempts): the
same jobs cut again give the same id, so re-running a day re-plans the same uploads instead of
adding new ones; a job sent again (one more attempt) or changed in the ERP gives a new id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fleet_pipeline.fleet_api import FieldsNotInTemplate, UploadTooLarge, build_upload_csv
from fleet_pipeline.fleet_api.template import (
    MAX_JOBS_PER_UPLOAD,
    MAX_UPLOAD_BYTES,
    TEMPLATE_V1_COLUMNS,
)
from fleet_pipeline.fleet_api.upload import RowEncoder, parse_payload
from fleet_pipeline.ledger.repository import QueuedJob
from fleet_pipeline.uploads.csv_rows import template_rows

# The template's column names need no quoting, so the header is exactly this line.
HEADER = (",".join(TEMPLATE_V1_COLUMNS) + "\r\n").encode("utf-8")


@dataclass(frozen=True)
class UploadLimits:
    max_jobs: int = MAX_JOBS_PER_UPLOAD
    max_bytes: int = MAX_UPLOAD_BYTES

    def __post_init__(self) -> None:
        if not 1 <= self.max_jobs <= MAX_JOBS_PER_UPLOAD:
            raise ValueError(f"an upload holds 1 to {MAX_JOBS_PER_UPLOAD} jobs")
        if not len(HEADER) < self.max_bytes <= MAX_UPLOAD_BYTES:
            raise ValueError(f"an upload file holds {len(HEADER) + 1} to {MAX_UPLOAD_BYTES} bytes")


@dataclass(frozen=True)
class Upload:
    """One bulk file as it will be sent."""

    upload_id: str
    partition_date: date
    jobs: tuple[QueuedJob, ...] = field(repr=False)
    content: bytes = field(repr=False)

    @property
    def references(self) -> list[str]:
        return [job.reference_number for job in self.jobs]

    @property
    def job_count(self) -> int:
        return len(self.jobs)

    @property
    def csv_bytes(self) -> int:
        return len(self.content)

    @property
    def file_hash(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class SingleOnly:
    """A job no bulk file can carry: it goes through a single create."""

    job: QueuedJob
    reason: str


@dataclass(frozen=True)
class Cut:
    uploads: tuple[Upload, ...]
    single_only: tuple[SingleOnly, ...]

    @property
    def job_count(self) -> int:
        return sum(upload.job_count for upload in self.uploads)


def upload_id(day: date, jobs: list[QueuedJob] | tuple[QueuedJob, ...], generation: int = 0
              ) -> str:
    """`YYYYMMDD-<16 hex>`, stable for the same jobs in the same state. `generation` > 0 names
    another upload of the same jobs when that id is already taken by a sent one."""
    digest = hashlib.sha256(day.isoformat().encode())
    for job in sorted(jobs, key=lambda j: j.reference_number):
        digest.update(f"\n{job.reference_number}\t{job.payload_hash}\t{job.attempts}".encode())
    if generation:
        digest.update(f"\ngeneration {generation}".encode())
    return f"{day:%Y%m%d}-{digest.hexdigest()[:16]}"


def csv_row(payload: dict[str, Any]) -> bytes:
    """The payload's row of a template v1 file, as the client's builder writes it."""
    return build_upload_csv([payload])[len(HEADER):]


def cut_uploads(day: date, jobs: list[QueuedJob], limits: UploadLimits | None = None,
                known: pa.Table | None = None) -> Cut:
    """Cut `jobs` (one day's, queued) into uploads within `limits`, by reference_number.

    `known`: rows already written for some bodies (`reference_number`, `payload_hash`,
    `csv_row`: validation writes them beside the bodies); a job whose reference and payload
    hash are there takes that row, the others have theirs written here."""
    limits = limits or UploadLimits()
    ordered = sorted(jobs, key=lambda j: j.reference_number)
    if not ordered:
        return Cut((), ())
    rows = _rows(ordered, known)
    rows, ordered, single_only = _rows_one_by_one(rows, ordered, limits)
    # Each chunk's rows lie one after the other in its buffer: a file is the header and one
    # slice of each chunk it spans.
    chunks = [chunk for chunk in rows.chunks if len(chunk)]
    buffers = [_row_bytes(chunk) for chunk in chunks]
    first_row = np.cumsum([0] + [len(chunk) for chunk in chunks])
    ends = np.cumsum(np.concatenate([[0]] + [np.diff(offsets) for offsets, _ in buffers]))
    uploads: list[Upload] = []
    start, budget = 0, limits.max_bytes - len(HEADER)
    while start < len(ordered):
        # Every row fits a file alone (the others went one by one), so a file holds at least one.
        fits = int(np.searchsorted(ends, ends[start] + budget, side="right")) - 1
        stop = min(start + limits.max_jobs, fits)
        parts = [HEADER]
        for c in range(int(np.searchsorted(first_row, start, side="right")) - 1, len(chunks)):
            if first_row[c] >= stop:
                break
            offsets, content = buffers[c]
            low, high = max(start, first_row[c]) - first_row[c], min(stop, first_row[c + 1]) \
                - first_row[c]
            parts.append(content[offsets[low]:offsets[high]])
        batch = tuple(ordered[start:stop])
        uploads.append(Upload(upload_id(day, batch), day, batch, b"".join(parts)))
        start = stop
    return Cut(tuple(uploads), tuple(single_only))


def _rows(jobs: list[QueuedJob], known: pa.Table | None) -> pa.ChunkedArray:
    """Each job's row: the known one for its reference and payload hash, else written from its
    body (null where the columnar writer leaves it)."""
    if known is None or not known.num_rows:
        return template_rows([job.payload for job in jobs], [job.reference_number for job in jobs])
    at = pc.index_in(pa.array([job.reference_number for job in jobs], pa.string()),
                     value_set=known["reference_number"])
    same = pc.fill_null(pc.equal(known["payload_hash"].take(at),
                                 pa.array([job.payload_hash for job in jobs], pa.string())), False)
    # One array, gathered by plain int64 positions: a gather over chunks or with null positions
    # was several times slower. A row whose hash differs is masked, not copied again.
    rows = known["csv_row"].cast(pa.large_string()).combine_chunks().take(
        pc.fill_null(at, 0).cast(pa.int64()))
    keep = same.to_numpy(zero_copy_only=False) & rows.is_valid().to_numpy(zero_copy_only=False)
    _, offsets, data = rows.buffers()
    validity = np.packbits(np.concatenate([np.zeros(rows.offset, dtype=bool), keep]),
                           bitorder="little")
    rows = pa.Array.from_buffers(pa.large_string(), len(rows), [
        pa.py_buffer(validity), offsets, data], offset=rows.offset)
    missing = np.flatnonzero(~rows.is_valid().to_numpy(zero_copy_only=False))
    if len(missing):
        written = template_rows([jobs[i].payload for i in missing.tolist()],
                                [jobs[i].reference_number for i in missing.tolist()])
        mask = np.zeros(len(jobs), dtype=bool)
        mask[missing] = True
        rows = pc.replace_with_mask(rows, pa.array(mask), written.combine_chunks())
    return pa.chunked_array([rows])


def _row_bytes(rows: pa.LargeStringArray) -> tuple[np.ndarray, memoryview]:
    """The offsets of an array's rows in its data buffer, and the buffer."""
    _, offsets, data = rows.buffers()
    offsets = np.frombuffer(offsets, dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
    return offsets, memoryview(data) if data is not None else memoryview(b"")


def _rows_one_by_one(rows: pa.ChunkedArray, jobs: list[QueuedJob], limits: UploadLimits
                     ) -> tuple[pa.ChunkedArray, list[QueuedJob], list[SingleOnly]]:
    """The rows the columnar writer left (null) or that no file can carry, written as before,
    job by job in reference order; the jobs that go one by one taken out."""
    sizes = pc.binary_length(rows).to_numpy(zero_copy_only=False)
    again = np.flatnonzero(~rows.is_valid().to_numpy(zero_copy_only=False)
                           | (len(HEADER) + sizes > limits.max_bytes))
    if not len(again):
        return rows, jobs, []
    rows = rows.combine_chunks()
    encode_row = RowEncoder()
    written: list[str] = []
    single_only: list[SingleOnly] = []
    keep = np.ones(len(jobs), dtype=bool)
    for index in again.tolist():
        job = jobs[index]
        payload = parse_payload(job.payload)
        if payload.get("reference_number") != job.reference_number:
            raise ValueError(f"{job.reference_number}: the payload carries another reference")
        try:
            row = encode_row(payload)
        except (FieldsNotInTemplate, UploadTooLarge) as exc:
            single_only.append(SingleOnly(job, str(exc)))
            keep[index] = False
            continue
        if len(HEADER) + len(row) > limits.max_bytes:
            single_only.append(SingleOnly(job, f"its CSV row alone is over {limits.max_bytes} "
                                               "bytes"))
            keep[index] = False
            continue
        written.append(row.decode("utf-8"))
    mask = np.zeros(len(jobs), dtype=bool)
    mask[again] = keep[again]
    rows = pc.replace_with_mask(rows, pa.array(mask), pa.array(written, pa.large_string()))
    rows = pa.chunked_array([rows.filter(pa.array(keep))])
    return rows, [job for job, kept in zip(jobs, keep.tolist(), strict=True) if kept], \
        single_only
