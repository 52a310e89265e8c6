"""`fleet-pipeline demo`: one day end to end on the embedded defaults, against the simulator.

Everything it writes lives under FLEET_HOME: the sample ERP, the pipeline database, the
simulator's memory (so a second run finds the jobs it already created and sends nothing twice)
and a Dagster instance (so `dagster dev` shows the demo's runs afterwards).

The simulator and the webhook receiver run in this process on free loopback ports; the
environment is pointed at them before the Dagster definitions are imported, because the
resources read their settings when the definitions module loads.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import click

from fleet_pipeline.config import Settings

DEFAULT_ROWS = 500
DEFAULT_SEED = 1
CHAIN = ("erp_deliveries", "delivery_jobs", "upload_batches", "job_submissions")
SEND = "job_submissions"
RECONCILE = "reconciliation"
# Retry rounds after the first send: each re-sends what the ledger holds as queued and due.
RETRY_ROUNDS = 8
# A job due later than this is left for the next run and shown as awaiting.
MAX_RETRY_WAIT_S = 5.0
# Settings the demo uses unless they are set: production waits minutes or an hour, the demo
# seconds. Files of 100 jobs make several uploads (several callbacks to wait for); a six-second
# callback deadline lets the upload of a lost callback go overdue while you watch; the demo
# account may make 6,000 requests a minute (a real one: 1,000), so looking its jobs up is quick;
# its creates end within a second, so a create that failed is looked up two seconds after it.
DEMO_RATE_LIMIT = 6000
DEMO_ENVIRONMENT = {"FLEET_RETRY_BASE_SECONDS": "1", "FLEET_RETRY_CAP_SECONDS": "2",
                    "FLEET_IN_FLIGHT_TIMEOUT_SECONDS": "2",
                    "FLEET_UPLOAD_MAX_JOBS": "100", "FLEET_CALLBACK_DEADLINE_MINUTES": "0.1",
                    "FLEET_API_RATE_LIMIT_PER_MINUTE": str(DEMO_RATE_LIMIT)}
# Seeded faults of the demo's simulator: one callback in five is lost (its jobs exist: they are
# looked up and found); one create in ten answers 500 and creates nothing (found absent, sent
# again).
CALLBACK_DROP_RATE = 0.2
CREATE_ERROR_RATE = 0.1

DEV_INSTANCE = Path(__file__).resolve().parents[1] / "deploy" / "dev" / "dagster.yaml"
# Used when the project is installed without its deploy/ folder (not an editable install).
FALLBACK_INSTANCE = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"
UI_COMMAND = "DAGSTER_HOME=$PWD/.fleet/dagster dagster dev -w dagster_workspace.yaml"


@click.command()
@click.option("--rows", type=click.IntRange(min=1), default=DEFAULT_ROWS, show_default=True,
              help="Pending deliveries seeded for the day.")
@click.option("--seed", "seed_value", type=int, default=DEFAULT_SEED, show_default=True,
              help="Random seed of the sample ERP and of the simulator's faults: the same seed "
                   "gives the same deliveries and the same faults.")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds to wait for the Fleet API's callbacks.")
def demo(rows: int, seed_value: int, timeout: float) -> None:
    """Seed a sample ERP, send tomorrow's deliveries to a local Fleet API simulator through
    Dagster, land its callbacks, reconcile, retry, and print what happened to every job."""
    settings = Settings()
    day = date.today() + timedelta(days=1)
    # The API client's warnings (a 500, a retry) are the faults the demo injects on purpose;
    # the runs' logs and the summary tell what came of them.
    logging.getLogger("fleet_pipeline").addHandler(logging.NullHandler())
    if settings.days_ahead < 1:
        raise click.ClickException("the demo runs tomorrow's deliveries: set FLEET_DAYS_AHEAD "
                                   "to 1 or more (or leave it unset)")
    settings.home.mkdir(parents=True, exist_ok=True)
    # The demo always seeds its own ERP file: it must never replace the tables of a real ERP.
    erp_url = f"sqlite:///{settings.home / 'erp.sqlite'}"
    started = time.monotonic()
    click.echo(f"fleet-pipeline demo: deliveries of {day.isoformat()}, state in {settings.home}")
    _seed(erp_url, rows, seed_value, day)
    with _services(settings, erp_url, seed_value) as services:
        summary = _run_day(settings, day, services, timeout)
    _print_summary(summary, settings, time.monotonic() - started)


def _seed(url: str, rows: int, seed_value: int, day: date) -> None:
    from fleet_pipeline.erp.sample.writer import seed as seed_erp

    report = seed_erp(url, 1, rows, seed_value, day)
    defects = sum(report.defects.values())
    click.echo(f"1/5 Seeded the sample ERP: {report.pending} pending deliveries, {defects} with "
               "a realistic defect (same seed, same rows: a second run changes nothing).")


@dataclass(frozen=True)
class Services:
    engine: Any  # the pipeline database
    simulator: Any  # RunningSimulator
    receiver_url: str


@contextmanager
def _services(settings: Settings, erp_url: str, seed_value: int) -> Iterator[Services]:
    from fleet_pipeline.ledger.engine import make_engine
    from fleet_pipeline.simulator import SimulatorConfig, running_simulator
    from fleet_pipeline.simulator.config import Faults, demo_password
    from fleet_pipeline.webhooks.server import running_receiver

    engine = make_engine(settings.pipeline_db_url)
    # The simulator keeps its jobs in a file: a second run sees what the first one created. It
    # knows the sample ERP's drivers, as a real Fleet account knows the company's drivers.
    config = SimulatorConfig(db_path=settings.home / "simulator.sqlite",
                             drivers=_erp_drivers(erp_url),
                             rate_limit_per_minute=DEMO_RATE_LIMIT,
                             faults=Faults(seed=seed_value, callback_drop_rate=CALLBACK_DROP_RATE,
                                           error_rate={"create": CREATE_ERROR_RATE}))
    with ExitStack() as stack:
        stack.callback(engine.dispose)
        simulator = stack.enter_context(running_simulator(config))
        receiver_url = stack.enter_context(running_receiver(engine, demo_password()))
        environment = {
            "FLEET_ERP_URL": erp_url,
            "FLEET_API_BASE_URL": simulator.base_url,
            "FLEET_WEBHOOK_PUBLIC_URL": receiver_url,
            **{name: value for name, value in DEMO_ENVIRONMENT.items()
               if not os.environ.get(name)},
        }
        # The sample ERP's own queries; the simulator's URL and demo account.
        for name in ("FLEET_ERP_DELIVERIES_QUERY", "FLEET_ERP_ITEMS_QUERY", "FLEET_API_REGION",
                     "FLEET_API_USERNAME"):
            os.environ.pop(name, None)
        os.environ.update(environment)
        click.echo(f"2/5 Started the Fleet API simulator ({simulator.base_url}) and the webhook "
                   f"receiver ({receiver_url}).")
        yield Services(engine, simulator, receiver_url)


def _erp_drivers(erp_url: str) -> list[dict[str, str]]:
    from fleet_pipeline.erp.sample.roster import fleet_roster
    from fleet_pipeline.erp.source import connect

    erp = connect(erp_url)
    try:
        return fleet_roster(erp)
    finally:
        erp.dispose()


def _run_day(settings: Settings, day: date, services: Services, timeout: float
             ) -> dict[str, Any]:
    import dagster as dg

    # Beta and preview notices about the project's own asset options are not for demo users.
    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    # Imported only now: the resources read the environment set by _services.
    from fleet_pipeline.definitions import defs

    instance = dg.DagsterInstance.from_config(str(_dagster_home(settings)))
    try:
        _materialize_day(defs, instance, day, services.engine, timeout)
    finally:
        instance.dispose()
    summary = _day_status(services.engine, settings.data_dir, day)
    summary["fleet_duplicates"] = _fleet_duplicates(services.simulator.root_url)
    return summary


def _materialize_day(defs: Any, instance: Any, day: date, engine: Any, timeout: float) -> None:
    """Send, wait for the callbacks, reconcile, and reconcile again while retries are due."""
    key = day.isoformat()
    _materialize(defs, instance, key, CHAIN)
    click.echo(f"3/5 Materialized {', '.join(CHAIN)} for {key} through Dagster.")
    _wait_for_callbacks(engine, day, timeout)
    rest = [name for name in _asset_names(defs) if name not in CHAIN]
    if rest:
        result = _materialize(defs, instance, key, rest)
        click.echo(f"4/5 Materialized {', '.join(rest)}: {_reconciled(result)}.")
    retries = 0
    again = [RECONCILE] if RECONCILE in rest else [SEND]
    for _ in range(RETRY_ROUNDS):
        wait = _retry_wait(engine, day)
        if wait is None or wait > MAX_RETRY_WAIT_S:
            break
        time.sleep(wait)
        _materialize(defs, instance, key, again)
        _wait_for_callbacks(engine, day, timeout, retry=True)
        retries += 1
    if retries:
        click.echo(f"5/5 Retried: {retries} more run(s) of {', '.join(again)} for jobs queued "
                   "again, unknown or rejected.")
    else:
        click.echo("5/5 Nothing is due for a retry.")


def _dagster_home(settings: Settings) -> Path:
    """$FLEET_HOME/dagster with the development instance settings (telemetry and popup off)."""
    home = settings.home / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    text = DEV_INSTANCE.read_text(encoding="utf-8") if DEV_INSTANCE.exists() \
        else FALLBACK_INSTANCE
    (home / "dagster.yaml").write_text(text, encoding="utf-8")
    return home


def _asset_names(defs: Any) -> list[str]:
    graph = defs.resolve_asset_graph()
    # Topological order, so that "the rest" runs after what it depends on.
    return [key.to_user_string() for key in graph.toposorted_asset_keys
            if key in graph.materializable_asset_keys]


def _materialize(defs: Any, instance: Any, key: str, names: Sequence[str]) -> Any:
    import dagster as dg

    job = defs.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance, partition_key=key,
        asset_selection=[dg.AssetKey(name) for name in names], raise_on_error=False,
        # The run's own log stays in the instance (the UI shows it); the terminal gets the steps.
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}})
    if not result.success:
        raise click.ClickException(
            f"the Dagster run {result.run_id} of {', '.join(names)} failed; open the UI "
            f"({UI_COMMAND}) and look at the run's logs")
    return result


def _reconciled(result: Any) -> str:
    """What the reconciliation did, from its materialization's metadata."""
    found = result.asset_materializations_for_node(RECONCILE) if RECONCILE in {
        node.name for node in result.job_def.nodes} else []
    if not found:
        return "done"
    metadata = {k: v.value for k, v in found[-1].metadata.items()}
    parts = [f"{metadata[k]} {label}" for k, label in (
        ("callback_rows_applied", "callback rows applied"),
        ("jobs_looked_up", "jobs looked up in Fleet by delivery number"),
        ("jobs_retried", "jobs sent again")) if k in metadata]
    return ", ".join(parts) or "done"


