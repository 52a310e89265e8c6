"""Bulk reads and writes of job records and their events: the machinery under repository.py.

Set-based on purpose: references travel in chunked IN lists, rows that change alike share one
UPDATE, the others one executemany, and events go in one executemany. A partition of a million
jobs thus costs thousands of statements, not millions. Rows about to change are read FOR UPDATE
(PostgreSQL); on SQLite the engine's BEGIN IMMEDIATE already holds the write lock.
"""

from __future__ import annotations

import json
import operator
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.states import JobEvent, JobRecord
from fleet_pipeline.ledger.tables import job_events, jobs

CHUNK = 1000  # references per IN list and rows per executemany batch
# Below this many distinct new values, one UPDATE ... IN per value beats an executemany.
_FEW_DISTINCT = 16

RECORD_FIELDS = tuple(f.name for f in fields(JobRecord))
_RECORD_COLUMNS = tuple(jobs.c[name] for name in RECORD_FIELDS)

# (record before, record after, its event, other columns to write such as the payload)
Change = tuple[JobRecord, JobRecord, JobEvent, dict[str, Any]]


@dataclass(frozen=True)
class Applied:
    """What a batch of outcomes did: changed jobs, and the rows that could not apply."""

    changed: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)  # not allowed from the job's state: stale
    missing: list[str] = field(default_factory=list)  # no such job in the ledger
    duplicates: list[str] = field(default_factory=list)  # Fleet holds a second job


def apply_event(
    conn: sa.Connection,
    event: str,
    details: Mapping[str, Mapping[str, Any]],
    *,
    now: datetime,
    run_id: str | None,
    only: Callable[[JobRecord], bool] = lambda record: True,
) -> Applied:
    """Apply one event to many jobs; those it does not fit are reported, not raised."""
    records = load(conn, details, lock=True)
    applied, changes = Applied(), []
    for reference, facts in details.items():
        record = records.get(reference)
        if record is None:
            applied.missing.append(reference)
        elif only(record) and st.allowed(record, event, now):
            changes.append((record, *st.transition(record, event, now, **facts), {}))
            applied.changed.append(reference)
        else:
            applied.ignored.append(reference)
    save(conn, changes, now, run_id)
    return applied


def apply_to_records(
    conn: sa.Connection, records: list[JobRecord], event: str, now: datetime,
    run_id: str | None, **facts: Any,
) -> list[str]:
    save(conn, [(rec, *st.transition(rec, event, now, **facts), {}) for rec in records], now,
         run_id)
    return [rec.reference_number for rec in records]


def save(conn: sa.Connection, changes: list[Change], now: datetime, run_id: str | None) -> None:
    """Write changed columns (alike rows share one UPDATE) and one event per change."""
    by_columns: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for old, new, _event, extra in changes:
        values = {name: getattr(new, name) for name in RECORD_FIELDS
                  if getattr(new, name) != getattr(old, name)}
        values.update(extra, updated_at=now)
        by_columns[tuple(sorted(values))].append((new.reference_number, values))
    for columns, rows in by_columns.items():
        alike: dict[tuple[Any, ...], list[str]] = defaultdict(list)
        for reference, values in rows:
            alike[tuple(values[c] for c in columns)].append(reference)
        if len(alike) <= _FEW_DISTINCT:
            for key, references in alike.items():
                for chunk in chunks(references):
                    conn.execute(sa.update(jobs)
                                 .where(jobs.c.reference_number.in_(chunk))
                                 .values(dict(zip(columns, key, strict=True))))
        else:
            statement = (sa.update(jobs)
                         .where(jobs.c.reference_number == sa.bindparam("_reference"))
                         .values({c: sa.bindparam(f"_{c}", type_=jobs.c[c].type)
                                  for c in columns}))
            params = [{"_reference": ref, **{f"_{c}": v for c, v in values.items()}}
                      for ref, values in rows]
            for chunk in chunks(params):
                conn.execute(statement, chunk)
    insert_events(conn, [event for _old, _new, event, _extra in changes], run_id)


