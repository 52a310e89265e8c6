"""When a day is ready to reconcile: the reconciliation sensor's decision as a plain function.

The sensor follows `callback_events` with a cursor ("id > last id seen"; events commit in id
order, see webhooks/landing.py), reading at most `max_events` per tick, and watches uploads whose
callback deadline passed since its last tick. A day it hears of is *ready* when none of its sent
uploads still awaits a callback: each has landed one or is past its deadline (an upload with no
clear answer to its POST, past the callback deadline after it was sent). A day not ready yet is
kept in the cursor (`waiting`) and looked at again on every tick until it is.

The run key names what the day's reconciliation will see: its newest callback event and how many
of its uploads went past their deadline without one. A late callback therefore asks for a new
reconciliation of the day (however old the day), and a repeated callback (same or equivalent
content, `duplicate_of` set) does not. Days are dates of any age: nothing here looks only at
the latest partition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.callback_tables import callback_events
from fleet_pipeline.ledger.tables import uploads

MAX_WAITING_DAYS = 400
# Uploads that may still be called back (a refused or never-sent file has no callback coming).
_MAY_CALL_BACK = (st.UPLOAD_SENDING, st.UPLOAD_ACCEPTED, st.UPLOAD_UNKNOWN, st.UPLOAD_OVERDUE)


@dataclass(frozen=True)
class Cursor:
    last_event_id: int = 0
    deadlines_checked_at: datetime | None = None
    waiting: tuple[str, ...] = ()

    def to_json(self) -> str:
        return json.dumps({"last_event_id": self.last_event_id,
                           "deadlines_checked_at": self.deadlines_checked_at.isoformat()
                           if self.deadlines_checked_at else None,
                           "waiting": list(self.waiting)})

    @classmethod
    def from_json(cls, text: str | None) -> Cursor:
        if not text:
            return cls()
        data = json.loads(text)
        checked = data.get("deadlines_checked_at")
        return cls(int(data.get("last_event_id", 0)),
                   datetime.fromisoformat(checked) if checked else None,
                   tuple(data.get("waiting", ())))


@dataclass(frozen=True)
class DayRequest:
    day: date
    run_key: str
    newest_event_id: int | None
    uploads_past_deadline: int


@dataclass(frozen=True)
class Tick:
    requests: list[DayRequest]
    cursor: Cursor
    events_read: int
    new_events_by_day: dict[date, int] = field(default_factory=dict)

    @property
    def waiting(self) -> tuple[str, ...]:
        return self.cursor.waiting


def _past_deadline(now: datetime, callback_deadline: timedelta) -> sa.ColumnElement[bool]:
    return sa.or_(
        uploads.c.deadline_at <= now,
        uploads.c.deadline_at.is_(None) & (uploads.c.sent_at <= now - callback_deadline))


def _called_back() -> sa.Exists:
    return sa.exists().where(callback_events.c.upload_id == uploads.c.upload_id)


def evaluate(conn: sa.Connection, cursor: Cursor, now: datetime, *,
             callback_deadline: timedelta, max_events: int) -> Tick:
    """The days to reconcile now, and the cursor to keep."""
    events = conn.execute(
        sa.select(callback_events.c.id, callback_events.c.duplicate_of, uploads.c.partition_date)
        .join(uploads, uploads.c.upload_id == callback_events.c.upload_id)
        .where(callback_events.c.id > cursor.last_event_id)
        .order_by(callback_events.c.id).limit(max_events)).all()
    new_by_day: dict[date, int] = {}
    for _, duplicate_of, day in events:
        if duplicate_of is None:
            new_by_day[day] = new_by_day.get(day, 0) + 1
    candidates = set(new_by_day) | {date.fromisoformat(d) for d in cursor.waiting}

    deadline_passed = (sa.select(uploads.c.partition_date).distinct()
                       .where(uploads.c.state.in_(_MAY_CALL_BACK),
                              _past_deadline(now, callback_deadline), ~_called_back()))
    if cursor.deadlines_checked_at is not None:
        # Only those whose deadline fell since the last tick: the others were seen then.
        checked = cursor.deadlines_checked_at
        deadline_passed = deadline_passed.where(sa.or_(
            uploads.c.deadline_at > checked,
            uploads.c.deadline_at.is_(None) & (uploads.c.sent_at > checked - callback_deadline)))
    candidates |= set(conn.scalars(deadline_passed))

    requests, waiting = [], []
    for day in sorted(candidates):
        request = day_request(conn, day, now, callback_deadline)
        if request is None:
            waiting.append(day.isoformat())
        else:
            requests.append(request)
    new_cursor = Cursor(events[-1][0] if events else cursor.last_event_id, now,
                        tuple(waiting[-MAX_WAITING_DAYS:]))
    return Tick(requests, new_cursor, len(events), new_by_day)


def day_request(conn: sa.Connection, day: date, now: datetime, callback_deadline: timedelta
                ) -> DayRequest | None:
    """A request for `day` when it is ready (see the module docstring), else None."""
    of_day = uploads.c.partition_date == day
    awaiting = conn.scalar(
        sa.select(sa.func.count()).select_from(uploads)
        .where(of_day, uploads.c.state.in_(_MAY_CALL_BACK), ~_called_back(),
               ~_past_deadline(now, callback_deadline)))
    if awaiting:
        return None
    newest = conn.scalar(
        sa.select(sa.func.max(callback_events.c.id))
        .join(uploads, uploads.c.upload_id == callback_events.c.upload_id)
        .where(of_day, callback_events.c.duplicate_of.is_(None)))
    past = conn.scalar(
        sa.select(sa.func.count()).select_from(uploads)
        .where(of_day, uploads.c.state.in_(_MAY_CALL_BACK), ~_called_back(),
               _past_deadline(now, callback_deadline)))
    if newest is None and not past:
        return None  # nothing sent in bulk that day
    return DayRequest(day, f"reconciliation:{day.isoformat()}:event-{newest or 0}:past-{past}",
                      newest, past)
