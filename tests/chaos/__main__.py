"""`python -m tests.chaos --scenarios 20 --seed 1`: the full chaos suite (see docs/chaos.md)."""

from __future__ import annotations

import sys

import click

from .runner import run_suite
from .scenario import draw


@click.command()
@click.option("--scenarios", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--seed", type=int, default=1, show_default=True,
              help="Seed of the suite: the same seed draws the same scenarios.")
@click.option("--rows", default="40:120", show_default=True,
              help="Pending deliveries of each scenario's day, LOW:HIGH.")
@click.option("--only", type=int, multiple=True, help="Run only these scenario numbers.")
@click.option("--ledger", type=click.Choice(["sqlite", "postgresql"]), default="sqlite",
              show_default=True, help="The pipeline database of each scenario.")
@click.option("--parallel", type=click.IntRange(min=1), default=1, show_default=True,
              help="Scenarios run at the same time (each has its own processes and ports).")
@click.option("--keep", is_flag=True, help="Keep the scenario folders (logs, databases).")
def main(scenarios: int, seed: int, rows: str, only: tuple[int, ...], ledger: str,
         parallel: int, keep: bool) -> None:
    """Seeded scenarios, each a day of the sample ERP sent end to end under faults; one line
    per scenario and a total; exit 1 if any scenario fails."""
    low, _, high = rows.partition(":")
    bounds = (int(low), int(high or low))
    chosen = [draw(seed, index, bounds) for index in range(1, scenarios + 1)
              if not only or index in only]
    outcomes = run_suite(chosen, ledger=ledger, keep=keep, echo=click.echo, parallel=parallel)
    sys.exit(0 if all(outcome.passed for outcome in outcomes) else 1)


if __name__ == "__main__":
    main()
