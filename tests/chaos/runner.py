"""Run chaos scenarios: each one a day of the sample ERP in its own folder, ledger, simulator
and receiver processes; pipeline runs killed as the scenario says and run again until one
finishes; then the verdict against the simulator's records."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from fleet_pipeline.erp.sample.roster import fleet_roster
from fleet_pipeline.erp.sample.writer import seed as seed_erp
from fleet_pipeline.erp.source import connect
from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine

from .scenario import Kill, Scenario
from .services import Receiver, Simulator, base_environment
from .verdict import SHOWN, check, erp_deliveries

PROJECT = Path(__file__).resolve().parents[2]
USER, PASSWORD = "chaos", "chaos-password"  # noqa: S105 - the simulator's throwaway account
# Short, so that a killed run's in-flight jobs and an upload's lost callback are taken up within
# seconds; the in-flight time-out outlasts the slowest create a scenario draws (2.5 s).
IN_FLIGHT_TIMEOUT_S = 4.0
CALLBACK_DEADLINE_S = 4.0
READ_TIMEOUT_S = 2.0
RUN_TIMEOUT_S = 300.0
POSTGRES = "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"
_MIGRATING = threading.Lock()


@dataclass
class Outcome:
    scenario: Scenario
    problems: list[str]
    outcomes: Counter
    runs: int = 0
    killed: int = 0
    seconds: float = 0.0
    injected: dict[str, int] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    receiver_restarts: int = 0

    @property
    def passed(self) -> bool:
        return not self.problems

    def line(self) -> str:
        verdict = "PASS" if self.passed else f"FAIL ({len(self.problems)} problems)"
        counts = " ".join(f"{name}={count}" for name, count in sorted(self.outcomes.items())
                          if count)
        faults = ",".join(f"{kind}={count}" for kind, count in sorted(self.injected.items()))
        return (f"scenario {self.scenario.index:>2} seed {self.scenario.seed}: {verdict} "
                f"in {self.seconds:.0f}s; {self.runs} runs ({self.killed} killed), "
                f"receiver restarts {self.receiver_restarts}; {counts}; "
                f"injected {faults or 'none'} [{self.scenario.describe()}]")


def next_day() -> date:
    # Tomorrow: a partition the pipeline plans for (FLEET_DAYS_AHEAD >= 1).
    return date.today() + timedelta(days=1)


@contextmanager
def ledger_database(kind: str, folder: Path) -> Iterator[str]:
    """A throwaway pipeline database for one scenario."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'pipeline.sqlite'}"
        return
    name = f"chaos_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_scenario(scenario: Scenario, workdir: Path, *, ledger: str = "sqlite",
                 rounds: int = 20) -> Outcome:
    started = time.monotonic()
    folder = workdir / f"scenario-{scenario.index:02d}"
    folder.mkdir(parents=True)
    day = next_day()
    erp_url = f"sqlite:///{folder / 'erp.sqlite'}"
    seed_erp(erp_url, 1, scenario.rows, scenario.seed, day)
    erp = connect(erp_url)
    try:
        roster = fleet_roster(erp)
        erp_refs = erp_deliveries(erp, day)
    finally:
        erp.dispose()
    env = base_environment()
    with ledger_database(ledger, folder) as db_url:
        engine = make_engine(db_url)
        with _MIGRATING:  # Alembic keeps its migration context in module globals
            migrate.ensure_schema(engine)
        simulator = Simulator(folder, _simulator_config(scenario, folder, roster), env)
        receiver = None
        try:
            receiver = Receiver(folder, dict(env, FLEET_DB_URL=db_url,
                                             FLEET_WEBHOOK_SIGNING_KEY=PASSWORD))
            simulator.wait_up()  # both start side by side
            receiver.wait_up()
            pipeline_env = _pipeline_env(scenario, env, folder, db_url, erp_url,
                                         simulator.base_url, receiver.url)
            runs, killed = _run_until_done(scenario, pipeline_env, receiver, day, rounds,
                                           folder)
            simulator.flush()
            fleet = simulator.references()
            problems, outcomes = check(erp_refs, engine, fleet, day)
            if runs[-1] != 0:
                problems.insert(0, f"the last pipeline run exited {runs[-1]} "
                                   f"(see {folder}/run-{len(runs)}.log)")
            outcome = Outcome(scenario, problems, outcomes, runs=len(runs), killed=killed,
                              injected=_injected(simulator), callbacks=simulator.callbacks(),
                              receiver_restarts=receiver.restarts)
        finally:
            if receiver is not None:
                receiver.stop()
            simulator.stop()
            engine.dispose()
    outcome.seconds = time.monotonic() - started
    return outcome


