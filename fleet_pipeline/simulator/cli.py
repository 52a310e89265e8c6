"""`fleet-pipeline simulator serve|inspect`: run the local Fleet API, and see what it did.

Settings come from the defaults, then `--config FILE` (JSON or YAML), then the flags.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click
import httpx

from fleet_pipeline import config as project_config
from fleet_pipeline.simulator.config import (
    DEFAULT_PORT,
    ENDPOINTS,
    SimulatorConfig,
    demo_password,
    read_config_file,
)
from fleet_pipeline.simulator.inspection import render_text


def _pairs(values: tuple[str, ...], what: str) -> dict[str, str]:
    """`create=11` style flags into a mapping, refusing unknown endpoints."""
    pairs = {}
    for value in values:
        endpoint, sep, setting = value.partition("=")
        if not sep or endpoint not in ENDPOINTS:
            raise click.BadParameter(
                f"{value!r}: expected ENDPOINT={what} with ENDPOINT one of {', '.join(ENDPOINTS)}"
            )
        pairs[endpoint] = setting
    return pairs


def _merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def serve_config(
    *,
    config_file: Path | None = None,
    db: Path | None = None,
    username: str | None = None,
    password: str | None = None,
    rate_limit: int | None = None,
    flags: dict[str, Any] | None = None,
    faults: dict[str, Any] | None = None,
) -> SimulatorConfig:
    """The settings `serve` runs with; flags left as None keep the file's or the default value."""
    settings = read_config_file(config_file) if config_file else {}
    overrides: dict[str, Any] = {k: v for k, v in (flags or {}).items() if v is not None}
    fault_overrides = {k: v for k, v in (faults or {}).items() if v is not None}
    if fault_overrides:
        overrides["faults"] = fault_overrides
    if rate_limit is not None:
        overrides["rate_limit_per_minute"] = rate_limit
    if username or password:
        overrides["accounts"] = [
            {"username": username or "demo", "password": password or demo_password()}
        ]
    if db is not None:
        overrides["db_path"] = str(db)
    elif "db_path" not in settings:
        overrides["db_path"] = str(project_config.fleet_home() / "simulator.sqlite")
    return SimulatorConfig.model_validate(_merge(settings, overrides))


def _roster(erp_url: str) -> list[dict[str, str]]:
    from fleet_pipeline.erp.sample.roster import fleet_roster
    from fleet_pipeline.erp.source import connect

    engine = connect(erp_url)
    try:
        return fleet_roster(engine)
    finally:
        engine.dispose()


@click.group()
def simulator() -> None:
    """A local Cartrack Fleet API: same paths, rules, errors, callbacks; faults on demand."""


