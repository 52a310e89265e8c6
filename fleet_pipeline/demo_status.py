"""What the demo reads back from the pipeline database while it runs (how many of the day's
uploads are called back, when a retry is due) and how it words the day's status."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.callback_tables import callback_events
from fleet_pipeline.ledger.tables import jobs, uploads


def upload_callbacks(engine: sa.Engine, day: date, now: datetime | None = None
                     ) -> tuple[int, int, int]:
    """(called back, overdue, accepted) uploads of the day: an upload is overdue when its
    callback has not landed by its deadline; the reconciliation then looks its jobs up."""
    now = now or datetime.now(UTC)
    landed = sa.select(callback_events.c.upload_id).distinct()
    accepted = sa.and_(uploads.c.partition_date == day, uploads.c.accepted_at.is_not(None))
    with engine.connect() as conn:
        rows = conn.execute(sa.select(uploads.c.upload_id.in_(landed), uploads.c.deadline_at)
                            .where(accepted)).all()
    called_back = sum(1 for landed_, _ in rows if landed_)
    overdue = sum(1 for landed_, deadline in rows
                  if not landed_ and deadline is not None and _utc(deadline) <= now)
    return called_back, overdue, len(rows)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def retry_wait(engine: sa.Engine, day: date, now: datetime | None = None) -> float | None:
    """Seconds until a send has something to do for the day (0: now), None when nothing waits.

    A send settles `rejected` jobs (retry or escalate), probes `unknown` ones and sends `queued`
    ones once their back-off has passed.
    """
    now = now or datetime.now(UTC)
    waiting = (st.QUEUED, st.UNKNOWN, st.REJECTED)
    query = (sa.select(jobs.c.state, sa.func.min(jobs.c.next_attempt_at), sa.func.count())
             .where(jobs.c.partition_date == day, jobs.c.state.in_(waiting))
             .group_by(jobs.c.state))
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    if not rows:
        return None
    if any(state != st.QUEUED or due is None for state, due, _ in rows):
        return 0.0
    due = _utc(min(due for _, due, _ in rows))
    return max(0.0, (due - now).total_seconds())


def summary_lines(status: dict[str, Any]) -> list[tuple[str, object]]:
    """The demo's summary, label and value, from a day status."""
    classes = status["states"]
    waiting = sum(classes.get(name, 0) for name in
                  ("awaiting_confirmation", "overdue", "not_sent"))
    duplicates = status.get("duplicates")
    return [
        ("deliveries of the day", status["extracted"]),
        ("created in Fleet", classes.get("created", 0) + classes.get("created_twice", 0)),
        ("rejected by validation", classes.get("rejected_by_validation", 0)),
        ("rejected by the Fleet API", classes.get("rejected_by_api", 0)),
        ("still awaiting an answer", waiting),
        ("escalated to a person", status["escalated"]),
        ("created twice in Fleet", status.get("fleet_duplicates", duplicates or 0)),
        ("escalation report", status.get("report_path") or "none (nothing escalated)"),
    ]