def _injected(simulator: Simulator) -> dict[str, int]:
    import httpx

    return httpx.get(f"{simulator.root}/_simulator/faults", timeout=30).json()["injected"]


def _simulator_config(scenario: Scenario, folder: Path, roster: list[dict[str, str]]) -> dict:
    return {
        "db_path": str(folder / "simulator.sqlite"),
        "accounts": [{"username": USER, "password": PASSWORD}],
        "drivers": roster,
        "rate_limit_per_minute": 6000,
        "bulk_processing_delay": "0:0.3",
        # Retried a few times within seconds, so a receiver down for a moment misses some.
        "callback_retry_schedule_s": [0.3, 1.0],
        "callback_timeout_s": 3.0,
        "faults": scenario.faults,
    }


def _pipeline_env(scenario: Scenario, env: dict[str, str], folder: Path, db_url: str,
                  erp_url: str, api_url: str, receiver_url: str) -> dict[str, str]:
    return dict(
        env,
        FLEET_HOME=str(folder), FLEET_DB_URL=db_url, FLEET_DATA_DIR=str(folder / "data"),
        FLEET_ERP_URL=erp_url, FLEET_API_BASE_URL=api_url, FLEET_API_USERNAME=USER,
        FLEET_API_PASSWORD=PASSWORD, FLEET_WEBHOOK_PUBLIC_URL=receiver_url,
        FLEET_ENDPOINT_POLICY=scenario.policy,
        FLEET_UPLOAD_MAX_JOBS=str(scenario.upload_max_jobs),
        FLEET_API_RATE_LIMIT_PER_MINUTE="6000",
        FLEET_API_READ_TIMEOUT_SECONDS=str(READ_TIMEOUT_S),
        FLEET_API_CONNECT_TIMEOUT_SECONDS="2",
        FLEET_IN_FLIGHT_TIMEOUT_SECONDS=str(IN_FLIGHT_TIMEOUT_S),
        FLEET_CALLBACK_DEADLINE_MINUTES=str(CALLBACK_DEADLINE_S / 60),
        FLEET_CONFIRMATION_SLA_MINUTES="60",
        FLEET_RETRY_BASE_SECONDS="1", FLEET_RETRY_CAP_SECONDS="2",
        FLEET_RETRY_MAX_ATTEMPTS="6",
        FLEET_SINGLE_CONCURRENCY="8", FLEET_PROBE_CONCURRENCY="8",
        # The run's lines as they come: the kill timers start from its "sending".
        PYTHONUNBUFFERED="1",
    )


def _run_until_done(scenario: Scenario, env: dict[str, str], receiver: Receiver, day: date,
                    rounds: int, folder: Path) -> tuple[list[int], int]:
    """Run the pipeline, killed as the scenario says, then again until a run is not killed.
    Returns every run's exit code and how many were killed."""
    codes: list[int] = []
    kills = list(scenario.kills)
    restart = scenario.receiver_down_at_s
    while True:
        kill = kills.pop(0) if kills else None
        code = _one_run(env, day, rounds, kill, restart, scenario.receiver_down_for_s,
                        receiver, folder / f"run-{len(codes) + 1}.log")
        restart = None  # the receiver goes down once, during the first run
        codes.append(code)
        # A run not killed (its crash point was not reached, or no kill was left) ends the day.
        if code != -signal.SIGKILL or kill is None:
            return codes, codes.count(-signal.SIGKILL)


