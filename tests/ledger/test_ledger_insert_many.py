"""On SQLite, insert_many hands the driver the values SQLAlchemy would have sent (each column's
bind processor, repeated values converted once): the stored rows are the same, byte for byte."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from fleet_pipeline.ledger import jobstore, migrate
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import job_events, jobs

NOW = datetime(2026, 3, 9, 18, 0, 0, 123456, tzinfo=UTC)
DAY = date(2026, 3, 10)


def job_rows(n: int) -> list[dict]:
    rows = []
    for k in range(n):
        rows.append({"reference_number": f"R-{k:05d}", "partition_date": DAY,
                     "payload_hash": f"{k:064x}", "payload": '{"é":"x,\\"y"}' * (k % 3),
                     "state": "queued", "endpoint": None, "upload_id": None, "attempts": k % 4,
                     "next_attempt_at": NOW + timedelta(seconds=k) if k % 2 else None,
                     "deadline_at": None, "fleet_job_id": 2**40 + k if k % 5 else None,
                     "fleet_order_id": None, "rejection_class": None, "last_error": None,
                     "created_at": NOW, "updated_at": NOW,
                     "state_changed_at": NOW.astimezone(UTC).replace(tzinfo=None).replace(
                         tzinfo=UTC)})
    return rows


def event_rows(n: int) -> list[dict]:
    return [{"reference_number": f"R-{k:05d}", "event": "planned", "from_state": None,
             "to_state": "queued", "at": NOW, "run_id": None if k % 2 else "run-1",
             "detail": '{"payload_hash":"h"}'} for k in range(n)]


def stored(engine: sa.Engine) -> list[list[tuple]]:
    with engine.connect() as conn:
        return [conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1, 2").all()
                for table in ("jobs", "job_events")]


def test_the_raw_path_stores_what_sqlalchemy_stores(tmp_path):
    contents = []
    for raw in (False, True):
        engine = make_engine(f"sqlite:///{tmp_path / str(raw)}.sqlite")
        migrate.upgrade(engine)
        with engine.begin() as conn:
            for table, rows in ((jobs, job_rows(2500)), (job_events, event_rows(2500))):
                if raw:
                    assert jobstore._insert_many_raw(conn, table, rows)
                else:
                    for start in range(0, len(rows), 1000):
                        conn.execute(table.insert(), rows[start:start + 1000])
        contents.append(stored(engine))
        engine.dispose()
    assert contents[0] == contents[1]
    assert len(contents[1][0]) == 2500 and len(contents[1][1]) == 2500


def test_rows_of_keys_in_another_order_take_sqlalchemys_path(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'mixed.sqlite'}")
    migrate.upgrade(engine)
    rows = event_rows(3)
    rows[1] = dict(reversed(rows[1].items()))
    with engine.begin() as conn:
        jobstore.insert_many(conn, jobs, job_rows(3))
        assert not jobstore._insert_many_raw(conn, job_events, rows)
        jobstore.insert_many(conn, job_events, rows)
    assert [row[-1] for row in stored(engine)[1]] == ["run-1", None, "run-1"]
    engine.dispose()
