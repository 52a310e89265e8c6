"""A partition of 100,000 jobs goes through planning, re-planning and counting in one piece.

Timings are measured by benchmarks/ledger_plan.py, not here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger import repository as repo
from fleet_pipeline.ledger import states as st
from fleet_pipeline.ledger.engine import make_engine
from fleet_pipeline.ledger.tables import job_events

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
N = 100_000


@pytest.mark.slow
def test_a_hundred_thousand_jobs(sqlite_url):
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    planned = [(f"CART{i:07d}", f"h{i}", '{"job_type_id": 3}') for i in range(N)]
    with engine.begin() as conn:
        assert repo.plan_jobs(conn, DAY, planned, now=NOW).inserted == N
    changed = [(ref, h + "x", p) if i % 10 == 0 else (ref, h, p)
               for i, (ref, h, p) in enumerate(planned)]
    with engine.begin() as conn:
        result = repo.plan_jobs(conn, DAY, changed, now=NOW)
        assert (result.refreshed, result.unchanged) == (N // 10, N - N // 10)
        assert repo.job_counts_by_state(conn, DAY)[st.QUEUED] == N
        assert conn.scalar(sa.select(sa.func.count()).select_from(job_events)) == N + N // 10
        assert len(repo.jobs_to_send(conn, DAY, now=NOW)) == N
    engine.dispose()
