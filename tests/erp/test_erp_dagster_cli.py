"""The extraction asset materialized with the `dagster` command, as an engineer backfills it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from fleet_pipeline.erp.extract import day_files
from fleet_pipeline.erp.sample.writer import seed

ROOT = Path(__file__).resolve().parents[2]
FIRST = date(2026, 11, 20)  # in the past, so a partition whatever day the tests run
DAYS = 7
PER_DAY = 40


def dagster(home: Path, *args: str) -> str:
    dagster_home = home / "dagster"
    dagster_home.mkdir(exist_ok=True)
    shutil.copy(ROOT / "deploy" / "dev" / "dagster.yaml", dagster_home / "dagster.yaml")
    env = {**os.environ, "FLEET_HOME": str(home), "DAGSTER_HOME": str(dagster_home)}
    command = [str(Path(sys.executable).with_name("dagster")), "asset", "materialize",
               "-m", "fleet_pipeline.definitions", "--select", "erp_deliveries", *args]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    return output


def test_one_day_then_a_single_run_backfill_of_seven_days(fleet_home):
    seed(f"sqlite:///{fleet_home / 'erp.sqlite'}", DAYS, PER_DAY, 5, FIRST, 0.1)
    data_dir = fleet_home / "data"

    output = dagster(fleet_home, "--partition", FIRST.isoformat())
    assert "RUN_SUCCESS" in output
    assert pq.read_table(day_files(data_dir, FIRST)[0]).num_rows == PER_DAY
    assert not day_files(data_dir, FIRST + timedelta(days=1))[0].exists()

    last = FIRST + timedelta(days=DAYS - 1)
    output = dagster(fleet_home, "--partition-range", f"{FIRST}...{last}")
    assert output.count("STEP_START") == 1  # one run, one step for the whole range
    for offset in range(DAYS):
        deliveries, items = day_files(data_dir, FIRST + timedelta(days=offset))
        assert pq.read_table(deliveries).num_rows == PER_DAY
        assert pq.read_table(items).num_rows >= PER_DAY
