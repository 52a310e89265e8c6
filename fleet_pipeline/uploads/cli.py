"""`fleet-pipeline send --date YYYY-MM-DD`: plan and send one day without Dagster.

The same functions as the `upload_batches` and `job_submissions` assets, for operators and for
the crash test. Settings come from the environment (uploads/settings.py).
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import click
import sqlalchemy as sa

from fleet_pipeline.config import settings as project_settings
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine, safe_url
from fleet_pipeline.uploads.connection import FleetConnection
from fleet_pipeline.uploads.planning import plan_day
from fleet_pipeline.uploads.run import send_day
from fleet_pipeline.uploads.settings import SendSettings


def _day(ctx: click.Context, param: click.Parameter, value: str) -> date:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        raise click.BadParameter("expected YYYY-MM-DD") from None


@click.command()
@click.option("--date", "day", required=True, callback=_day,
              help="Scheduled delivery date (the partition), YYYY-MM-DD.")
def send(day: date) -> None:
    """Plan a day's valid jobs into the ledger and send them to the Fleet API.

    The steps of the `upload_batches` and `job_submissions` assets. Sending starts by
    recovering what an interrupted run left (probing unknown jobs by reference), so running it
    again after a crash finishes the day without sending any job twice.
    """
    config = project_settings()
    try:
        settings = SendSettings.from_env(config)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    url = config.pipeline_db_url
    run_id = f"cli-{uuid.uuid4().hex[:12]}"
    engine = make_engine(url)
    try:
        migrate.ensure_schema(engine)
        click.echo(f"{day}: sending to {settings.api.base_url} as run {run_id} "
                   f"(ledger {safe_url(url)})")
        plan = plan_day(engine, config.data_dir, day, run_id=run_id)
        click.echo(f"{day}: {plan.valid} valid jobs, {plan.result.inserted} new, "
                   f"{len(plan.withdrawn.changed)} withdrawn")
        for reference, state in plan.result.changed_after_send:
            click.echo(f"{reference}: the ERP row changed after the job was sent ({state}); "
                       "not sent again: update it in Fleet")
        with FleetConnection(settings.api, url) as connection:
            send_day(engine, connection, config.data_dir, day, settings, log=click.echo,
                     run_id=run_id)
    except (migrate.SchemaError, FileNotFoundError) as exc:
        raise click.ClickException(str(exc)) from None
    except sa.exc.OperationalError as exc:
        raise click.ClickException(f"{safe_url(url)}: {str(exc.orig).strip()}") from None
    finally:
        engine.dispose()
