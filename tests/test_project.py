"""Project-level checks: lint is clean and Dagster loads the definitions the way a user does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _bin(name: str) -> str:
    candidate = Path(sys.executable).parent / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def test_ruff_is_clean():
    result = subprocess.run([_bin("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dagster_definitions_validate(tmp_path):
    env = {**os.environ, "FLEET_HOME": str(tmp_path / "home"), "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [_bin("dagster"), "definitions", "validate", "-w", "dagster_workspace.yaml"],
        cwd=ROOT, capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_cli_lists_its_commands():
    result = subprocess.run([_bin("fleet-pipeline"), "--help"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Usage: fleet-pipeline" in result.stdout
