"""`fleet-pipeline status --date YYYY-MM-DD [--json]`: a day's reconciliation in the terminal."""

from __future__ import annotations

import json
from datetime import date

import click
import sqlalchemy as sa

from fleet_pipeline.config import settings
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine, safe_url
from fleet_pipeline.reconcile.status import day_status

_LABELS = {
    "created": "created in Fleet",
    "created_twice": "created twice (duplicates in Fleet)",
    "rejected_by_api": "rejected by the Fleet API",
    "rejected_by_validation": "rejected by our validation",
    "awaiting_confirmation": "awaiting confirmation",
    "overdue": "overdue (no answer by the deadline)",
    "not_sent": "not sent yet",
}


@click.command()
@click.option("--date", "day", required=True, type=click.DateTime(["%Y-%m-%d"]),
              help="Scheduled delivery date (YYYY-MM-DD).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--url", default=None,
              help="Pipeline database URL (default: FLEET_DB_URL, else under FLEET_HOME).")
def status(day, as_json: bool, url: str | None) -> None:
    """What became of every delivery job of a day: a count per class, duplicates and
    escalations (classes counted live from the job ledger)."""
    url = url or settings().pipeline_db_url
    engine = make_engine(url)
    try:
        if migrate.current(engine) is None:
            raise click.ClickException(f"{safe_url(url)}: not migrated; run "
                                       "`fleet-pipeline db upgrade` first")
        report = day_status(engine, day.date() if hasattr(day, "date") else date(day))
    except sa.exc.OperationalError as exc:
        raise click.ClickException(f"{safe_url(url)}: {str(exc.orig).strip()}") from None
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report, sort_keys=True))
        return
    click.echo(f"Deliveries of {report['date']}: {report['extracted']} extracted")
    width = max(len(label) for label in _LABELS.values())
    for state, count in report["states"].items():
        click.echo(f"  {_LABELS[state]:<{width}}  {count:>9,}")
    if report["unexpected"]:
        click.echo(f"  {'in callbacks, never sent by us':<{width}}  {report['unexpected']:>9,}")
    click.echo(f"Duplicates: {report['duplicates']}; open escalations: {report['escalated']}"
               + ("" if not report["escalated"] else " (" + ", ".join(
                   f"{reason} {count}" for reason, count in report["escalations"].items()
                   if count) + ")"))
    if report["report_path"]:
        click.echo(f"Escalation report: {report['report_path']}")
    else:
        click.echo("Not reconciled yet: no escalation report.")
