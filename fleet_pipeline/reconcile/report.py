"""The per-day escalation report, a CSV under the data dir, and the masking of its free text.

`reports/escalations/date=YYYY-MM-DD.csv`: one row per open escalation of the day, by reason and
reference, replaced whole on every reconciliation (an atomic rename). Free text from the API or
the ERP goes through `scrub` first, so an e-mail or phone number quoted in a message never
reaches the report, a log or a notification.
"""

from __future__ import annotations

import csv
import re
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from fleet_pipeline.ledger.reconcile_tables import escalations
from fleet_pipeline.masking import mask_value
from fleet_pipeline.storage import atomic_write

REPORT_COLUMNS = ("partition_date", "reason", "reference_number", "row_position", "since",
                  "opened_at", "detail")
MAX_DETAIL_CHARS = 500
_SCRUBBED_KEPT = 10_000

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Phone numbers and other long digit runs (job ids and positions are shorter).
_LONG_NUMBER = re.compile(r"(?<![\w])\+?\d[\d ()-]{6,}\d(?![\w])")
# A value quoted back by a message: "..." or '...' after a colon or "value".
_QUOTED = re.compile(r"([\"'])([^\"']{3,})\1")


def scrub(text: str | None) -> str | None:
    """`text` with e-mails, long numbers and quoted values masked, clipped for a report."""
    if text is None:
        return None
    text = _EMAIL.sub(lambda m: str(mask_value(m.group(0))), text)
    text = _LONG_NUMBER.sub("<number>", text)
    text = _QUOTED.sub(lambda m: f"{m.group(1)}{mask_value(m.group(2))}{m.group(1)}", text)
    return text if len(text) <= MAX_DETAIL_CHARS else text[:MAX_DETAIL_CHARS - 1] + "…"


def report_path(data_dir: Path, day: date) -> Path:
    return Path(data_dir) / "reports" / "escalations" / f"date={day.isoformat()}.csv"


def open_escalations(day: date) -> sa.Select:
    e = escalations.c
    return (sa.select(e.partition_date, e.reason, e.reference_number, e.row_position, e.since,
                      e.opened_at, e.detail)
            .where(e.partition_date == day, e.resolved_at.is_(None))
            .order_by(e.reason, e.reference_number, e.row_position))


def write_report(conn: sa.Connection, data_dir: Path, day: date) -> tuple[Path, int]:
    """Write the day's report; returns its path and how many rows it lists."""
    rows = 0
    # A day's escalations repeat a handful of texts (one API message, one validation check
    # for thousands of rows): each is scrubbed once.
    scrubbed: dict[str | None, str | None] = {}

    def write(tmp: Path) -> None:
        nonlocal rows
        with tmp.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(REPORT_COLUMNS)
            result = conn.execution_options(yield_per=5000).execute(open_escalations(day))
            for row in result:
                writer.writerow([
                    row.partition_date.isoformat(), row.reason, row.reference_number or "",
                    "" if row.row_position is None else row.row_position,
                    row.since.isoformat() if row.since else "", row.opened_at.isoformat(),
                    _scrubbed(scrubbed, row.detail) or ""])
                rows += 1

    path = atomic_write(report_path(data_dir, day), write)
    return path, rows


def _scrubbed(seen: dict[str | None, str | None], text: str | None) -> str | None:
    if text not in seen:
        if len(seen) >= _SCRUBBED_KEPT:  # texts that do not repeat: keep memory bounded
            seen.clear()
        seen[text] = scrub(text)
    return seen[text]