def _wait_for_callbacks(engine: Any, day: date, timeout: float, *, retry: bool = False) -> None:
    """Show the day's accepted uploads whose callback has landed, until every one has or is
    past its deadline (or time is up): a progress bar on a terminal, a line a second otherwise
    (logs, CI)."""
    from fleet_pipeline.demo_status import upload_callbacks

    called_back, overdue, total = upload_callbacks(engine, day)
    if total == 0:
        if not retry:
            click.echo("    No bulk upload awaits a callback: the day went one by one.")
        return
    started = time.monotonic()
    interactive = sys.stdout.isatty()
    with click.progressbar(length=total, label="    Uploads called back", show_pos=True,
                           file=sys.stdout) as bar:
        shown, printed = 0, -1.0
        while True:
            called_back, overdue, total = upload_callbacks(engine, day)
            elapsed = time.monotonic() - started
            settled = called_back + overdue >= total
            if not interactive and (elapsed - printed >= 1 or settled):
                click.echo(f"    {called_back} of {total} uploads called back, {overdue} past "
                           f"their deadline ({elapsed:.0f} s)")
                printed = elapsed
            bar.update(called_back + overdue - shown)
            shown = called_back + overdue
            if settled or elapsed > timeout:
                break
            time.sleep(0.2)
    if overdue:
        click.echo(f"    {overdue} upload(s) got no callback by the deadline: the reconciliation "
                   "looks their jobs up in Fleet by delivery number.")
    waiting = total - called_back - overdue
    if waiting:
        click.echo(f"    {waiting} upload(s) still awaiting their callback after {timeout:.0f} s; "
                   "the reconciliation takes them up once their deadline passes.")


