"""Run the webhook receiver over real loopback HTTP inside the current process (tests, demo)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from fleet_pipeline.http_server import serving
from fleet_pipeline.ledger import migrate
from fleet_pipeline.webhooks.app import create_app


@contextmanager
def running_receiver(
    engine: sa.Engine, signing_key: str, *, host: str = "127.0.0.1", **options: Any
) -> Iterator[str]:
    """The receiver on `engine` (migrated to head first) until the block ends. Yields its base
    URL, the `public_base_url` of `tokens.webhook_url`. `options` go to `create_app`."""
    migrate.ensure_schema(engine)
    with serving(create_app(engine, signing_key, **options), host=host) as root:
        yield root
