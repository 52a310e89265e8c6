"""`fleet-pipeline db upgrade` and `db current`, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import CliRunner

from fleet_pipeline.cli import main
from fleet_pipeline.ledger import migrate


def _run(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def test_current_then_upgrade_then_current(ledger_url):
    head = migrate.head()
    before = _run("db", "current", "--url", ledger_url)
    assert before.exit_code == 0, before.output
    assert "not migrated" in before.output and "pending" in before.output

    upgraded = _run("db", "upgrade", "--url", ledger_url)
    assert upgraded.exit_code == 0, upgraded.output
    assert f"upgraded from an empty schema to {head}" in upgraded.output
    assert migrate.current(ledger_url) == head

    again = _run("db", "upgrade", "--url", ledger_url)
    assert f"already at {head}" in again.output
    after = _run("db", "current", "--url", ledger_url)
    assert f"{head} (up to date)" in after.output


def test_default_database_is_under_fleet_home(fleet_home):
    result = _run("db", "upgrade")
    assert result.exit_code == 0, result.output
    assert str(fleet_home / "pipeline.sqlite") in result.output
    assert migrate.current(f"sqlite:///{fleet_home / 'pipeline.sqlite'}") == migrate.head()


def test_the_password_is_never_shown(pg_url):
    with_password = sa.make_url(pg_url).set(password="Sup3rSecret")
    url = with_password.render_as_string(hide_password=False)
    # The fixture's server trusts local users, so the password is accepted and ignored.
    result = _run("db", "upgrade", "--url", url)
    assert result.exit_code == 0, result.output
    assert "Sup3rSecret" not in result.output and "***" in result.output


def test_an_unreachable_database_is_one_line_without_the_password():
    url = "postgresql+psycopg2://fleet:Sup3rSecret@127.0.0.1:1/pipeline"
    result = CliRunner().invoke(main, ["db", "current", "--url", url])
    assert result.exit_code == 1
    assert "Sup3rSecret" not in result.output
    assert "fleet:***@127.0.0.1:1/pipeline" in result.output
    assert "Traceback" not in result.output


def test_a_malformed_url_is_not_echoed():
    result = CliRunner().invoke(main, ["db", "current", "--url", "fleet:Sup3rSecret@nowhere"])
    assert result.exit_code == 1
    assert "Sup3rSecret" not in result.output
    assert "not a valid SQLAlchemy URL" in result.output