@simulator.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=DEFAULT_PORT, show_default=True, type=int)
@click.option(
    "--db",
    type=click.Path(dir_okay=False, path_type=Path),
    help="SQLite file for jobs, uploads and callbacks [default: $FLEET_HOME/simulator.sqlite]",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Settings file (.json, .yaml); flags override it.",
)
@click.option("--username", help="Account user name [default: demo]")
@click.option(
    "--password",
    help="Account API password [default: $FLEET_API_PASSWORD or the demo password]",
)
@click.option("--rate-limit", type=int, help="Requests per minute per account; 0 turns it off.")
@click.option("--api-prefix", help="Path the API is served under [default: /rest]")
@click.option("--duplicate-reference", type=click.Choice(["create", "reject"]))
@click.option("--max-page-size", type=int)
@click.option("--timezone", "account_timezone", help="The account's time zone [default: UTC]")
@click.option(
    "--callback-retry-schedule",
    help="Waits in seconds between callback attempts, e.g. 1,5,30.",
)
@click.option(
    "--bulk-processing-delay", help="Seconds before an upload is processed: S or LOW:HIGH."
)
@click.option(
    "--drivers-from-erp",
    "drivers_erp_url",
    help="SQLAlchemy URL of a sample ERP whose drivers make up the account's roster "
    "[default: four built-in drivers]",
)
@click.option("--seed", type=int, help="Seed of every fault stream.")
@click.option("--latency", multiple=True, help="ENDPOINT=S or ENDPOINT=LOW:HIGH, e.g. create=11.")
@click.option("--error-rate", multiple=True, help="ENDPOINT=RATE of 500 answers, e.g. list=0.05.")
@click.option("--rate-limit-burst", help="N:K: from every Nth request, K requests answer 429.")
@click.option(
    "--lost-response-rate", type=float, help="Creates whose 200 never reaches the client."
)
@click.option(
    "--lost-response-mode", type=click.Choice(["gateway_timeout", "server_error", "drop", "sleep"])
)
@click.option("--callback-drop-rate", type=float)
@click.option("--callback-duplicate-rate", type=float)
@click.option("--callback-delay", help="Seconds before a callback's first attempt: S or LOW:HIGH.")
@click.option("--callback-shuffle-rate", type=float)
@click.option("--callback-hold-rate", type=float, help="Callbacks sent after a later upload's.")
@click.option("--callback-bad-signature-rate", type=float)
def serve(
    host: str,
    port: int,
    db: Path | None,
    config_file: Path | None,
    username: str | None,
    password: str | None,
    rate_limit: int | None,
    api_prefix: str | None,
    duplicate_reference: str | None,
    max_page_size: int | None,
    account_timezone: str | None,
    callback_retry_schedule: str | None,
    bulk_processing_delay: str | None,
    drivers_erp_url: str | None,
    seed: int | None,
    latency: tuple[str, ...],
    error_rate: tuple[str, ...],
    rate_limit_burst: str | None,
    lost_response_rate: float | None,
    lost_response_mode: str | None,
    callback_drop_rate: float | None,
    callback_duplicate_rate: float | None,
    callback_delay: str | None,
    callback_shuffle_rate: float | None,
    callback_hold_rate: float | None,
    callback_bad_signature_rate: float | None,
) -> None:
    """Serve the simulated Fleet API with uvicorn."""
    import uvicorn

    from fleet_pipeline.simulator.app import create_app

    burst_every = burst_length = None
    if rate_limit_burst:
        every, _, length = rate_limit_burst.partition(":")
        burst_every, burst_length = int(every), int(length or 1)
    schedule = (
        [float(wait) for wait in callback_retry_schedule.split(",") if wait.strip()]
        if callback_retry_schedule is not None
        else None
    )
    config = serve_config(
        config_file=config_file,
        db=db,
        username=username,
        password=password,
        rate_limit=rate_limit,
        flags={
            "api_prefix": api_prefix,
            "duplicate_reference": duplicate_reference,
            "max_page_size": max_page_size,
            "account_timezone": account_timezone,
            "callback_retry_schedule_s": schedule,
            "bulk_processing_delay": bulk_processing_delay,
            "drivers": _roster(drivers_erp_url) if drivers_erp_url else None,
        },
        faults={
            "seed": seed,
            "latency": _pairs(latency, "SECONDS") or None,
            "error_rate": {k: float(v) for k, v in _pairs(error_rate, "RATE").items()} or None,
            "rate_limit_burst_every": burst_every,
            "rate_limit_burst_length": burst_length,
            "lost_response_rate": lost_response_rate,
            "lost_response_mode": lost_response_mode,
            "callback_drop_rate": callback_drop_rate,
            "callback_duplicate_rate": callback_duplicate_rate,
            "callback_delay": callback_delay,
            "callback_shuffle_rate": callback_shuffle_rate,
            "callback_hold_rate": callback_hold_rate,
            "callback_bad_signature_rate": callback_bad_signature_rate,
        },
    )
    accounts = ", ".join(account.username for account in config.accounts)
    click.echo(f"Fleet API simulator: http://{host}:{port}{config.api_prefix}")
    click.echo(f"  accounts: {accounts}; database: {config.db_path or 'in memory'}")
    click.echo(f"  inspect:  fleet-pipeline simulator inspect --url http://{host}:{port}")
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")


@simulator.command()
@click.option(
    "--url",
    default=f"http://127.0.0.1:{DEFAULT_PORT}",
    show_default=True,
    help="The simulator's address (its API base URL works too).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the full reports as JSON.")
def inspect(url: str, as_json: bool) -> None:
    """Print jobs per reference_number and each upload's rows and callback deliveries."""
    parts = urlsplit(url)
    root = f"{parts.scheme}://{parts.netloc}/_simulator"
    try:
        with httpx.Client(timeout=30) as client:
            references = client.get(f"{root}/references").raise_for_status().json()
            uploads = (
                client.get(f"{root}/uploads", params={"rows": str(as_json).lower()})
                .raise_for_status()
                .json()
            )
    except httpx.HTTPError as exc:
        raise click.ClickException(f"could not read the simulator at {root}: {exc}") from None
    if as_json:
        click.echo(json.dumps({"references": references, "uploads": uploads}, indent=2))
    else:
        click.echo(render_text(references, uploads))
