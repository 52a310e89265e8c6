"""Where a day stands, for `fleet-pipeline status` and anything else that asks (a plain dict).

The classes are counted live from the ledger (the reconciliation's own SELECT, nothing written),
so the answer is current even between two reconciliations; escalations and the report are
those of the day's last reconciliation.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from fleet_pipeline.config import Settings
from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.reconcile.classify import last_reconciled, live_counts
from fleet_pipeline.reconcile.escalate import open_counts
from fleet_pipeline.reconcile.report import report_path


def day_status(engine: sa.Engine, day: date, *, data_dir: Path | None = None,
               now: datetime | None = None) -> dict[str, Any]:
    """`date`, `extracted` (rows of the day with a class), `states` (a count per class, summing
    to `extracted`), `unexpected`, `duplicates` (references Fleet holds twice), `escalated`
    (open escalations) and `escalations` by reason, `reconciled_at` and `report_path` (None
    until the day is reconciled)."""
    now = now or datetime.now(UTC)
    data_dir = Path(data_dir) if data_dir is not None else Settings().data_dir
    with engine.connect() as conn:
        counts = live_counts(conn, day, now)
        escalations = open_counts(conn, day)
        reconciled_at = last_reconciled(conn, day)
    states = {status: counts[status] for status in rt.EXPECTED_STATUSES}
    report = report_path(data_dir, day)
    return {
        "date": day.isoformat(),
        "extracted": sum(states.values()),
        "states": states,
        "unexpected": counts[rt.UNEXPECTED],
        "duplicates": counts[rt.CREATED_TWICE],
        "escalated": sum(escalations.values()),
        "escalations": escalations,
        "reconciled_at": reconciled_at.isoformat() if reconciled_at else None,
        "report_path": str(report) if report.exists() else None,
    }
