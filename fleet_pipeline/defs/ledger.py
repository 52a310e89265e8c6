"""The pipeline database (the job ledger) as a Dagster resource, shared by every asset that writes
to it: validation (rejections), the uploads and the reconciliation."""

from __future__ import annotations

import os

import dagster as dg
import sqlalchemy as sa
from pydantic import Field, PrivateAttr

from fleet_pipeline.config import Settings
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine


class LedgerResource(dg.ConfigurableResource):
    """The pipeline database (the ledger); its schema is brought to head when a run starts."""

    db_url: str = Field(description="SQLAlchemy URL of the pipeline database (FLEET_DB_URL).")

    _engine: sa.Engine | None = PrivateAttr(default=None)

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> LedgerResource:
        settings = settings or Settings()
        return cls(db_url=dg.EnvVar("FLEET_DB_URL") if os.environ.get("FLEET_DB_URL")
                   else settings.pipeline_db_url)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._engine = make_engine(self.db_url)
        migrate.ensure_schema(self._engine)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @property
    def engine(self) -> sa.Engine:
        if self._engine is None:
            raise RuntimeError("the ledger resource is set up when a run starts")
        return self._engine
