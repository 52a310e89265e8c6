"""`fleet-pipeline erp`: seed the sample ERP and check that source queries return what is needed."""

from __future__ import annotations

import sys
from datetime import date

import click
import sqlalchemy as sa

from fleet_pipeline.config import Settings
from fleet_pipeline.erp.canonical import required_names
from fleet_pipeline.erp.sample.generator import DEFAULT_DEFECT_RATE, DEFECTS
from fleet_pipeline.erp.sample.schema import TABLE_NAMES
from fleet_pipeline.erp.source import ErpSourceError, check_source, connect, load_source

# Below this many deliveries a seed takes a moment and a progress bar is only noise.
_PROGRESS_FROM = 20_000


@click.group()
def erp() -> None:
    """The ERP side: seed the sample ERP, check the source queries."""


@erp.command()
@click.option("--url", help="SQLAlchemy URL of the database to fill. "
              "[default: FLEET_ERP_URL, else the embedded SQLite ERP under FLEET_HOME]")
@click.option("--days", type=click.IntRange(min=1), default=1, show_default=True,
              help="Number of scheduled dates.")
@click.option("--per-day", type=click.IntRange(min=0), default=100, show_default=True,
              help="Pending deliveries per date.")
@click.option("--seed", "seed_value", type=int, default=1, show_default=True,
              help="Random seed: the same seed gives the same rows.")
@click.option("--defect-rate", type=click.FloatRange(0, 1), default=DEFAULT_DEFECT_RATE,
              show_default=True, help="Share of pending deliveries given a realistic defect.")
@click.option("--start-date", type=click.DateTime(formats=["%Y-%m-%d"]),
              help="First scheduled date, YYYY-MM-DD.  [default: today]")
def seed(url: str | None, days: int, per_day: int, seed_value: int, defect_rate: float,
         start_date) -> None:
    """Replace the sample ERP's tables with generated deliveries (and their defects)."""
    from fleet_pipeline.erp.sample.writer import seed as seed_erp

    if url is None:
        settings = Settings()
        settings.home.mkdir(parents=True, exist_ok=True)  # the embedded ERP lives there
        url = settings.erp_url
    first = start_date.date() if start_date else date.today()
    total = days * per_day
    try:
        if total >= _PROGRESS_FROM:
            with click.progressbar(length=total, label="Seeding deliveries",
                                   file=sys.stderr) as bar:
                report = seed_erp(url, days, per_day, seed_value, first, defect_rate,
                                  progress=bar.update)
        else:
            report = seed_erp(url, days, per_day, seed_value, first, defect_rate)
    except ErpSourceError as exc:
        raise click.ClickException(str(exc)) from None
    where = sa.make_url(url).render_as_string(hide_password=True)
    click.echo(f"Seeded the sample ERP at {where}: {report.pending} pending deliveries over "
               f"{days} day(s) from {first.isoformat()} (seed {seed_value}).")
    click.echo("Rows: " + ", ".join(f"{t} {report.rows[t]}" for t in TABLE_NAMES))
    click.echo("Defects (delivery numbers): "
               + ", ".join(f"{kind} {report.defects[kind]}" for kind in DEFECTS))


@erp.command()
@click.option("--url", help="SQLAlchemy URL of the ERP.  [default: FLEET_ERP_URL, else the "
              "embedded SQLite ERP]")
@click.option("--deliveries-query", type=click.Path(dir_okay=False),
              help="Deliveries .sql file.  [default: FLEET_ERP_DELIVERIES_QUERY, else built-in]")
@click.option("--items-query", type=click.Path(dir_okay=False),
              help="Items .sql file.  [default: FLEET_ERP_ITEMS_QUERY, else built-in]")
def check(url: str | None, deliveries_query: str | None, items_query: str | None) -> None:
    """Run both source queries on an empty window and compare their columns with the canonical
    record: prints OK, or every missing required column (exit status 1)."""
    settings = Settings()
    try:
        source = load_source(deliveries_query or settings.erp_deliveries_query,
                             items_query or settings.erp_items_query)
        engine = connect(url or settings.erp_url)
        try:
            matches = check_source(engine, source)
        finally:
            engine.dispose()
    except ErpSourceError as exc:
        raise click.ClickException(str(exc)) from None
    for query in source.queries():
        match = matches[query.name]
        line = (f"OK: the {query.name} query ({query.origin}) returns all "
                f"{len(required_names(query.columns))} required columns")
        if match.absent_optional:
            line += f"; not returned, so NULL: {', '.join(match.absent_optional)}"
        if match.extra:
            line += f"; ignored: {', '.join(match.extra)}"
        click.echo(line + ".")
