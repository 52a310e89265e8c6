"""`fleet-pipeline send`: one day planned and sent from the command line."""

from __future__ import annotations

from click.testing import CliRunner
from uploads_support import DAY, PASSWORD, USER, payload, references, sim_config, write_day

from fleet_pipeline.cli import main
from fleet_pipeline.simulator import running_simulator


def test_send_prints_progress_and_the_count_per_state(fleet_home, monkeypatch):
    write_day(fleet_home / "data", DAY, [payload(ref) for ref in references(5)])
    with running_simulator(sim_config()) as sim:
        monkeypatch.setenv("FLEET_API_BASE_URL", sim.base_url)
        monkeypatch.setenv("FLEET_API_USERNAME", USER)
        monkeypatch.setenv("FLEET_API_PASSWORD", PASSWORD)
        monkeypatch.setenv("FLEET_API_RATE_LIMIT_PER_MINUTE", "0")
        result = CliRunner().invoke(main, ["send", "--date", DAY.isoformat()])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1] == f"{DAY}: 5 valid jobs, 5 new, 0 withdrawn"
    assert f"{DAY}: 5 jobs one by one" in lines
    assert lines[-2] == f"{DAY}: 0 uploads sent, 5 jobs single in " + lines[-2].split(" in ")[-1]
    assert lines[-1] == f"{DAY}: jobs per state: created 5"
    assert PASSWORD not in result.output


def test_send_without_the_days_valid_jobs_says_what_to_run(fleet_home):
    result = CliRunner().invoke(main, ["send", "--date", DAY.isoformat()])
    assert result.exit_code == 1
    assert "materialize delivery_jobs for this date first" in result.output


def test_send_refuses_a_malformed_date(fleet_home):
    result = CliRunner().invoke(main, ["send", "--date", "30/11/2026"])
    assert result.exit_code == 2
    assert "expected YYYY-MM-DD" in result.output
