"""What needs a person, from the day's reconciliation rows, kept in the `escalations` table.

| reason            | rows                                                                |
| ----------------- | ------------------------------------------------------------------- |
| invalid_data      | rejected_by_validation: the ERP row must be fixed                   |
| api_rejected      | rejected_by_api, permanent: the job's data must change              |
| retries_exhausted | rejected_by_api (transient) or overdue, escalated after the last    |
|                   | attempt                                                             |
| unconfirmed       | awaiting_confirmation or overdue for longer than the SLA            |
| created_twice     | Fleet holds more than one job for the reference: cancel the extra   |
| unexpected        | a callback named a reference we never sent                          |

An escalation opens when its reason first appears for a row, stays open (last_seen_at) while the
reconciliation still finds it, and is resolved when it is gone. Set-based: the day's current
reasons and its open escalations go to two temporary tables keyed alike, then three
statements resolve, refresh and open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.reconcile_tables import escalations, reconciliation_rows
from fleet_pipeline.ledger.tables import REFERENCE_LENGTH

_stage_metadata = sa.MetaData()
KEY_LENGTH = REFERENCE_LENGTH + 20
# Every escalation the reconciliation finds now, keyed like `known` below.
stage = sa.Table(
    "reconcile_escalation_stage",
    _stage_metadata,
    sa.Column("key", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH)),
    sa.Column("row_position", sa.Integer),
    sa.Column("reason", sa.String(rt.STATUS_LENGTH), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("since", escalations.c.since.type),
    sa.Index("ix_reconcile_escalation_stage_key", "key", "reason"),
    prefixes=["TEMPORARY"],
)
# The day's open escalations, keyed the same way: both sides of every match have an index.
known = sa.Table(
    "reconcile_escalation_known",
    _stage_metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("key", sa.String(KEY_LENGTH), nullable=False),
    sa.Column("reason", sa.String(rt.STATUS_LENGTH), nullable=False),
    sa.Index("ix_reconcile_escalation_known_key", "key", "reason"),
    prefixes=["TEMPORARY"],
)


def _key(reference: sa.ColumnElement, position: sa.ColumnElement) -> sa.ColumnElement[str]:
    # A row without a reference (a nameless invalid row) is told apart by its position.
    return sa.func.coalesce(reference, sa.literal("#") + sa.cast(position, sa.String))


@dataclass(frozen=True)
class EscalationSync:
    opened: int
    resolved: int
    open: dict[str, int]  # open escalations of the day per reason (every reason listed)

    @property
    def total_open(self) -> int:
        return sum(self.open.values())


def escalation_reason(now: datetime, sla: timedelta) -> sa.ColumnElement:
    """The reason a reconciliation row needs a person, or NULL."""
    r = reconciliation_rows.c
    late = r.since < now - sla
    return sa.case(
        (r.status == rt.REJECTED_BY_VALIDATION, rt.INVALID_DATA),
        ((r.status == rt.REJECTED_BY_API) & (r.rejection_class == st.PERMANENT), rt.API_REJECTED),
        ((r.status == rt.REJECTED_BY_API) & (r.ledger_state == st.ESCALATED),
         rt.RETRIES_EXHAUSTED),
        ((r.status == rt.OVERDUE) & (r.ledger_state == st.ESCALATED), rt.RETRIES_EXHAUSTED),
        (r.status.in_((rt.OVERDUE, rt.AWAITING_CONFIRMATION)) & late, rt.UNCONFIRMED),
        (r.status == rt.CREATED_TWICE, rt.DUPLICATE_JOBS),
        (r.status == rt.UNEXPECTED, rt.UNEXPECTED_JOB),
        else_=sa.null(),
    )


def sync_escalations(conn: sa.Connection, day: date, now: datetime, sla: timedelta
                     ) -> EscalationSync:
    """Bring the day's escalations in line with its reconciliation rows (written just before)."""
    reason = escalation_reason(now, sla)
    r, e = reconciliation_rows.c, escalations.c
    for table in (stage, known):
        table.drop(conn, checkfirst=True)
        table.create(conn)
    try:
        conn.execute(stage.insert().from_select(
            ["key", "reference_number", "row_position", "reason", "detail", "since"],
            sa.select(_key(r.reference_number, r.row_position), r.reference_number,
                      r.row_position, reason, r.detail, r.since)
            .where(r.partition_date == day, reason.is_not(None))))
        conn.execute(known.insert().from_select(
            ["id", "key", "reason"],
            sa.select(e.id, _key(e.reference_number, e.row_position), e.reason)
            .where(e.partition_date == day, e.resolved_at.is_(None))))
        found = sa.exists().where(stage.c.key == known.c.key, stage.c.reason == known.c.reason)
        resolved = conn.execute(
            sa.update(escalations)
            .where(e.id.in_(sa.select(known.c.id).where(~found)))
            .values(resolved_at=now)).rowcount
        # UPDATE ... FROM both stages (PostgreSQL, SQLite >= 3.33).
        conn.execute(
            sa.update(escalations)
            .where(e.id == known.c.id, stage.c.key == known.c.key,
                   stage.c.reason == known.c.reason)
            .values(last_seen_at=now, detail=stage.c.detail))
        new = (
            sa.select(sa.literal(day, type_=sa.Date), stage.c.reference_number,
                      stage.c.row_position, stage.c.reason, stage.c.detail, stage.c.since,
                      sa.literal(now, type_=e.opened_at.type),
                      sa.literal(now, type_=e.last_seen_at.type))
            .where(~sa.exists().where(known.c.key == stage.c.key,
                                      known.c.reason == stage.c.reason))
        )
        opened = conn.execute(escalations.insert().from_select(
            ["partition_date", "reference_number", "row_position", "reason", "detail", "since",
             "opened_at", "last_seen_at"], new)).rowcount
    finally:
        for table in (stage, known):
            table.drop(conn)
    return EscalationSync(opened, resolved, open_counts(conn, day))


def open_counts(conn: sa.Connection, day: date) -> dict[str, int]:
    counts = dict.fromkeys(rt.ESCALATION_REASONS, 0)
    query = (sa.select(escalations.c.reason, sa.func.count())
             .where(escalations.c.partition_date == day, escalations.c.resolved_at.is_(None))
             .group_by(escalations.c.reason))
    counts.update(dict(conn.execute(query).all()))
    return counts
