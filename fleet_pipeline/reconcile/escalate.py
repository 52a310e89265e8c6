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
reasons go to a temporary stage, then three statements resolve, refresh and open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from fleet_pipeline.ledger import reconcile_tables as rt
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.reconcile_tables import escalations, reconciliation
from fleet_pipeline.ledger.tables import REFERENCE_LENGTH

_stage_metadata = sa.MetaData()
stage = sa.Table(
    "reconcile_escalation_stage",
    _stage_metadata,
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH)),
    sa.Column("row_position", sa.Integer),
    sa.Column("reason", sa.String(rt.STATUS_LENGTH), nullable=False),
    sa.Column("detail", sa.Text),
    sa.Column("since", escalations.c.since.type),
    sa.Index("ix_reconcile_escalation_stage_key", "reference_number", "reason"),
    prefixes=["TEMPORARY"],
)


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
    r = reconciliation.c
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


def _same(e: sa.Table | sa.Alias, s: sa.Table) -> sa.ColumnElement[bool]:
    # Rows without a reference (nameless invalid rows) are told apart by their position.
    return sa.and_(
        e.c.reason == s.c.reason,
        sa.or_(e.c.reference_number == s.c.reference_number,
               e.c.reference_number.is_(None) & s.c.reference_number.is_(None)
               & (e.c.row_position == s.c.row_position)))


def sync_escalations(conn: sa.Connection, day: date, now: datetime, sla: timedelta
                     ) -> EscalationSync:
    """Bring the day's escalations in line with its reconciliation rows (written just before)."""
    reason = escalation_reason(now, sla)
    r = reconciliation.c
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    try:
        current = (sa.select(r.reference_number, r.row_position, reason, r.detail, r.since)
                   .where(r.partition_date == day, reason.is_not(None)))
        conn.execute(stage.insert().from_select(
            ["reference_number", "row_position", "reason", "detail", "since"], current))
        e = escalations.c
        open_today = sa.and_(e.partition_date == day, e.resolved_at.is_(None))
        resolved = conn.execute(
            sa.update(escalations).where(open_today, ~sa.exists().where(_same(escalations, stage)))
            .values(resolved_at=now)).rowcount
        conn.execute(
            sa.update(escalations).where(open_today, sa.exists().where(_same(escalations, stage)))
            .values(last_seen_at=now,
                    detail=sa.select(stage.c.detail).where(_same(escalations, stage))
                    .limit(1).scalar_subquery()))
        already = escalations.alias("already")
        new = (
            sa.select(sa.literal(day, type_=sa.Date), stage.c.reference_number,
                      stage.c.row_position, stage.c.reason, stage.c.detail, stage.c.since,
                      sa.literal(now, type_=e.opened_at.type),
                      sa.literal(now, type_=e.last_seen_at.type))
            .where(~sa.exists().where(already.c.partition_date == day,
                                      already.c.resolved_at.is_(None), _same(already, stage)))
        )
        opened = conn.execute(escalations.insert().from_select(
            ["partition_date", "reference_number", "row_position", "reason", "detail", "since",
             "opened_at", "last_seen_at"], new)).rowcount
    finally:
        stage.drop(conn)
    return EscalationSync(opened, resolved, open_counts(conn, day))


def open_counts(conn: sa.Connection, day: date) -> dict[str, int]:
    counts = dict.fromkeys(rt.ESCALATION_REASONS, 0)
    query = (sa.select(escalations.c.reason, sa.func.count())
             .where(escalations.c.partition_date == day, escalations.c.resolved_at.is_(None))
             .group_by(escalations.c.reason))
    counts.update(dict(conn.execute(query).all()))
    return counts
