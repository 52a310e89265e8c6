"""`fleet-pipeline erp seed` and `fleet-pipeline erp check`."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from fleet_pipeline.cli import main
from fleet_pipeline.erp import cli as erp_cli
from fleet_pipeline.erp.sample.schema import TABLE_NAMES


def _run(*args):
    return CliRunner().invoke(main, ["erp", *args], catch_exceptions=False)


def _counts(url):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        counts = {t: conn.execute(sa.text(f"SELECT COUNT(*) FROM {t}")).scalar_one()
                  for t in TABLE_NAMES}
    engine.dispose()
    return counts


def test_seed_prints_what_it_did_and_reseeding_replaces_the_tables(sqlite_url):
    args = ["seed", "--url", sqlite_url, "--days", "2", "--per-day", "40", "--seed", "5",
            "--defect-rate", "0.5", "--start-date", "2026-12-04"]
    first = _run(*args)
    assert first.exit_code == 0, first.output
    assert "80 pending deliveries over 2 day(s) from 2026-12-04 (seed 5)" in first.output
    assert "delivery_notes 88" in first.output
    assert "duplicate_reference" in first.output and "over_long_text" in first.output
    counts = _counts(sqlite_url)
    again = _run(*args)
    assert again.exit_code == 0 and again.output == first.output
    assert _counts(sqlite_url) == counts


def test_seed_defaults_to_the_embedded_erp_and_today(fleet_home):
    result = _run("seed", "--per-day", "5")
    assert result.exit_code == 0, result.output
    assert (fleet_home / "erp.sqlite").exists()
    assert _counts(f"sqlite:///{fleet_home / 'erp.sqlite'}")["delivery_notes"] == 5


def test_big_seeds_show_progress(sqlite_url, monkeypatch):
    monkeypatch.setattr(erp_cli, "_PROGRESS_FROM", 10)
    result = CliRunner().invoke(main, ["erp", "seed", "--url", sqlite_url, "--per-day", "30"])
    assert result.exit_code == 0
    assert "Seeding deliveries" in result.output


def test_check_says_ok_for_the_sample(sqlite_url):
    _run("seed", "--url", sqlite_url, "--per-day", "5")
    result = _run("check", "--url", sqlite_url)
    assert result.exit_code == 0, result.output
    assert "OK: the deliveries query (built-in sample_deliveries.sql)" in result.output
    assert "not returned, so NULL: delivery_driver_id" in result.output
    assert "OK: the items query" in result.output


def test_check_names_missing_columns_and_fails(sqlite_url, tmp_path):
    _run("seed", "--url", sqlite_url, "--per-day", "5")
    items = tmp_path / "items.sql"
    items.write_text("SELECT delivery_no AS reference_number, 1 AS line_number, 'x' AS extra "
                     "FROM delivery_notes WHERE ship_date >= :window_start "
                     "AND ship_date < :window_end")
    result = _run("check", "--url", sqlite_url, "--items-query", str(items))
    assert result.exit_code == 1
    assert "lacks description, quantity" in result.output


def test_check_on_an_unreachable_database_hides_the_password():
    result = _run("check", "--url", "postgresql+psycopg2://u:secretpw@127.0.0.1:1/nodb")
    assert result.exit_code == 1
    assert "127.0.0.1" in result.output and "nodb" in result.output
    assert "secretpw" not in result.output
