"""The chaos suite, short: two seeded scenarios of small days, each sent end to end against the
simulator with faults, the pipeline killed at a crash point and run again, the receiver
restarted mid-stream, and the result checked against the simulator's own records.
`python -m tests.chaos` runs the full suite (docs/chaos.md)."""

from __future__ import annotations

import pytest

from .runner import run_suite
from .scenario import draw

pytestmark = pytest.mark.slow

SEED = 7
ROWS = (12, 18)


# One sent one by one, one in bulk uploads.
@pytest.mark.parametrize("index", [1, 3])
def test_a_short_chaos_scenario_leaves_fleet_and_the_ledger_in_agreement(index, tmp_path):
    scenario = draw(SEED, index, ROWS)
    lines: list[str] = []
    [outcome] = run_suite([scenario], echo=lines.append, workdir=tmp_path)
    assert outcome.runs >= 1 and sum(outcome.outcomes.values()) > 0
    assert outcome.passed, "\n".join(lines + outcome.problems)
