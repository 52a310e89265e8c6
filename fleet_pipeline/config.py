"""Settings read from the environment, with embedded defaults under one home folder.

Every variable is documented in docs/configuration.md. Nothing here is a secret default that
could leak into production: the only credentials with a default are the simulator's demo ones,
which the real Fleet API rejects.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path


def _env(name: str, default: str) -> str:
    value = os.environ.get(name)
    return default if value is None or value == "" else value


def _int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name} must be a whole number, got {raw!r}") from None


def fleet_home() -> Path:
    """The folder that holds every local file of the pipeline (`FLEET_HOME`, default ./.fleet)."""
    return Path(_env("FLEET_HOME", ".fleet")).expanduser().resolve()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@dataclass(frozen=True)
class Settings:
    home: Path = field(default_factory=fleet_home)

    @property
    def data_dir(self) -> Path:
        """Where partition files (Parquet) live."""
        return Path(_env("FLEET_DATA_DIR", str(self.home / "data"))).expanduser().resolve()

    @property
    def erp_url(self) -> str:
        return _env("FLEET_ERP_URL", sqlite_url(self.home / "erp.sqlite"))

    @property
    def erp_deliveries_query(self) -> str | None:
        """Path to a .sql file returning the canonical delivery columns, or None for the sample."""
        return os.environ.get("FLEET_ERP_DELIVERIES_QUERY") or None

    @property
    def erp_items_query(self) -> str | None:
        return os.environ.get("FLEET_ERP_ITEMS_QUERY") or None

    @property
    def erp_chunk_rows(self) -> int:
        return _int("FLEET_ERP_CHUNK_ROWS", 50_000)

    @property
    def pipeline_db_url(self) -> str:
        return _env("FLEET_DB_URL", sqlite_url(self.home / "pipeline.sqlite"))

    @property
    def retry_max_attempts(self) -> int:
        """Sends of one job (bulk or single) before it is escalated to a person."""
        return _int("FLEET_RETRY_MAX_ATTEMPTS", 5)

    @property
    def retry_base_seconds(self) -> int:
        """First wait before a job is sent again; doubles with every attempt."""
        return _int("FLEET_RETRY_BASE_SECONDS", 60)

    @property
    def retry_cap_seconds(self) -> int:
        """Longest wait between two sends of one job."""
        return _int("FLEET_RETRY_CAP_SECONDS", 3600)

    @property
    def partitions_start(self) -> str:
        return _env("FLEET_PARTITIONS_START", "2026-01-01")

    @property
    def days_ahead(self) -> int:
        """How many days after today have partitions (deliveries are planned ahead)."""
        return _int("FLEET_DAYS_AHEAD", 2)


def settings() -> Settings:
    return Settings()
