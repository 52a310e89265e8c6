"""What the simulator did, for tests, the chaos suite and `fleet-pipeline simulator inspect`:
jobs per reference_number (duplicates stand out), and uploads with rows and callback attempts.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from fleet_pipeline.simulator.store import DELIVERED, DROPPED, GIVEN_UP, PENDING, SimulatorStore


def _iso(unix: float | None) -> str | None:
    return None if unix is None else datetime.fromtimestamp(unix, UTC).isoformat()


def references_report(store: SimulatorStore) -> dict[str, Any]:
    grouped: dict[tuple[str, str | None], list[int]] = defaultdict(list)
    for row in store.jobs_by_reference():
        grouped[(row["account"], row["reference_number"])].append(row["job_id"])
    references = [
        {"account": account, "reference_number": reference, "job_ids": ids, "count": len(ids)}
        for (account, reference), ids in grouped.items()
        if reference is not None
    ]
    duplicated = [entry for entry in references if entry["count"] > 1]
    return {
        "references": references,
        "summary": {
            "total_jobs": sum(len(ids) for ids in grouped.values()),
            "references": len(references),
            "jobs_without_reference": sum(
                len(ids) for (_, reference), ids in grouped.items() if reference is None
            ),
            "references_created_more_than_once": len(duplicated),
            "duplicates": duplicated,
        },
    }


def uploads_report(store: SimulatorStore, *, include_rows: bool = True) -> dict[str, Any]:
    rows_by_upload: dict[int, list[dict]] = defaultdict(list)
    for row in store.all_upload_rows():
        errors = json.loads(row["errors"]) if row["errors"] else None
        rows_by_upload[row["upload_id"]].append(
            {
                "row_number": row["row_number"],
                "reference_number": row["reference_number"],
                "job_id": row["job_id"],
                "errors": errors,
            }
        )
    attempts: dict[int, list[dict]] = defaultdict(list)
    for attempt in store.all_attempts():
        attempts[attempt["callback_id"]].append(
            {
                "attempt": attempt["attempt"],
                "at": _iso(attempt["at"]),
                "status_code": attempt["status_code"],
                "error": attempt["error"],
            }
        )
    callbacks: dict[int, list[dict]] = defaultdict(list)
    callback_counts = dict.fromkeys((PENDING, DELIVERED, GIVEN_UP, DROPPED), 0)
    for callback in store.all_callbacks():
        callback_counts[callback["status"]] += 1
        callbacks[callback["upload_id"]].append(
            {
                "callback_id": callback["callback_id"],
                "status": callback["status"],
                "duplicate_of": callback["duplicate_of"],
                "held": bool(callback["held"]),
                "released": bool(callback["released"]),
                "shuffled": bool(callback["shuffled"]),
                "bad_signature": bool(callback["bad_signature"]),
                "attempts": attempts[callback["callback_id"]],
            }
        )
    uploads = []
    for upload in store.uploads():
        rows = rows_by_upload[upload["upload_id"]]
        processed = upload["processed_at"] is not None
        entry = {
            "upload_id": upload["upload_id"],
            "account": upload["account"],
            "filename": upload["filename"],
            "webhook_url": upload["webhook_url"],
            "template_version": upload["template_version"],
            "received_at": _iso(upload["received_at"]),
            "processed_at": _iso(upload["processed_at"]),
            "status": "processed" if processed else "received",
            "row_count": len(rows),
            "created": sum(1 for row in rows if row["job_id"] is not None),
            "rejected": sum(1 for row in rows if processed and row["job_id"] is None),
            "callbacks": callbacks[upload["upload_id"]],
        }
        if include_rows:
            entry["rows"] = rows
        uploads.append(entry)
    return {
        "uploads": uploads,
        "summary": {
            "uploads": len(uploads),
            "unprocessed": sum(1 for upload in uploads if upload["status"] == "received"),
            "callbacks": callback_counts,
        },
    }


def render_text(references: dict[str, Any], uploads: dict[str, Any]) -> str:
    """A short human summary; reference numbers are the ERP's keys, not personal data."""
    summary = references["summary"]
    lines = [
        f"jobs: {summary['total_jobs']}  references: {summary['references']}  "
        f"created more than once: {summary['references_created_more_than_once']}  "
        f"without reference: {summary['jobs_without_reference']}"
    ]
    for duplicate in summary["duplicates"]:
        ids = ", ".join(str(job_id) for job_id in duplicate["job_ids"])
        lines.append(f"  DUPLICATE {duplicate['reference_number']} ({duplicate['account']}): {ids}")
    counts = uploads["summary"]["callbacks"]
    lines.append(
        f"uploads: {uploads['summary']['uploads']}  unprocessed: "
        f"{uploads['summary']['unprocessed']}  callbacks: "
        + ", ".join(f"{status} {count}" for status, count in counts.items())
    )
    for upload in uploads["uploads"]:
        deliveries = "; ".join(
            f"#{cb['callback_id']} {cb['status']} after {len(cb['attempts'])} attempt(s)"
            + (" [duplicate]" if cb["duplicate_of"] else "")
            + (" [bad signature]" if cb["bad_signature"] else "")
            for cb in upload["callbacks"]
        )
        lines.append(
            f"  upload {upload['upload_id']} {upload['status']}: {upload['row_count']} rows, "
            f"{upload['created']} created, {upload['rejected']} rejected; "
            f"callbacks: {deliveries or 'none'}"
        )
    return "\n".join(lines)
