"""Materialization metadata of the reconciliation: numeric counts the UI plots across runs, a
markdown summary, masked samples and the table's column schema."""

from __future__ import annotations

from typing import Any

import dagster as dg

from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.reconcile.run import DayReconciliation

RECONCILIATION_SCHEMA = dg.TableSchema(columns=[
    dg.TableColumn("partition_date", "date", description="Scheduled delivery date."),
    dg.TableColumn("reference_number", "string",
                   description="Delivery number (ERP key); empty for an invalid row without one."),
    dg.TableColumn("row_position", "int", description="Row in the day's extraction, for invalid "
                   "rows without a delivery number."),
    dg.TableColumn("status", "string", description="What became of the job: " +
                   ", ".join(rt.STATUSES) + "."),
    dg.TableColumn("ledger_state", "string", description="The job's state in the ledger."),
    dg.TableColumn("rejection_class", "string",
                   description="permanent (data must change) or transient (retried)."),
    dg.TableColumn("fleet_job_id", "int", description="Fleet's job id, once created."),
    dg.TableColumn("upload_id", "string", description="The bulk upload of its latest send."),
    dg.TableColumn("attempts", "int", description="Sends so far."),
    dg.TableColumn("planned_at", "timestamp", description="When the job entered the ledger."),
    dg.TableColumn("since", "timestamp", description="When it reached its current state."),
    dg.TableColumn("detail", "string", description="The API's or validation's reason."),
    dg.TableColumn("reconciled_at", "timestamp",
                   description="When this row last changed (a run keeps unchanged rows)."),
])

_LABELS = {
    rt.CREATED: "created in Fleet",
    rt.CREATED_TWICE: "created twice (a duplicate in Fleet)",
    rt.REJECTED_BY_API: "rejected by the Fleet API",
    rt.REJECTED_BY_VALIDATION: "rejected by our validation",
    rt.AWAITING_CONFIRMATION: "awaiting confirmation",
    rt.OVERDUE: "overdue (no answer by the deadline)",
    rt.NOT_SENT: "not sent yet (or waiting for a retry)",
    rt.UNEXPECTED: "in a callback, never sent by us",
}


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> dg.MetadataValue:
    if not rows:
        return dg.MetadataValue.md("none")
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for row in rows:
        lines.append("| " + " | ".join("" if row[c] is None else str(row[c]).replace("|", "\\|")
                                       for c in columns) + " |")
    return dg.MetadataValue.md("\n".join(lines))


def reconciliation_metadata(result: DayReconciliation, samples: list[dict[str, Any]]
                            ) -> dict[str, Any]:
    counts = result.counts
    sendable = sum(counts[s] for s in rt.EXPECTED_STATUSES if s != rt.REJECTED_BY_VALIDATION)
    confirmed = counts[rt.CREATED] + counts[rt.CREATED_TWICE]
    metadata: dict[str, Any] = {status: counts[status] for status in rt.STATUSES}
    metadata |= {
        "extracted": result.extracted if result.extracted is not None else result.accounted,
        "accounted_for": result.accounted,
        "creation_rate": float(round(confirmed / sendable, 6)) if sendable else 0.0,
        "callback_events_taken": result.callbacks.events,
        "callback_rows_applied": result.callbacks.effects["created"]
        + result.callbacks.effects["rejected"],
        "repeated_callbacks": result.callbacks.duplicate_events,
        "conflicting_callbacks": result.callbacks.conflicting_events,
        "jobs_looked_up": result.retry.recovery.probed if result.retry else 0,
        "jobs_retried": result.retry.retried if result.retry else 0,
        "escalations_open": result.escalations.total_open,
        "escalations_opened": result.escalations.opened,
        "escalations_resolved": result.escalations.resolved,
        "escalation_report": dg.MetadataValue.path(str(result.report_path)),
        "dagster/row_count": sum(counts.values()),
        "summary": dg.MetadataValue.md(summary(result)),
        "samples": _table(samples, ("status", "reference_number", "row_position",
                                    "ledger_state", "attempts", "detail")),
    }
    return metadata


def summary(result: DayReconciliation) -> str:
    extracted = result.extracted if result.extracted is not None else "(no extraction on disk)"
    lines = [f"**{result.day.isoformat()}**: {extracted} deliveries extracted, "
             f"{result.accounted} accounted for.", "", "| class | jobs |", "| --- | ---: |"]
    lines += [f"| {_LABELS[s]} | {result.counts[s]:,} |" for s in rt.STATUSES]
    open_ = ", ".join(f"{reason} {n}" for reason, n in result.escalations.open.items() if n)
    lines += ["", f"Escalations open: {result.escalations.total_open} ({open_ or 'none'}); "
              f"{result.escalations.opened} new, {result.escalations.resolved} resolved. "
              f"Report: `{result.report_path.name}` ({result.report_rows} rows)."]
    return "\n".join(lines)
