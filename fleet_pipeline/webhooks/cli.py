"""`fleet-pipeline webhooks serve`: run the receiver of the Fleet API's bulk-upload callbacks.

Worker processes build their own app with `app_from_environment`, so every setting reaches them
through the environment: the database URL (FLEET_DB_URL), the signing key, the body limit and
the signature variant. The signing key is read, never printed.
"""

from __future__ import annotations

import copy
import os

import click
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI

from fleet_pipeline.config import settings
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine, safe_url
from fleet_pipeline.webhooks.app import DEFAULT_MAX_BODY_BYTES, create_app
from fleet_pipeline.webhooks.tokens import CALLBACK_PREFIX

DEFAULT_PORT = 8701
SIGNING_KEY_VARIABLES = ("FLEET_WEBHOOK_SIGNING_KEY", "FLEET_API_PASSWORD")
MAX_BODY_VARIABLE = "FLEET_WEBHOOK_MAX_BODY_BYTES"
JSON_ENCODED_VARIABLE = "FLEET_WEBHOOK_ACCEPT_JSON_ENCODED_SIGNATURE"


def signing_key_from_environment() -> str | None:
    for name in SIGNING_KEY_VARIABLES:
        if os.environ.get(name):
            return os.environ[name]
    return None


def app_from_environment() -> FastAPI:
    """The receiver as configured by the environment (uvicorn's factory, once per worker)."""
    key = signing_key_from_environment()
    if key is None:
        raise RuntimeError(f"set {SIGNING_KEY_VARIABLES[0]} (or {SIGNING_KEY_VARIABLES[1]})")
    return create_app(
        make_engine(settings().pipeline_db_url),
        key,
        max_body_bytes=int(os.environ.get(MAX_BODY_VARIABLE) or DEFAULT_MAX_BODY_BYTES),
        accept_json_encoded_signature=os.environ.get(JSON_ENCODED_VARIABLE, "") == "1",
    )


@click.group()
def webhooks() -> None:
    """The receiver that lands the Fleet API's bulk-upload callbacks."""


@webhooks.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; keep loopback behind a reverse proxy.")
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option("--db-url", default=None,
              help="Pipeline database URL [default: FLEET_DB_URL, else pipeline.sqlite under "
                   "FLEET_HOME].")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
              help="Receiver processes sharing the port.")
@click.option("--max-body-bytes", type=click.IntRange(min=1), default=None,
              help=f"Largest callback body accepted [default: ${MAX_BODY_VARIABLE} or "
                   f"{DEFAULT_MAX_BODY_BYTES}].")
@click.option("--accept-json-encoded-signature", is_flag=True, default=False,
              help="Also accept signatures over the body as a JSON string (Cartrack's PHP "
                   "sample).")
def serve(host: str, port: int, db_url: str | None, workers: int, max_body_bytes: int | None,
          accept_json_encoded_signature: bool) -> None:
    """Land callbacks at POST /callbacks/{upload_id}/{token}; GET /healthz.

    The signing key comes from FLEET_WEBHOOK_SIGNING_KEY, else FLEET_API_PASSWORD.
    """
    if signing_key_from_environment() is None:
        raise click.UsageError(
            f"no signing key: set {SIGNING_KEY_VARIABLES[0]} (or {SIGNING_KEY_VARIABLES[1]})")
    url = db_url or settings().pipeline_db_url
    _migrate(url)
    os.environ["FLEET_DB_URL"] = url
    if max_body_bytes is not None:
        os.environ[MAX_BODY_VARIABLE] = str(max_body_bytes)
    if accept_json_encoded_signature:
        os.environ[JSON_ENCODED_VARIABLE] = "1"
    click.echo(f"webhook receiver: http://{host}:{port}{CALLBACK_PREFIX}/{{upload_id}}/{{token}}"
               f" -> {safe_url(url)} ({workers} worker{'s' if workers > 1 else ''})")
    uvicorn.run(
        "fleet_pipeline.webhooks.cli:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The access log would print every callback path, and the path holds the token.
        access_log=False,
        log_config=_log_config(),
    )


def _migrate(url: str) -> None:
    try:
        engine = make_engine(url)
    except sa.exc.ArgumentError:
        raise click.ClickException("the database URL is not a valid SQLAlchemy URL") from None
    try:
        migrate.ensure_schema(engine)
    except migrate.SchemaError as exc:
        raise click.ClickException(str(exc)) from None
    except sa.exc.SQLAlchemyError as exc:
        cause = getattr(exc, "orig", None) or exc
        raise click.ClickException(f"{safe_url(url)}: {str(cause).strip()}") from None
    finally:
        engine.dispose()


def _log_config() -> dict:
    """uvicorn's logging, plus the receiver's own lines (one per callback, token left out)."""
    config = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["fleet_pipeline"] = {"handlers": ["default"], "level": "INFO",
                                           "propagate": False}
    return config
