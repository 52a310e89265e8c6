"""Materialization metadata of the ERP extraction: counts, schemas and a masked preview."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq

from fleet_pipeline.erp.canonical import ITEM_COLUMNS, JOB_COLUMNS, Column
from fleet_pipeline.erp.extract import ExtractStats
from fleet_pipeline.masking import mask_frame

PREVIEW_ROWS = 5


def table_schema(columns: Sequence[Column]) -> dg.TableSchema:
    return dg.TableSchema(columns=[
        dg.TableColumn(
            name=c.name, type=str(c.type), description=c.doc,
            constraints=dg.TableColumnConstraints(nullable=not c.required),
        )
        for c in columns
    ])


DELIVERIES_SCHEMA = table_schema(JOB_COLUMNS)
ITEMS_SCHEMA = table_schema(ITEM_COLUMNS)


def masked_preview(path: Path, rows: int = PREVIEW_ROWS) -> str:
    """The first rows of a Parquet file as markdown, personal data masked."""
    batch = next(pq.ParquetFile(path).iter_batches(batch_size=rows), None)
    if batch is None:
        return "_no rows_"
    return mask_frame(batch.to_pandas()).to_markdown(index=False)


def extraction_metadata(days: Sequence[ExtractStats]) -> dict[str, object]:
    """Metadata for one run; with several days the counts are the run's totals, split per day."""
    last = days[-1]
    metadata: dict[str, object] = {
        "dagster/row_count": sum(s.deliveries for s in days),
        "items": sum(s.items for s in days),
        "bytes": sum(s.bytes for s in days),
        "seconds": round(sum(s.seconds for s in days), 3),
        "dagster/column_schema": DELIVERIES_SCHEMA,
        "items_column_schema": dg.MetadataValue.table_schema(ITEMS_SCHEMA),
        "folder": dg.MetadataValue.path(str(last.deliveries_path.parent)),
        "preview": dg.MetadataValue.md(masked_preview(last.deliveries_path)),
    }
    if len(days) > 1:
        metadata["per_day"] = dg.MetadataValue.table(
            records=[dg.TableRecord({"date": s.day.isoformat(), "deliveries": s.deliveries,
                                     "items": s.items}) for s in days],
            schema=dg.TableSchema(columns=[dg.TableColumn("date", "string"),
                                           dg.TableColumn("deliveries", "int"),
                                           dg.TableColumn("items", "int")]),
        )
    for name, columns in last.absent_columns.items():
        metadata[f"{name}_columns_not_returned"] = ", ".join(columns)
    for name, columns in last.extra_columns.items():
        metadata[f"{name}_columns_ignored"] = ", ".join(columns)
    for name, reader in last.readers.items():
        metadata[f"{name}_read_by"] = reader
    return metadata
