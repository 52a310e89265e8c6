"""`fleet-pipeline db`: migrate the pipeline database and show its schema version."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
import sqlalchemy as sa

from fleet_pipeline.config import settings
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import safe_url

_URL_HELP = "Pipeline database URL (default: FLEET_DB_URL, else pipeline.sqlite under FLEET_HOME)."


@click.group()
def db() -> None:
    """The pipeline's own database: the job ledger."""


@db.command()
@click.option("--url", default=None, help=_URL_HELP)
def upgrade(url: str | None) -> None:
    """Apply every pending migration."""
    url = url or settings().pipeline_db_url
    with _reported(url):
        before, after = migrate.upgrade(url)
    if before == after:
        click.echo(f"{safe_url(url)}: already at {after} (head)")
    else:
        click.echo(f"{safe_url(url)}: upgraded from {before or 'an empty schema'} to {after}")


@db.command()
@click.option("--url", default=None, help=_URL_HELP)
def current(url: str | None) -> None:
    """Show the database's revision and whether migrations are pending."""
    url = url or settings().pipeline_db_url
    with _reported(url):
        at, head = migrate.current(url), migrate.head()
    status = "up to date" if at == head else f"pending: run `fleet-pipeline db upgrade` ({head})"
    click.echo(f"{safe_url(url)}: {at or 'not migrated'} ({status})")


@contextmanager
def _reported(url: str) -> Iterator[None]:
    """A database failure as one line that names the database without its password."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise click.ClickException(f"{safe_url(url)}: {str(exc.orig).strip()}") from None
    except sa.exc.NoSuchModuleError as exc:
        raise click.ClickException(f"{safe_url(url)}: {exc}") from None
    except sa.exc.ArgumentError:
        # The URL itself did not parse: echoing it could show a password.
        raise click.ClickException("the database URL is not a valid SQLAlchemy URL") from None
