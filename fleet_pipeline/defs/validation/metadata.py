"""What analysts see of validation in the catalog: the contract as a column schema, the failures
as markdown tables (values already masked by split), and per-day counts."""

from __future__ import annotations

import re
from datetime import datetime

import dagster as dg
import pandas as pd
import pandera.pandas as pa

from fleet_pipeline.erp.canonical import JOB_COLUMNS
from fleet_pipeline.validation.partition import PartitionOutcome
from fleet_pipeline.validation.schema import cross_column_checks, delivery_model
from fleet_pipeline.validation.settings import ValidationSettings

SAMPLE_ROWS = 20
TOP_CHECKS = 30

_PAYLOAD_COLUMNS = (
    dg.TableColumn("payload", "string",
                   "The JSON body of POST /delivery/jobs for this delivery (canonical JSON)."),
    dg.TableColumn("payload_hash", "string",
                   "sha256 of `payload`: tells the ledger that the ERP row changed."),
    dg.TableColumn("csv_row", "string",
                   "The payload's row of a template v1 bulk file (null: written by the cut)."),
)


def contract_schema(settings: ValidationSettings) -> dg.TableSchema:
    """The columns of valid_jobs.parquet, each with the checks every row passed."""
    model = delivery_model(settings, datetime(2000, 1, 1))
    schema = model.to_schema()
    cross: dict[str, list[str]] = {}
    for rule in cross_column_checks(model).values():
        cross.setdefault(rule.column, []).append(rule.check)
    columns = []
    for column in JOB_COLUMNS:
        declared = _declared(schema, column.name)
        checks = [check.name for check in declared.checks] + cross.get(column.name, [])
        columns.append(dg.TableColumn(
            name=column.name, type=str(column.type), description=column.doc,
            constraints=dg.TableColumnConstraints(
                nullable=declared.nullable and "required" not in checks,
                unique=declared.unique, other=sorted(set(checks)))))
    return dg.TableSchema(columns=[columns[0], *_PAYLOAD_COLUMNS, *columns[1:]])


def _declared(schema: pa.DataFrameSchema, name: str) -> pa.Column:
    if name in schema.columns:
        return schema.columns[name]
    return next(c for c in schema.columns.values() if c.regex and _matches(c.name, name))


def _matches(pattern: str, name: str) -> bool:
    return re.fullmatch(pattern, name) is not None


def failures_by_check(failures: pd.DataFrame) -> str:
    """Markdown: how many failures and rejected rows each (check, column) caused."""
    if failures.empty:
        return "_no failures_"
    table = (failures.groupby(["check", "column", "record"])
             .agg(failures=("row_position", "size"), rows=("row_position", "nunique"))
             .reset_index().sort_values(["failures", "check"], ascending=[False, True])
             .head(TOP_CHECKS))
    return table.to_markdown(index=False)


def failure_sample(failures: pd.DataFrame, rows: int = SAMPLE_ROWS) -> str:
    """Markdown: the first failures; personal values are masked, long ones cut (by split)."""
    if failures.empty:
        return "_no failures_"
    return failures.head(rows).to_markdown(index=False)


def partition_metadata(outcome: PartitionOutcome) -> dict[str, object]:
    failures = outcome.result.failures
    return {
        "extracted": outcome.extracted,
        "valid": outcome.valid,
        "rejected": outcome.rejected,
        "dagster/row_count": outcome.valid,
        "rejection_rate": float(round(outcome.result.rejection_rate, 6)),
        "failures": len(failures),
        "failures_by_check": dg.MetadataValue.md(failures_by_check(failures)),
        "failure_sample": dg.MetadataValue.md(failure_sample(failures)),
        "valid_jobs": dg.MetadataValue.path(str(outcome.valid_jobs_path)),
        "rejections": dg.MetadataValue.path(str(outcome.rejections_path)),
    }
