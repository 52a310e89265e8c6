"""The chaos suite, short: two seeded scenarios of small days, one sent one by one and one in
bulk uploads, side by side; each sent end to end against the simulator with faults, the pipeline
killed at crash points and run again, the receiver restarted mid-stream, and the result checked
against the simulator's own records. `python -m tests.chaos` runs the full suite
(docs/chaos.md)."""

from __future__ import annotations

import pytest

from .runner import run_suite
from .scenario import draw

pytestmark = pytest.mark.slow

SEED = 7
ROWS = (12, 18)
SCENARIOS = (1, 3)  # single creates; bulk uploads


def test_short_chaos_scenarios_leave_fleet_and_the_ledger_in_agreement(tmp_path):
    scenarios = [draw(SEED, index, ROWS) for index in SCENARIOS]
    assert {scenario.policy for scenario in scenarios} == {"single", "bulk"}
    lines: list[str] = []
    outcomes = run_suite(scenarios, echo=lines.append, workdir=tmp_path, parallel=2)
    assert [outcome.scenario.index for outcome in outcomes] == list(SCENARIOS)
    for outcome in outcomes:
        assert outcome.killed >= 1 and sum(outcome.outcomes.values()) > 0, outcome.line()
        assert outcome.passed, "\n".join(lines)
    assert lines[-1].startswith("total: 2 of 2 scenarios passed")


@pytest.mark.postgres
def test_the_postgresql_ledger_of_a_scenario_is_a_migratable_database(tmp_path):
    """`--ledger postgresql` once named a driver the project does not ship (psycopg 3), and
    every scenario failed before it started."""
    import sqlalchemy as sa

    from fleet_pipeline.ledger import migrate
    from fleet_pipeline.ledger.engine import make_engine

    from .runner import ledger_database

    with ledger_database("postgresql", tmp_path) as url:
        engine = make_engine(url)
        try:
            migrate.upgrade(engine)
            with engine.connect() as conn:
                assert conn.scalar(sa.text("SELECT count(*) FROM jobs")) == 0
        finally:
            engine.dispose()
