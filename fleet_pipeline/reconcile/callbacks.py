"""Take landed callbacks into the ledger, set-based: a day's new callback events in a handful of
statements, whatever their number of rows.

An event is new while it has no `callback_applications` row. Its rows are copied into a
temporary stage (with each reference's job as it stands), which decides every row's
effect; the ledger is then changed from the stage, statement by statement, and the stage dropped.
The rules are the state machine's (ledger/states.py), applied to many rows at once:

- `created`: the first "created" row of a reference makes its job `created` from any state
  (Fleet holding a job is a fact); a row with the job id the ledger has already is `stale`.
- `duplicate`: a "created" row with another job id than the one recorded (or than the first
  row's): Fleet holds a second job. The job stays `created`; a `duplicate_found` event and its
  `last_error` make it visible, and the reconciliation classes it `created_twice`.
- `rejected`: a "rejected" row moves its job to `rejected` only when the job's latest send is
  this upload and still awaits an answer (in flight, submitted, unknown): a late callback of an
  older upload cannot undo a newer attempt. Its class is transient when an error reads like a
  passing condition (busy, try again, ...), else permanent, as `classify_rejection` says.
- `missing`: no job holds the reference; `stale`: anything else (settled already, re-sent since,
  or a repeated event).
Every changed job gets its `job_events` row; each event gets its `callback_applications` row
with the counts; the events' uploads become `called_back`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.callback_tables import (
    OUTCOME_CREATED,
    OUTCOME_REJECTED,
    callback_events,
    callback_results,
)
from fleet_pipeline.ledger.reconcile_tables import callback_applications
from fleet_pipeline.ledger.tables import (
    REFERENCE_LENGTH,
    UPLOAD_ID_LENGTH,
    job_events,
    jobs,
    uploads,
)

# Events taken per round: one IN list of ids, well under every database's bind limit.
EVENTS_PER_ROUND = 2000

CREATED, DUPLICATE, REJECTED = "created", "duplicate", "rejected"
STALE, MISSING = "stale", "missing"
EFFECTS = (CREATED, REJECTED, DUPLICATE, STALE, MISSING)

# The words of states.classify_rejection that make a rejection transient, as LIKE patterns.
TRANSIENT_PATTERNS = ("%busy%", "%try again%", "%temporar%", "%locked%", "%timeout%",
                      "%time-out%", "%time out%", "%timed out%", "%rate limit%", "%too many%",
                      "%unavailable%", "%overload%", "%maintenance%")

_stage_metadata = sa.MetaData()
stage = sa.Table(
    "reconcile_callback_stage",
    _stage_metadata,
    sa.Column("event_id", sa.BigInteger, nullable=False),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("upload_id", sa.String(UPLOAD_ID_LENGTH), nullable=False),
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH), nullable=False),
    sa.Column("outcome", sa.String(10), nullable=False),
    sa.Column("fleet_job_id", sa.BigInteger),
    sa.Column("errors", sa.Text),
    sa.Column("rn", sa.Integer, nullable=False),  # rank among the reference's rows of this outcome
    sa.Column("job_state", sa.String(20)),
    sa.Column("job_upload_id", sa.String(UPLOAD_ID_LENGTH)),
    sa.Column("job_fleet_job_id", sa.BigInteger),
    sa.Column("effect", sa.String(10)),
    sa.Column("rejection_class", sa.String(10)),
    prefixes=["TEMPORARY"],
)
# For the UPDATE ... FROM joins; built once the stage is filled (loading is faster without it).
_STAGE_INDEX = sa.text(f"CREATE INDEX ix_{stage.name}_ref ON {stage.name} "
                       "(effect, reference_number)")

_AWAITING_ANSWER = (st.IN_FLIGHT, st.SUBMITTED, st.UNKNOWN)
_CALLED_BACK_FROM = (st.UPLOAD_SENDING, st.UPLOAD_ACCEPTED, st.UPLOAD_UNKNOWN, st.UPLOAD_OVERDUE)


@dataclass
class CallbacksApplied:
    events: int = 0
    effects: dict[str, int] = field(default_factory=lambda: dict.fromkeys(EFFECTS, 0))
    duplicate_events: int = 0  # events repeating an earlier one's entries in other bytes
    conflicting_events: int = 0


def pending_events(conn: sa.Connection, day) -> list[int]:
    """Ids of the day's landed events not yet taken into the ledger, oldest first."""
    query = (
        sa.select(callback_events.c.id)
        .join(uploads, uploads.c.upload_id == callback_events.c.upload_id)
        .where(uploads.c.partition_date == day,
               ~sa.exists().where(callback_applications.c.event_id == callback_events.c.id))
        .order_by(callback_events.c.id)
    )
    return list(conn.scalars(query))


