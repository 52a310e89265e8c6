"""A day's valid jobs into the ledger, and its queued jobs into planned upload files.

Planning is safe to repeat: the ledger only queues jobs Fleet is known not to hold, so a job
created, in flight or possibly created is left out of every new cut, and a job whose ERP row
changed after it was sent is reported rather than sent again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import sqlalchemy as sa

from fleet_pipeline.ledger import repository as ledger
from fleet_pipeline.ledger.jobstore import Applied
from fleet_pipeline.ledger.repository import PlanResult, QueuedJob
from fleet_pipeline.ledger.tables import uploads
from fleet_pipeline.storage import atomic_write, partition_dir
from fleet_pipeline.uploads.batching import Cut, UploadLimits, cut_uploads, upload_id
from fleet_pipeline.uploads.crash import crashpoint

ASSET = "upload_batches"
# What the delivery_jobs asset writes per day (validation/partition.py); not imported from there,
# which would load the validation schema into every sender. The tests write through job_files.
DELIVERY_JOBS = "delivery_jobs"
VALID_JOBS_FILE = "valid_jobs.parquet"
REJECTIONS_FILE = "rejections.parquet"
_PLANNED = "planned"


@dataclass(frozen=True)
class DayPlan:
    day: date
    valid: int
    result: PlanResult
    withdrawn: Applied


def read_day(data_dir: Path, day: date) -> tuple[list[tuple[str, str, str]], set[str]]:
    """The day's valid jobs (reference, payload hash, payload JSON) and every reference the
    extraction listed, valid or not."""
    folder = partition_dir(data_dir, DELIVERY_JOBS, day)
    valid_path, rejections_path = folder / VALID_JOBS_FILE, folder / REJECTIONS_FILE
    if not valid_path.exists():
        raise FileNotFoundError(f"no valid jobs for {day.isoformat()}: {valid_path} is missing; "
                                "materialize delivery_jobs for this date first")
    table = pq.read_table(valid_path, columns=["reference_number", "payload_hash", "payload"])
    valid = list(zip(*(table[name].to_pylist() for name in table.column_names), strict=True))
    present = {reference for reference, _, _ in valid}
    if rejections_path.exists():
        rejected = pq.read_table(rejections_path, columns=["reference_number"])
        present.update(r for r in rejected["reference_number"].to_pylist() if r is not None)
    return valid, present


def plan_day(engine: sa.Engine, data_dir: Path, day: date, *, run_id: str | None = None
             ) -> DayPlan:
    """Queue the day's new and changed valid jobs; withdraw those the ERP no longer lists."""
    valid, present = read_day(data_dir, day)
    with engine.begin() as conn:
        result = ledger.plan_jobs(conn, day, valid, run_id=run_id)
        withdrawn = ledger.withdraw_absent(conn, day, present, run_id=run_id)
    crashpoint("plan.after_jobs")
    return DayPlan(day, len(valid), result, withdrawn)


def known_rows(data_dir: Path, day: date) -> pa.Table | None:
    """The CSV rows validation wrote for the day's bodies (`reference_number`, `payload_hash`,
    `csv_row`); None for a day validated before it wrote them."""
    path = partition_dir(data_dir, DELIVERY_JOBS, day) / VALID_JOBS_FILE
    if not path.exists() or "csv_row" not in pq.read_schema(path).names:
        return None
    return pq.read_table(path, columns=["reference_number", "payload_hash", "csv_row"])


def upload_path(data_dir: Path, day: date, upload_id: str) -> Path:
    return partition_dir(data_dir, ASSET, day) / f"{upload_id}.csv"


def prepare_uploads(engine: sa.Engine, data_dir: Path, day: date, jobs: list[QueuedJob],
                    limits: UploadLimits) -> Cut:
    """Cut `jobs` into uploads, record them `planned` and write each file.

    Planning the same jobs again re-plans the same uploads. An id already used by an upload
    that was sent (its jobs came back to the queue unchanged, which is rare) moves to the next
    generation, so no upload id ever names two different sends.
    """
    cut = cut_uploads(day, jobs, limits, known_rows(data_dir, day))
    with engine.begin() as conn:
        planned = []
        for upload in cut.uploads:
            generation = 0
            while _state(conn, upload.upload_id) not in (None, _PLANNED):
                generation += 1
                upload = replace(upload, upload_id=upload_id(day, upload.jobs, generation))
            ledger.plan_upload(conn, upload.upload_id, day, job_count=upload.job_count,
                               file_hash=upload.file_hash, csv_bytes=upload.csv_bytes)
            planned.append(upload)
    for upload in planned:
        atomic_write(upload_path(data_dir, day, upload.upload_id),
                     lambda tmp, content=upload.content: tmp.write_bytes(content))
    return Cut(tuple(planned), cut.single_only)


def _state(conn: sa.Connection, upload_id: str) -> str | None:
    return conn.scalar(sa.select(uploads.c.state).where(uploads.c.upload_id == upload_id))
