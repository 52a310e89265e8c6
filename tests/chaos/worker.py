"""One pipeline run of a chaos scenario, in its own process so that it can be SIGKILLed:
materialize the day's chain through Dagster, then reconcile (with its retries) round after
round until the day is settled or the rounds run out, as an operator's runs would.

`python -m tests.chaos.worker --date YYYY-MM-DD --rounds N`; settings come from the FLEET_*
environment the runner sets. Prints `sending` before the chain (the runner times kills and the
receiver's restart from it) and `settled` or `unsettled` at the end.
"""

from __future__ import annotations

import time
import warnings
from datetime import date

import click

CHAIN = ("erp_deliveries", "delivery_jobs", "upload_batches", "job_submissions")
RECONCILE = ("reconciliation",)
# Classes of a day that a further reconciliation may still change.
OPEN_CLASSES = ("awaiting_confirmation", "overdue", "not_sent")


@click.command()
@click.option("--date", "day_text", required=True)
@click.option("--rounds", type=int, default=20, show_default=True)
@click.option("--callback-wait", type=float, default=15.0, show_default=True,
              help="Longest wait, in seconds, for the day's callbacks before a reconciliation.")
def main(day_text: str, rounds: int, callback_wait: float) -> None:
    started = time.monotonic()

    def say(text: str) -> None:
        click.echo(f"{text} ({time.monotonic() - started:.1f} s)")

    import dagster as dg

    warnings.filterwarnings("ignore", category=dg.BetaWarning)
    warnings.filterwarnings("ignore", category=dg.PreviewWarning)
    from fleet_pipeline.config import Settings
    from fleet_pipeline.definitions import defs
    from fleet_pipeline.ledger.engine import make_engine

    day = date.fromisoformat(day_text)
    engine = make_engine(Settings().pipeline_db_url)
    instance = dg.DagsterInstance.ephemeral()
    job = defs.resolve_implicit_global_asset_job_def()

    def materialize(names: tuple[str, ...]) -> None:
        result = job.execute_in_process(
            instance=instance, partition_key=day.isoformat(), raise_on_error=False,
            asset_selection=[dg.AssetKey(name) for name in names],
            run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}})
        if not result.success:
            raise click.ClickException(f"run of {', '.join(names)} failed: "
                                       + "; ".join(_failures(result)))

    say("imported")
    say("sending")
    materialize(CHAIN)
    say("chain done")
    for number in range(1, rounds + 1):
        _wait_for_callbacks(engine, day, callback_wait)
        materialize(RECONCILE)
        open_jobs = _open(engine, day)
        say(f"round {number}: open {open_jobs}")
        if not open_jobs:
            say("settled")
            return
        _wait_for_retry(engine, day)
    say("unsettled")


def _failures(result) -> list[str]:
    return [f"{event.step_key}: {event.event_specific_data.error.message.strip()}"
            for event in result.all_events if event.is_step_failure]


def _open(engine, day: date) -> dict[str, int]:
    from fleet_pipeline.reconcile.status import day_status

    states = day_status(engine, day)["states"]
    return {name: states[name] for name in OPEN_CLASSES if states[name]}


def _wait_for_callbacks(engine, day: date, limit_s: float) -> None:
    """Until every accepted upload is called back or past its deadline (the reconciliation
    then looks its jobs up), at most `limit_s`."""
    from fleet_pipeline.demo_status import upload_callbacks

    started = time.monotonic()
    while time.monotonic() - started < limit_s:
        called_back, overdue, total = upload_callbacks(engine, day)
        if called_back + overdue >= total:
            return
        time.sleep(0.2)


def _wait_for_retry(engine, day: date) -> None:
    """Until the earliest back-off of a job waiting to be sent again has passed, at least a
    second (a job looked up too early waits for its create to have surely ended), at most 5 s."""
    from fleet_pipeline.demo_status import retry_wait

    wait = retry_wait(engine, day)
    time.sleep(min(5.0, max(1.0, wait or 0.0)))


if __name__ == "__main__":
    main()