def _one_run(env: dict[str, str], day: date, rounds: int, kill: Kill | None,
             receiver_down_at: float | None, down_for: float, receiver: Receiver,
             log_path: Path) -> int:
    run_env = dict(env)
    if kill is not None and kill.crash_at:
        run_env["FLEET_CRASH_AT"] = kill.crash_at
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.chaos.worker", "--date", day.isoformat(),
             "--rounds", str(rounds)],
            cwd=PROJECT, env=run_env, stdout=subprocess.PIPE, stderr=log, text=True)
        sending = threading.Event()
        reader = threading.Thread(target=_copy_lines, args=(process, log, sending), daemon=True)
        reader.start()
        timers: list[threading.Thread] = []
        if kill is not None and kill.after_s is not None:
            timers.append(_after_sending(sending, kill.after_s,
                                         lambda: _sigkill(process)))
        if receiver_down_at is not None:
            timers.append(_after_sending(sending, receiver_down_at,
                                         lambda: _restart(receiver, down_for)))
        try:
            code = process.wait(timeout=RUN_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _sigkill(process)
            code = process.wait()
            log.write("chaos: the run timed out\n")
            code = code if code != -signal.SIGKILL else 124
        for timer in timers:
            timer.join()
        reader.join(timeout=10)
    return code


def _copy_lines(process: subprocess.Popen, log, sending: threading.Event) -> None:
    for line in process.stdout:
        log.write(line)
        log.flush()
        if line.startswith("sending"):
            sending.set()
    sending.set()  # the run ended before sending: let the timers go


def _after_sending(sending: threading.Event, delay: float, action: Callable[[], None]
                   ) -> threading.Thread:
    def wait_then_act() -> None:
        sending.wait()
        time.sleep(delay)
        action()

    thread = threading.Thread(target=wait_then_act, daemon=True)
    thread.start()
    return thread


def _sigkill(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)


def _restart(receiver: Receiver, down_for: float) -> None:
    receiver.kill()
    time.sleep(down_for)
    receiver.start()


def _run_or_fail(scenario: Scenario, workdir: Path, ledger: str) -> Outcome:
    """The scenario's outcome; a scenario the harness could not run is a failure too."""
    started = time.monotonic()
    try:
        return run_scenario(scenario, workdir, ledger=ledger)
    except Exception as error:  # noqa: BLE001 - reported as the scenario's failure
        outcome = Outcome(scenario, [f"the scenario could not run: {error!r}"], Counter())
        outcome.seconds = time.monotonic() - started
        return outcome


def run_suite(scenarios: list[Scenario], *, ledger: str = "sqlite", keep: bool = False,
              echo: Callable[[str], None] = print, workdir: Path | None = None,
              parallel: int = 1) -> list[Outcome]:
    """Run the scenarios, `parallel` at a time (each has its own processes, ports and files),
    echoing each one's line as it ends and the total; returns the outcomes in scenario order."""
    workdir = workdir or Path(tempfile.mkdtemp(prefix="fleet-chaos-"))
    outcomes: list[Outcome] = []
    try:
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            running = [pool.submit(_run_or_fail, scenario, workdir, ledger)
                       for scenario in scenarios]
            for future in as_completed(running):
                outcome = future.result()
                outcomes.append(outcome)
                echo(outcome.line())
                for problem in outcome.problems[:SHOWN]:
                    echo(f"    {problem}")
        outcomes.sort(key=lambda outcome: outcome.scenario.index)
        failed = sum(1 for outcome in outcomes if not outcome.passed)
        echo(f"total: {len(outcomes) - failed} of {len(outcomes)} scenarios passed, "
             f"{failed} failed; {sum(o.runs for o in outcomes)} pipeline runs, "
             f"{sum(o.killed for o in outcomes)} killed; "
             f"{sum(sum(o.outcomes.values()) for o in outcomes)} deliveries; "
             f"{sum(sum(o.injected.values()) for o in outcomes)} faults injected")
    finally:
        if keep or any(not outcome.passed for outcome in outcomes):
            echo(f"scenario folders kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return outcomes
