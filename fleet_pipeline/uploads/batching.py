"""How a day's queued jobs are cut into bulk uploads: the one place a batch is cut.

In reference_number order, each upload takes jobs until the next one would pass the job limit
(1,000) or the file limit (10 MB, header included). A row's size is measured with the client's
own CSV builder, and a file is the header followed by its rows' bytes, so the cut is exact: the
file sent is the file measured.

An upload's id is a hash of its day and of its jobs (reference, payload hash, attempts): the
same jobs cut again give the same id, so re-running a day re-plans the same uploads instead of
adding new ones; a job sent again (one more attempt) or changed in the ERP gives a new id.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fleet_pipeline.fleet_api import FieldsNotInTemplate, UploadTooLarge, build_upload_csv
from fleet_pipeline.fleet_api.template import (
    MAX_JOBS_PER_UPLOAD,
    MAX_UPLOAD_BYTES,
    TEMPLATE_V1_COLUMNS,
)
from fleet_pipeline.fleet_api.upload import RowEncoder, parse_payload
from fleet_pipeline.ledger.repository import QueuedJob

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


def cut_uploads(day: date, jobs: list[QueuedJob], limits: UploadLimits | None = None) -> Cut:
    """Cut `jobs` (one day's, queued) into uploads within `limits`, by reference_number."""
    limits = limits or UploadLimits()
    uploads: list[Upload] = []
    single_only: list[SingleOnly] = []
    batch: list[QueuedJob] = []
    rows: list[bytes] = []
    size = len(HEADER)

    def close_batch() -> None:
        uploads.append(Upload(upload_id(day, batch), day, tuple(batch), HEADER + b"".join(rows)))

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
            close_batch()
            batch, rows, size = [], [], len(HEADER)
        batch.append(job)
        rows.append(row)
        size += len(row)
    if batch:
        close_batch()
    return Cut(tuple(uploads), tuple(single_only))
