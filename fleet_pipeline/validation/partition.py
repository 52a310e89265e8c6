"""One day of the `delivery_jobs` asset: read the extraction, split it, write jobs and rejections.

Files under `delivery_jobs/date=YYYY-MM-DD/` in the data dir:
- `valid_jobs.parquet`: one row per valid delivery: `reference_number`, `payload` (the JSON body
  of `POST /delivery/jobs`, canonical JSON), `payload_hash` (sha256 of `payload`), then every
  canonical delivery column as extracted.
- `rejections.parquet`: the failures frame of `split` (FAILURE_COLUMNS), values already masked.
Both are replaced together on every run of the day (each by an atomic rename, rejections first).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from fleet_pipeline.erp.canonical import JOB_SCHEMA
from fleet_pipeline.erp.extract import day_files
from fleet_pipeline.memory import map_large_blocks
from fleet_pipeline.storage import atomic_write, partition_dir
from fleet_pipeline.threads import in_order
from fleet_pipeline.validation.bodies import payload_digests, slice_builder, slice_starts
from fleet_pipeline.validation.settings import ValidationSettings
from fleet_pipeline.validation.split import FAILURE_COLUMNS, ValidationResult, split

ASSET = "delivery_jobs"
VALID_JOBS_FILE = "valid_jobs.parquet"
REJECTIONS_FILE = "rejections.parquet"
# Slices of valid_jobs built at once: two cores' worth; each slice in flight holds ~100 MB.
WORKERS = min(2, os.cpu_count() or 1)

VALID_JOBS_SCHEMA = pa.schema([
    pa.field("reference_number", pa.string()),
    pa.field("payload", pa.string()),
    pa.field("payload_hash", pa.string()),
    pa.field("csv_row", pa.string()),
    *(f for f in JOB_SCHEMA if f.name != "reference_number"),
])
REJECTIONS_SCHEMA = pa.schema([
    pa.field(name, pa.int64() if name == "row_position" else pa.string())
    for name in FAILURE_COLUMNS
])


def job_files(data_dir: Path, day: date | str) -> tuple[Path, Path]:
    """Where a day's validation output lives: (valid_jobs.parquet, rejections.parquet)."""
    folder = partition_dir(data_dir, ASSET, day)
    return folder / VALID_JOBS_FILE, folder / REJECTIONS_FILE


@dataclass(frozen=True)
class PartitionOutcome:
    day: date
    result: ValidationResult
    valid_jobs_path: Path
    rejections_path: Path

    @property
    def extracted(self) -> int:
        return self.result.extracted

    @property
    def valid(self) -> int:
        return len(self.result.valid_deliveries)

    @property
    def rejected(self) -> int:
        return len(self.result.rejected_references)


def validate_partition(data_dir: Path, day: date, now: datetime,
                       settings: ValidationSettings) -> PartitionOutcome:
    deliveries, items = read_extraction(data_dir, day)
    result = split(deliveries, items, now, settings)
    del deliveries, items  # the result holds what is kept: a million rows weigh about 1 GB
    valid_jobs_path, rejections_path = write_outcome(data_dir, day, result,
                                                     valid_jobs_slices(result))
    return PartitionOutcome(day, result, valid_jobs_path, rejections_path)


def read_extraction(data_dir: Path, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The day's extracted deliveries and items as frames."""
    # Once per process, before the day's frames, the slices and their temporaries exist.
    map_large_blocks()
    deliveries_path, items_path = day_files(data_dir, day)
    for path in (deliveries_path, items_path):
        if not path.exists():
            raise FileNotFoundError(
                f"no extraction for {day.isoformat()}: {path} is missing; "
                "materialize erp_deliveries for this date first")
    frames = pq.read_table(deliveries_path).to_pandas(), pq.read_table(items_path).to_pandas()
    # The tables read are garbage now, but Arrow's allocator keeps their pages (about 0.4 GB at
    # a million deliveries) for later allocations; the frames' Python objects cannot use them.
    pa.default_memory_pool().release_unused()
    return frames


def write_outcome(data_dir: Path, day: date, result: ValidationResult,
                  jobs: pa.Table | Iterable[pa.Table]) -> tuple[Path, Path]:
    """Replace the day's valid_jobs.parquet (`jobs`, or its slices one after the other) and
    rejections.parquet together."""
    valid_jobs_path, rejections_path = job_files(data_dir, day)
    failures = pa.Table.from_pandas(result.failures[list(FAILURE_COLUMNS)],
                                    schema=REJECTIONS_SCHEMA, preserve_index=False)

    def write_both(jobs_tmp: Path) -> None:
        with pq.ParquetWriter(jobs_tmp, VALID_JOBS_SCHEMA) as writer:
            for part in [jobs] if isinstance(jobs, pa.Table) else jobs:
                writer.write_table(part)
        atomic_write(rejections_path, lambda tmp: pq.write_table(failures, tmp))

    atomic_write(valid_jobs_path, write_both)
    return valid_jobs_path, rejections_path


def valid_jobs_table(result: ValidationResult, bodies: pa.Array, hashes: pa.Array,
                     rows: pa.Array | pa.ChunkedArray | None = None) -> pa.Table:
    """The valid_jobs.parquet table: the valid rows' payload_bodies, their payload_digests, their
    CSV rows (bodies_and_rows; none given: every row left to the cut) and their canonical
    columns."""
    return _jobs_table(result.valid_deliveries, bodies, hashes, rows)


def valid_jobs_slices(result: ValidationResult, workers: int = WORKERS) -> Iterator[pa.Table]:
    """valid_jobs_table slice by slice, in row order: only the slices being built are held (a
    million bodies and rows weigh about 1.5 GB). `workers` slices are built at once, on threads:
    Arrow's kernels and numpy, most of the work, run outside the GIL."""
    valid = result.valid_deliveries
    build = slice_builder(valid, result.valid_items)

    def table(start: int) -> pa.Table:
        bodies, rows = build(start)
        return _jobs_table(valid.iloc[start:start + len(bodies)], bodies,
                           payload_digests(bodies), rows)

    return in_order(table, slice_starts(len(valid)), workers)


def _jobs_table(valid: pd.DataFrame, bodies: pa.Array, hashes: pa.Array,
                rows: pa.Array | pa.ChunkedArray | None) -> pa.Table:
    canonical = pa.Table.from_pandas(valid[[f.name for f in JOB_SCHEMA]], schema=JOB_SCHEMA,
                                     preserve_index=False)
    return pa.Table.from_arrays(
        [canonical["reference_number"], bodies, hashes,
         pa.nulls(len(valid), pa.string()) if rows is None else rows,
         *(canonical[f.name] for f in JOB_SCHEMA if f.name != "reference_number")],
        schema=VALID_JOBS_SCHEMA)