def _retry_wait(engine: Any, day: date) -> float | None:
    from fleet_pipeline.demo_status import retry_wait

    return retry_wait(engine, day)


def _day_status(engine: Any, data_dir: Path, day: date) -> dict[str, Any]:
    """Where the day stands, as the reconciliation counts it."""
    from fleet_pipeline.reconcile.status import day_status

    return dict(day_status(engine, day, data_dir=data_dir))


def _fleet_duplicates(root_url: str) -> int:
    import httpx

    report = httpx.get(f"{root_url}/_simulator/references", timeout=10).json()
    return int(report["summary"]["references_created_more_than_once"])


def _print_summary(summary: dict[str, Any], settings: Settings, seconds: float) -> None:
    from fleet_pipeline.demo_status import summary_lines

    click.echo("")
    click.echo(f"Summary for {summary['date']} ({seconds:.0f} s):")
    for label, value in summary_lines(summary):
        click.echo(f"  {label + ':':<36}{value}")
    click.echo("")
    click.echo("See the runs, assets and checks in the Dagster UI (then open "
               "http://127.0.0.1:3000):")
    click.echo(f"  {UI_COMMAND}")
    if settings.home != (Path.cwd() / ".fleet").resolve():
        click.echo(f"  (FLEET_HOME is {settings.home}: use DAGSTER_HOME={settings.home}/dagster "
                   f"and the same FLEET_HOME)")
