"""Materialization metadata of the upload chain: counts the UI plots, and short tables.

Reference numbers are the ERP's keys, not personal data; no payload is shown.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from fleet_pipeline.ledger import states as st
from fleet_pipeline.uploads.run import BatchResult, SendResult

TABLE_ROWS = 50


def _table(header: tuple[str, ...], rows: list[tuple[Any, ...]], total: int | None = None
           ) -> dg.MetadataValue:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell).replace("|", "\\|") for cell in row) + " |"
              for row in rows[:TABLE_ROWS]]
    total = len(rows) if total is None else total
    if total > TABLE_ROWS:
        lines.append(f"\n{total - TABLE_ROWS} more not shown")
    return dg.MetadataValue.md("\n".join(lines) if rows else "none")


def batch_metadata(result: BatchResult) -> dict[str, Any]:
    plan, counts = result.plan, result.counts
    uploads = result.cut.uploads if result.cut else ()
    return {
        "valid_jobs": plan.valid,
        "new_jobs": plan.result.inserted,
        "refreshed_before_send": plan.result.refreshed,
        "requeued_by_erp_change": len(plan.result.requeued),
        "withdrawn": len(plan.withdrawn.changed),
        "jobs_to_send": result.queued,
        "endpoint": result.endpoint if result.queued else "none",
        "uploads": len(uploads),
        "upload_csv_bytes": sum(upload.csv_bytes for upload in uploads),
        "jobs_one_by_one": (len(result.cut.single_only) if result.cut
                            else result.queued),
        "left_out_created": counts[st.CREATED],
        "left_out_in_flight": counts[st.IN_FLIGHT] + counts[st.SUBMITTED] + counts[st.UNKNOWN],
        "left_out_escalated": counts[st.ESCALATED],
        "rejected_invalid": counts[st.REJECTED_INVALID],
        "changed_after_send": len(plan.result.changed_after_send),
        "changed_after_send_jobs": _table(("reference_number", "state"),
                                          list(plan.result.changed_after_send)),
        "upload_files": _table(("upload_id", "jobs", "bytes"),
                               [(u.upload_id, u.job_count, u.csv_bytes) for u in uploads]),
        "dagster/row_count": result.queued,
    }


def send_metadata(result: SendResult) -> dict[str, Any]:
    sent, counts, recovery = result.send, result.counts, result.recovery
    to_prove = sum(counts.values()) - counts[st.REJECTED_INVALID] - counts[st.WITHDRAWN]
    failures = sorted(sent.failures.items(), key=lambda item: (-item[1], item[0]))
    return {
        "endpoint": result.endpoint or "none",
        "uploads_sent": sent.uploads_sent,
        "jobs_sent_bulk": sent.jobs_by_endpoint[st.BULK],
        "jobs_sent_single": sent.jobs_by_endpoint[st.SINGLE],
        "created": counts[st.CREATED],
        "rejected": counts[st.REJECTED],
        "unknown": counts[st.UNKNOWN],
        "awaiting_callback": counts[st.SUBMITTED],
        "escalated": counts[st.ESCALATED],
        "still_queued": counts[st.QUEUED],
        "creation_rate": dg.MetadataValue.float(
            counts[st.CREATED] / to_prove if to_prove else 0.0),
        "send_rate_per_minute": dg.MetadataValue.float(round(sent.jobs_per_minute, 1)),
        "failures_by_reason": _table(("outcome", "reason", "jobs"),
                                     [(outcome, reason, jobs)
                                      for (outcome, reason), jobs in failures]),
        "recovered_interrupted": recovery.interrupted,
        "recovered_overdue": recovery.overdue,
        "probed": recovery.probed,
        "probe_found": recovery.found,
        "probe_absent": recovery.absent,
        "duplicates_found": len(recovery.duplicates),
        "dagster/row_count": sent.jobs_sent,
    }