def apply_callbacks(engine: sa.Engine, day, *, now: datetime, run_id: str | None = None
                    ) -> CallbacksApplied:
    """Take every new callback event of `day`'s uploads into the ledger; one transaction per
    round of events, so a run stopped midway leaves whole events applied or not at all."""
    result = CallbacksApplied()
    with engine.connect() as conn:
        events = pending_events(conn, day)
    for start in range(0, len(events), EVENTS_PER_ROUND):
        round_ = events[start:start + EVENTS_PER_ROUND]
        with engine.begin() as conn:
            _apply_round(conn, round_, now, run_id, result)
    return result


def _apply_round(conn: sa.Connection, events: list[int], now: datetime, run_id: str | None,
                 result: CallbacksApplied) -> None:
    ids = sa.bindparam("events", events, expanding=True)
    stage.drop(conn, checkfirst=True)
    stage.create(conn)
    try:
        _fill_stage(conn, ids)
        conn.execute(_STAGE_INDEX)
        if conn.dialect.name == "postgresql":
            # Autovacuum never analyzes temporary tables: without statistics the planner
            # guesses, badly, for a stage of a million rows.
            conn.execute(sa.text(f"ANALYZE {stage.name}"))
        _record_applications(conn, ids, now, run_id)
        _record_job_events(conn, now, run_id)
        _update_jobs(conn, now)
        conn.execute(
            sa.update(uploads)
            .where(uploads.c.upload_id.in_(sa.select(callback_events.c.upload_id)
                                           .where(callback_events.c.id.in_(ids))),
                   uploads.c.state.in_(_CALLED_BACK_FROM))
            .values(state=st.UPLOAD_CALLED_BACK, updated_at=now))
        counts = conn.execute(sa.select(stage.c.effect, sa.func.count())
                              .group_by(stage.c.effect)).all()
        flags = conn.execute(
            sa.select(sa.func.count(callback_events.c.duplicate_of),
                      sa.func.sum(sa.case((callback_events.c.conflicting, 1), else_=0)))
            .where(callback_events.c.id.in_(ids))).one()
    finally:
        stage.drop(conn)
    result.events += len(events)
    for effect, count in counts:
        result.effects[effect] += count
    result.duplicate_events += flags[0] or 0
    result.conflicting_events += flags[1] or 0


def _fill_stage(conn: sa.Connection, ids: sa.BindParameter) -> None:
    """Copy the events' rows with their jobs, and decide every row's effect, in one INSERT:
    window functions give each row its rank among the reference's rows of its outcome, the
    first "created" row's job id, and whether any row of the reference says created."""
    cr = callback_results
    by_outcome = {"partition_by": (cr.c.reference_number, cr.c.outcome),
                  "order_by": (cr.c.event_id, cr.c.position)}
    ranked = (
        sa.select(cr.c.event_id, cr.c.position, cr.c.upload_id, cr.c.reference_number,
                  cr.c.outcome, cr.c.fleet_job_id, cr.c.errors,
                  sa.func.row_number().over(**by_outcome).label("rn"),
                  sa.func.first_value(cr.c.fleet_job_id).over(**by_outcome).label("first_id"),
                  sa.func.max(sa.case((cr.c.outcome == OUTCOME_CREATED, 1), else_=0))
                  .over(partition_by=cr.c.reference_number).label("any_created"),
                  jobs.c.state.label("job_state"), jobs.c.upload_id.label("job_upload_id"),
                  jobs.c.fleet_job_id.label("job_fleet_job_id"))
        .select_from(cr.outerjoin(jobs, jobs.c.reference_number == cr.c.reference_number))
        .where(cr.c.event_id.in_(ids))
    ).subquery("ranked")
    r = ranked.c
    created, first = r.outcome == OUTCOME_CREATED, r.rn == 1
    known_id = r.fleet_job_id == r.job_fleet_job_id
    effect = sa.case(
        (r.job_state.is_(None), MISSING),
        (created & first & (r.job_state != st.CREATED), CREATED),
        (created & first & known_id, STALE),
        (created & first, DUPLICATE),
        (created & ((r.fleet_job_id == r.first_id) | known_id), STALE),
        (created, DUPLICATE),
        ((r.outcome == OUTCOME_REJECTED) & first & (r.job_upload_id == r.upload_id)
         & r.job_state.in_(_AWAITING_ANSWER) & (r.any_created == 0), REJECTED),
        else_=STALE,
    )
    errors = sa.func.lower(sa.func.coalesce(r.errors, ""))
    transient = sa.or_(*(errors.like(pattern) for pattern in TRANSIENT_PATTERNS))
    rejection_class = sa.case((r.outcome != OUTCOME_REJECTED, sa.null()),
                              (transient, st.TRANSIENT), else_=st.PERMANENT)
    rows = sa.select(r.event_id, r.position, r.upload_id, r.reference_number, r.outcome,
                     r.fleet_job_id, r.errors, r.rn, r.job_state, r.job_upload_id,
                     r.job_fleet_job_id, effect, rejection_class)
    conn.execute(stage.insert().from_select(
        ["event_id", "position", "upload_id", "reference_number", "outcome", "fleet_job_id",
         "errors", "rn", "job_state", "job_upload_id", "job_fleet_job_id", "effect",
         "rejection_class"], rows))


