"""`fleet-pipeline demo`, run twice as a user would: both runs succeed, the second sends nothing,
the summary matches the ledger, and the Dagster instance under FLEET_HOME holds the runs."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg

ROWS = 150
DEMO = [str(Path(sys.executable).parent / "fleet-pipeline"), "demo", "--rows", str(ROWS)]
LINE = re.compile(r"^  ([a-zA-Z][^:]+):\s+(.+)$", re.MULTILINE)


def run_demo(cwd: Path, home: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FLEET_", "DAGSTER_"))}
    env["FLEET_HOME"] = str(home)
    result = subprocess.run(DEMO, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dagster dev -w dagster_workspace.yaml" in result.stdout
    assert "uploads called back" in result.stdout
    return dict(LINE.findall(result.stdout))


def fleet_jobs(home: Path) -> list[tuple[str, int]]:
    """(reference_number, jobs the simulator holds for it) for every reference it created."""
    with sqlite3.connect(home / "simulator.sqlite") as conn:
        return conn.execute("SELECT reference_number, count(*) FROM jobs "
                            "GROUP BY reference_number ORDER BY 1").fetchall()


def ledger_states(home: Path, day: date) -> dict[str, int]:
    with sqlite3.connect(home / "pipeline.sqlite") as conn:
        return dict(conn.execute("SELECT state, count(*) FROM jobs WHERE partition_date = ? "
                                 "GROUP BY state", (day.isoformat(),)).fetchall())


def rows_failing_validation(home: Path, day: date) -> int:
    """ERP delivery rows the validation rejected: one per job rejected, plus the further rows of
    a delivery number the ERP repeated (they have no job of their own)."""
    with sqlite3.connect(home / "pipeline.sqlite") as conn:
        return conn.execute("SELECT count(DISTINCT row_position) FROM validation_failures "
                            "WHERE partition_date = ? AND coalesce(record, 'delivery') = "
                            "'delivery'", (day.isoformat(),)).fetchone()[0]


def test_the_demo_runs_twice_and_creates_nothing_twice(tmp_path):
    home = tmp_path / "home"
    day = date.today() + timedelta(days=1)

    first = run_demo(tmp_path, home)
    created_first = fleet_jobs(home)
    second = run_demo(tmp_path, home)
    created_second = fleet_jobs(home)

    assert int(first["deliveries of the day"]) == ROWS
    assert created_first, "the simulator created no job"
    assert all(count == 1 for _, count in created_second)
    assert created_second == created_first  # the second run sent nothing new
    assert first["created twice in Fleet"] == second["created twice in Fleet"] == "0"

    states = ledger_states(home, day)
    # Every job Fleet holds is created (or awaits its callback) in the ledger, and only those.
    assert states.get("created", 0) + states.get("submitted", 0) == len(created_first)
    assert int(second["created in Fleet"]) == states.get("created", 0)
    rejected_rows = int(second["rejected by validation"])
    assert rejected_rows == rows_failing_validation(home, day) >= states["rejected_invalid"] > 0
    # Escalated: every delivery a person must look at, one line each in the report.
    report = Path(second["escalation report"])
    escalated = int(second["escalated to a person"])
    assert escalated >= int(second["rejected by validation"])
    assert len(report.read_text().splitlines()) == escalated + 1  # with its header
    assert int(first["rejected by validation"]) == int(second["rejected by validation"])

    instance = dg.DagsterInstance.from_config(str(home / "dagster"))
    try:
        assert "telemetry" in (home / "dagster" / "dagster.yaml").read_text()
        runs = instance.get_runs()
        assert len(runs) >= 2 and all(run.is_success for run in runs)
        materialized = instance.get_materialized_partitions(dg.AssetKey("job_submissions"))
        assert materialized == {day.isoformat()}
        # What the catalog shows of the last run: counts that plot, schemas and lineage.
        jobs = instance.get_latest_materialization_event(dg.AssetKey("delivery_jobs"))
        metadata = jobs.asset_materialization.metadata
        assert {"dagster/column_schema", "dagster/column_lineage"} <= set(metadata)
        assert metadata["valid"].value + metadata["rejected"].value == ROWS
    finally:
        instance.dispose()


def test_a_small_day_goes_one_by_one_and_failed_creates_are_sent_again(tmp_path):
    """Under 100 jobs the day is sent by single creates; the demo's simulator answers one in ten
    with a 500 that creates nothing, so the reconciliation finds those jobs absent and the demo
    reconciles again until they are created, each once."""
    home = tmp_path / "home"
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("FLEET_", "DAGSTER_"))}
    env["FLEET_HOME"] = str(home)
    result = subprocess.run([*DEMO[:2], "--rows", "60"], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    summary = dict(LINE.findall(result.stdout))
    assert "one by one" in result.stdout and "5/5 Retried" in result.stdout
    created = fleet_jobs(home)
    assert all(count == 1 for _, count in created)
    assert int(summary["created in Fleet"]) == len(created)
    assert int(summary["created in Fleet"]) + int(summary["rejected by validation"]) == 60
    assert summary["still awaiting an answer"] == "0"
