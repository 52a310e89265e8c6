"""Where a day's validation failures reach the ledger (jobs in state `rejected_invalid`)."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pandas as pd


def record_rejections(context: dg.AssetExecutionContext, day: date,
                      failures: pd.DataFrame) -> None:
    """Record `day`'s failures (split's FAILURE_COLUMNS, one row per failed check; values masked)
    and move every rejected reference to `rejected_invalid`.

    The boundary between validation and the ledger: `delivery_jobs` calls it once per day, after
    the day's files are written. The ledger side is wired here by its owner (it takes the frame as
    is: `reference_number`, `row_position`, `column`, `check`, `value`).
    """