def _count(effect: str) -> sa.ColumnElement:
    return sa.func.sum(sa.case((stage.c.effect == effect, 1), else_=0))


def _record_applications(conn: sa.Connection, ids: sa.BindParameter, now: datetime,
                         run_id: str | None) -> None:
    # Counted in one pass over the stage, then joined to the events (an event may have none).
    per_event = (
        sa.select(stage.c.event_id, *(_count(effect).label(effect) for effect in EFFECTS))
        .group_by(stage.c.event_id).subquery("per_event")
    )
    rows = (
        sa.select(callback_events.c.id,
                  sa.literal(now, type_=callback_applications.c.applied_at.type),
                  sa.literal(run_id, type_=sa.String),
                  *(sa.func.coalesce(per_event.c[effect], 0)
                    for effect in (CREATED, REJECTED, DUPLICATE, STALE, MISSING)))
        .select_from(callback_events.outerjoin(per_event,
                                               per_event.c.event_id == callback_events.c.id))
        .where(callback_events.c.id.in_(ids))
    )
    conn.execute(callback_applications.insert().from_select(
        ["event_id", "applied_at", "run_id", "created", "rejected", "duplicates", "stale",
         "missing"], rows))


def _record_job_events(conn: sa.Connection, now: datetime, run_id: str | None) -> None:
    job_id = sa.func.coalesce(sa.cast(stage.c.fleet_job_id, sa.String), "null")
    detail = (sa.literal('{"event_id": ') + sa.cast(stage.c.event_id, sa.String)
              + sa.literal(', "fleet_job_id": ') + job_id
              + sa.literal(', "position": ') + sa.cast(stage.c.position, sa.String)
              + sa.literal(', "source": "callback"}'))
    event = sa.case((stage.c.effect == CREATED, st.CREATED_EVENT),
                    (stage.c.effect == DUPLICATE, st.DUPLICATE_FOUND), else_=st.API_REJECTED)
    to_state = sa.case((stage.c.effect == REJECTED, st.REJECTED), else_=st.CREATED)
    rows = (
        sa.select(stage.c.reference_number, event, stage.c.job_state, to_state,
                  sa.literal(now, type_=job_events.c.at.type), detail,
                  sa.literal(run_id, type_=sa.String))
        .where(stage.c.effect.in_((CREATED, DUPLICATE, REJECTED)))
        .order_by(stage.c.event_id, stage.c.position)
    )
    conn.execute(job_events.insert().from_select(
        ["reference_number", "event", "from_state", "to_state", "at", "detail", "run_id"], rows))


def _update_jobs(conn: sa.Connection, now: datetime) -> None:
    # UPDATE ... FROM the stage (PostgreSQL, SQLite >= 3.33): one join, not a subquery per row.
    def of(effect: str) -> tuple[sa.ColumnElement[bool], ...]:
        return (jobs.c.reference_number == stage.c.reference_number, stage.c.effect == effect)

    conn.execute(
        sa.update(jobs).where(*of(CREATED))
        .values(state=st.CREATED, fleet_job_id=stage.c.fleet_job_id, fleet_order_id=None,
                rejection_class=None, last_error=None, next_attempt_at=None,
                state_changed_at=now, updated_at=now))
    conn.execute(
        sa.update(jobs).where(*of(DUPLICATE))
        .values(last_error=sa.literal("Fleet holds a second job for this reference: job_id ")
                + sa.cast(stage.c.fleet_job_id, sa.String)
                + sa.literal(" besides ") + sa.cast(jobs.c.fleet_job_id, sa.String),
                updated_at=now))
    conn.execute(
        sa.update(jobs).where(*of(REJECTED))
        .values(state=st.REJECTED, rejection_class=stage.c.rejection_class,
                last_error=sa.func.substr(sa.literal("callback; ") + stage.c.errors, 1,
                                          st.MAX_ERROR_CHARS),
                deadline_at=None, state_changed_at=now, updated_at=now))
