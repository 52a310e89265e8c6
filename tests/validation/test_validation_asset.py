"""The `delivery_jobs` asset and its rejection-rate check, materialized on Parquet files."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from validation_rows import delivery, item

from fleet_pipeline.config import settings
from fleet_pipeline.defs.erp.resources import PartitionStoreResource
from fleet_pipeline.defs.ledger import LedgerResource
from fleet_pipeline.defs.validation import assets as validation_assets
from fleet_pipeline.defs.validation.assets import delivery_jobs
from fleet_pipeline.defs.validation.checks import REJECTION_RATE_CHECK
from fleet_pipeline.erp.canonical import ITEM_SCHEMA, JOB_SCHEMA
from fleet_pipeline.erp.extract import day_files
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import jobs as ledger_jobs
from fleet_pipeline.ledger.tables import validation_failures
from fleet_pipeline.validation.partition import (
    REJECTIONS_SCHEMA,
    VALID_JOBS_SCHEMA,
    job_files,
)
from fleet_pipeline.validation.payloads import job_payload

# Partitions open two days ahead: tomorrow is always a partition, and its 09:30 is ahead of now.
TOMORROW = datetime.now(UTC).date() + timedelta(days=1)


def rows_for(day: date, good: int, bad: int) -> tuple[list[dict], list[dict]]:
    at = datetime.combine(day, datetime.min.time()) + timedelta(hours=9, minutes=30)
    deliveries = [delivery(f"G-{day}-{n}", scheduled_date=day, scheduled_delivery_ts=at)
                  for n in range(good)]
    deliveries += [delivery(f"B-{day}-{n}", scheduled_date=day, scheduled_delivery_ts=at,
                            dropoff_contact_number="0800 FLOWERS", dropoff_email="n/a")
                   for n in range(bad)]
    return deliveries, [item(d["reference_number"]) for d in deliveries]


def write_extraction(day: date, good: int, bad: int) -> None:
    deliveries, items = rows_for(day, good, bad)
    deliveries_path, items_path = day_files(settings().data_dir, day)
    deliveries_path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(deliveries, schema=JOB_SCHEMA), deliveries_path)
    pq.write_table(pa.Table.from_pylist(items, schema=ITEM_SCHEMA), items_path)


def run(instance: dg.DagsterInstance, keys: list[str], **kwargs) -> dg.ExecuteInJobResult:
    tags = ({"dagster/asset_partition_range_start": keys[0],
             "dagster/asset_partition_range_end": keys[-1]} if len(keys) > 1 else None)
    return dg.materialize(
        [delivery_jobs], instance=instance, tags=tags,
        partition_key=keys[0] if len(keys) == 1 else None,
        resources={"partition_store": PartitionStoreResource.from_settings(),
                   "ledger": LedgerResource.from_settings()}, **kwargs)


@pytest.fixture
def instance(fleet_home):
    with dg.instance_for_test() as instance:
        yield instance


@pytest.fixture
def recorded(monkeypatch) -> list[tuple[date, list[str]]]:
    """What reached the ledger hook: (day, rejected references); the real hook still runs."""
    calls: list = []
    real = validation_assets.record_rejections

    def spy(context, engine, day, failures):
        calls.append((day, sorted(set(failures["reference_number"]))))
        real(context, engine, day, failures)

    monkeypatch.setattr(validation_assets, "record_rejections", spy)
    return calls


def ledger_rows(day: date) -> tuple[list[tuple], list[tuple]]:
    """The ledger's jobs (reference, state) and failures (reference, column, check) of `day`."""
    engine = make_engine(LedgerResource.from_settings().db_url)
    with engine.connect() as conn:
        jobs = conn.execute(sa.select(ledger_jobs.c.reference_number, ledger_jobs.c.state)
                            .where(ledger_jobs.c.partition_date == day)
                            .order_by(ledger_jobs.c.reference_number)).all()
        failures = conn.execute(
            sa.select(validation_failures.c.reference_number, validation_failures.c.column_name,
                      validation_failures.c.check_name, validation_failures.c.masked_value)
            .where(validation_failures.c.partition_date == day)
            .order_by(validation_failures.c.column_name)).all()
    engine.dispose()
    return [tuple(r) for r in jobs], [tuple(r) for r in failures]


