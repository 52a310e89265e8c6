"""Where a day's validation failures reach the ledger (jobs in state `rejected_invalid`)."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from fleet_pipeline.ledger.repository import record_validation_rejections


def record_rejections(context: dg.AssetExecutionContext, engine: sa.Engine, day: date,
                      failures: pd.DataFrame) -> None:
    """Record `day`'s failures (split's FAILURE_COLUMNS, one row per failed check; values masked)
    and move every rejected reference to `rejected_invalid`, in one transaction.

    The day's earlier failures are replaced, so a re-run after the ERP was fixed leaves only what
    is still wrong; jobs Fleet holds or may hold keep their state.
    """
    with engine.begin() as conn:
        applied = record_validation_rejections(conn, day, failures, run_id=context.run.run_id)
    context.log.info(f"{day}: {len(failures)} failed checks recorded in the ledger; "
                     f"{len(applied.changed)} jobs now rejected_invalid, "
                     f"{len(applied.ignored)} kept their state (Fleet holds or may hold them)")
