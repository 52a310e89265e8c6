"""Tell a chat channel about new escalations: one Slack-compatible JSON message (`text`).

Sent only when a reconciliation opened escalations. The message counts them by reason and lists
a few references with their (scrubbed) reasons: no names, phones, e-mails or addresses. The
webhook URL holds a credential: it is never logged, and a failure to post is reported by its
status only, never failing the reconciliation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path

import httpx

from fleet_pipeline.reconcile.report import scrub

SAMPLE_LINES = 10


def escalation_message(day: date, opened: int, open_by_reason: Mapping[str, int],
                       samples: Sequence[tuple[str, str | None, str | None]],
                       report: Path | None) -> dict[str, str]:
    """The message body. `samples`: (reason, reference_number, detail) of new escalations."""
    counts = ", ".join(f"{reason} {count}" for reason, count in sorted(open_by_reason.items())
                       if count)
    lines = [f"Fleet deliveries {day.isoformat()}: {opened} new escalation"
             f"{'s' if opened != 1 else ''} need a person (open: {counts or 'none'})."]
    for reason, reference, detail in samples[:SAMPLE_LINES]:
        lines.append(f"• {reason}: {reference or '(no reference)'}"
                     + (f" — {scrub(detail)}" if detail else ""))
    if opened > len(samples[:SAMPLE_LINES]):
        lines.append(f"… and {opened - len(samples[:SAMPLE_LINES])} more")
    if report is not None:
        lines.append(f"Report: {report.name} ({report.parent})")
    return {"text": "\n".join(lines)}


def notify(url: str, message: Mapping[str, str], *, transport: httpx.BaseTransport | None = None,
           timeout_s: float = 10.0) -> str:
    """POST the message; returns what happened, for the log (never the URL)."""
    try:
        with httpx.Client(transport=transport, timeout=timeout_s) as client:
            response = client.post(url, json=dict(message))
    except httpx.HTTPError as error:
        return f"escalation notification not sent: {type(error).__name__}"
    if response.is_success:
        return "escalation notification sent"
    return f"escalation notification refused: HTTP {response.status_code}"