def materialization(result: dg.ExecuteInJobResult, key: str) -> dict:
    (event,) = [e for e in result.get_asset_materialization_events()
                if e.materialization.partition == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_one_day_writes_jobs_and_rejections(instance, recorded):
    write_extraction(TOMORROW, good=3, bad=1)
    key = TOMORROW.isoformat()

    result = run(instance, [key])

    assert result.success
    jobs_path, rejections_path = job_files(settings().data_dir, TOMORROW)
    jobs = pq.read_table(jobs_path)
    assert jobs.schema.equals(VALID_JOBS_SCHEMA)
    assert jobs["reference_number"].to_pylist() == [f"G-{key}-{n}" for n in range(3)]
    deliveries, items = rows_for(TOMORROW, 3, 1)
    for row, body, digest in zip(deliveries, jobs["payload"].to_pylist(),
                                 jobs["payload_hash"].to_pylist(), strict=False):
        line = pa.Table.from_pylist([item(row["reference_number"])], schema=ITEM_SCHEMA)
        record = pa.Table.from_pylist([row], schema=JOB_SCHEMA).to_pandas().to_dict("records")[0]
        assert json.loads(body) == job_payload(record, line.to_pandas().to_dict("records"))
        assert digest == hashlib.sha256(body.encode()).hexdigest()
    rejections = pq.read_table(rejections_path)
    assert rejections.schema.equals(REJECTIONS_SCHEMA)
    assert sorted(zip(rejections["column"].to_pylist(), rejections["check"].to_pylist(),
                      strict=True)) == [("dropoff_contact_number", "phone_format"),
                                        ("dropoff_email", "email_format")]
    assert recorded == [(TOMORROW, [f"B-{key}-0"])]
    jobs_in_ledger, failures_in_ledger = ledger_rows(TOMORROW)
    assert jobs_in_ledger == [(f"B-{key}-0", "rejected_invalid")]
    assert failures_in_ledger == [
        (f"B-{key}-0", "dropoff_contact_number", "phone_format", "0***(12)"),
        (f"B-{key}-0", "dropoff_email", "email_format", "n***(3)")]

    metadata = materialization(result, key)
    assert (metadata["extracted"], metadata["valid"], metadata["rejected"],
            metadata["dagster/row_count"], metadata["rejection_rate"]) == (4, 3, 1, 3, 0.25)
    assert "| phone_format" in metadata["failures_by_check"]
    assert "0800 FLOWERS" not in metadata["failure_sample"]  # masked: "0***(12)"
    assert "0***(12)" in metadata["failure_sample"]
    schema = metadata["dagster/column_schema"]
    by_name = {c.name: c for c in schema.columns}
    assert list(by_name)[:4] == ["reference_number", "payload", "payload_hash", "csv_row"]
    assert list(by_name) == VALID_JOBS_SCHEMA.names  # the file's columns, in its order
    assert "phone_format" in by_name["dropoff_contact_number"].constraints.other
    assert "field_uniqueness" not in by_name["dropoff_email"].constraints.other
    assert by_name["reference_number"].constraints.unique

    (check,) = result.get_asset_check_evaluations()
    assert check.check_name == REJECTION_RATE_CHECK
    assert check.partition == key
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["rejection_rate"].value == 0.25
    assert "0***(12)" in check.metadata["failure_sample"].value


def test_a_backfill_of_several_days_runs_once(instance, recorded, monkeypatch):
    monkeypatch.setenv("FLEET_REJECTION_CHECK_SEVERITY", "ERROR")
    days = [TOMORROW - timedelta(days=1), TOMORROW]
    write_extraction(days[0], good=0, bad=0)
    write_extraction(days[1], good=40, bad=1)

    result = run(instance, [d.isoformat() for d in days])

    assert result.success
    assert materialization(result, days[0].isoformat())["extracted"] == 0
    assert materialization(result, days[1].isoformat())["rejected"] == 1
    assert [day for day, _ in recorded] == days
    (check,) = result.get_asset_check_evaluations()
    assert check.passed  # 1 of 41 is 2.4%, under the default 5%
    assert "| " + days[1].isoformat() in check.metadata["summary"].value


def test_the_threshold_and_severity_are_settings(instance, recorded, monkeypatch):
    monkeypatch.setenv("FLEET_MAX_REJECTION_RATE", "0.01")
    monkeypatch.setenv("FLEET_REJECTION_CHECK_SEVERITY", "ERROR")
    write_extraction(TOMORROW, good=40, bad=1)
    (check,) = run(instance, [TOMORROW.isoformat()]).get_asset_check_evaluations()
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert check.metadata["max_rejection_rate"].value == 0.01


def test_a_day_without_extraction_fails_the_run(instance, recorded):
    result = run(instance, [TOMORROW.isoformat()], raise_on_error=False)
    assert not result.success
    assert recorded == []
