"""Resources of the ERP extraction: the ERP database with its source queries, and the data dir.

Values come from the environment (docs/configuration.md). Where a variable is set, the resource
holds an EnvVar rather than its value, so the URL (which may carry a password) is resolved only
when a run starts and the Dagster UI shows the variable's name, never its content.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from fleet_pipeline.config import Settings
from fleet_pipeline.erp.extract import DEFAULT_CHUNK_ROWS
from fleet_pipeline.erp.source import Source, connect, load_source


def _from_env(name: str, default: str | None) -> str | None:
    return dg.EnvVar(name) if os.environ.get(name) else default


class ErpResource(dg.ConfigurableResource):
    """The ERP database (read only) and the two SQL files that map it to canonical rows."""

    url: str = Field(description="SQLAlchemy URL of the ERP database (FLEET_ERP_URL).")
    deliveries_query: str | None = Field(
        default=None, description="Path of the deliveries .sql file; empty = the sample ERP's.")
    items_query: str | None = Field(
        default=None, description="Path of the items .sql file; empty = the sample ERP's.")
    chunk_rows: int = Field(default=DEFAULT_CHUNK_ROWS,
                            description="Rows fetched and converted at a time.")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> ErpResource:
        settings = settings or Settings()
        return cls(
            url=_from_env("FLEET_ERP_URL", settings.erp_url),
            deliveries_query=_from_env("FLEET_ERP_DELIVERIES_QUERY", None),
            items_query=_from_env("FLEET_ERP_ITEMS_QUERY", None),
            chunk_rows=settings.erp_chunk_rows,
        )

    def engine(self) -> sa.Engine:
        return connect(self.url)

    def source(self) -> Source:
        return load_source(self.deliveries_query, self.items_query)


class PartitionStoreResource(dg.ConfigurableResource):
    """The folder that holds every asset's partition files."""

    data_dir: str = Field(description="Root of the partition folders (FLEET_DATA_DIR).")

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PartitionStoreResource:
        settings = settings or Settings()
        return cls(data_dir=str(settings.data_dir))

    @property
    def path(self) -> Path:
        return Path(self.data_dir)