def insert_events(conn: sa.Connection, events: list[JobEvent], run_id: str | None) -> None:
    insert_many(conn, job_events, [
        {"reference_number": e.reference_number, "event": e.event, "from_state": e.from_state,
         "to_state": e.to_state, "at": e.at, "run_id": run_id,
         "detail": _detail_json(e.detail)}
        for e in events
    ])


def insert_many(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name == "sqlite" and _insert_many_raw(conn, table, rows):
        return
    for chunk in chunks(rows, CHUNK * 10):
        conn.execute(table.insert(), chunk)


def _insert_many_raw(conn: sa.Connection, table: sa.Table, rows: list[dict[str, Any]]) -> bool:
    """Rows of the same keys inserted through the driver's executemany, each value converted by
    its column's own bind processor (the values SQLAlchemy would send), a value repeated on
    every row (the planning time, the partition) converted once. SQLAlchemy building the
    parameters of each row was most of planning a million jobs on SQLite. False (nothing
    written) for rows of different keys or a table with defaults computed in Python."""
    if not rows:
        return True
    keys = tuple(rows[0])
    if any(len(row) != len(keys) for row in rows) or any(tuple(row) != keys for row in rows):
        return False
    compiled = table.insert().compile(dialect=conn.dialect, column_keys=list(keys))
    names = compiled.positiontup
    if names is None or set(names) != set(keys):
        return False
    values = operator.itemgetter(*names) if len(names) > 1 else lambda row: (row[names[0]],)
    converted = [(position, convert) for position, name in enumerate(names)
                 if (convert := _converter(table.c[name].type, conn.dialect)) is not None]
    sql = str(compiled)
    for chunk in chunks(rows, CHUNK * 10):
        parameters = list(map(values, chunk))
        if converted:
            parameters = [list(row) for row in parameters]
            for position, convert in converted:
                for row in parameters:
                    row[position] = convert(row[position])
        conn.exec_driver_sql(sql, list(map(tuple, parameters)))
    return True


def _converter(type_: sa.types.TypeEngine, dialect: sa.Dialect
               ) -> Callable[[Any], Any] | None:
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    done: dict[Any, Any] = {}

    def convert(value: Any) -> Any:
        try:
            return done[value]
        except KeyError:
            done[value] = converted = process(value)
            return converted
        except TypeError:  # not hashable
            return process(value)

    return convert


def insert_row(record: JobRecord, now: datetime, *, payload: str | None) -> dict[str, Any]:
    row = {name: getattr(record, name) for name in RECORD_FIELDS}
    return row | {"payload": payload, "created_at": now, "updated_at": now,
                  "state_changed_at": now}


def load(conn: sa.Connection, references: Iterable[str], *, lock: bool) -> dict[str, JobRecord]:
    records: dict[str, JobRecord] = {}
    for chunk in chunks(list(dict.fromkeys(references))):
        query = sa.select(*_RECORD_COLUMNS).where(jobs.c.reference_number.in_(chunk))
        if lock:
            query = query.with_for_update()
        for row in conn.execute(query):
            records[row.reference_number] = JobRecord(*row)
    return records


def select_records(conn: sa.Connection, *where: Any) -> list[JobRecord]:
    query = (sa.select(*_RECORD_COLUMNS).where(*where).order_by(jobs.c.reference_number)
             .with_for_update())
    return [JobRecord(*row) for row in conn.execute(query)]


def utc_now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("the ledger takes aware datetimes only (use UTC)")
    return now


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _detail_json(detail: Mapping[str, Any]) -> str | None:
    kept = {key: value for key, value in detail.items() if value is not None}
    if not kept:
        return None
    return _DETAIL_ENCODER.encode(kept)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot encode {type(value).__name__} in an event's detail")


_DETAIL_ENCODER = json.JSONEncoder(default=_json_default, sort_keys=True, ensure_ascii=False)
