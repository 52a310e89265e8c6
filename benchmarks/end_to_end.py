"""End to end: one day of the sample ERP through every stage of the pipeline, at growing sizes.

For each size (10,000, 100,000 and 1,000,000 deliveries by default) a fresh Python process runs,
on one day of the sample ERP in SQLite, the functions the assets run:

- extract:   fleet_pipeline.erp.extract.extract_day (Parquet files written)
- read:      the extraction read back into frames (validation.partition.read_extraction)
- split:     validation.split.split (types, pandera contracts, failures)
- jobs:      valid_jobs.parquet and rejections.parquet written (validation.partition
             .write_outcome of valid_jobs_slices: slice by slice, the canonical JSON of every
             valid delivery, its sha256 and its template v1 CSV row, two slices built at a
             time on threads, each slice written away)
- plan:      uploads.planning.plan_day into a fresh SQLite ledger
- cut + CSV: ledger.jobs_to_send + uploads.planning.prepare_uploads (the CSV rows validation
             wrote read back and matched to the queued jobs, cut into files of at most 1,000
             jobs and 10 MB, recorded and written)

and prints each stage's wall and CPU time and the process's peak RSS after it (so the growth of
memory is seen stage by stage; the last one is the size's peak). "pipeline" is the sum of every
stage up to the CSV files; "without ledger" leaves out `plan` and the ledger part of `cut`.

With `--send-rows N` (default 10,000; 0 skips it), the day of N deliveries is then sent to the
Fleet API simulator in its own process with its rate limit on (1,000 requests a minute), in bulk
uploads of 1,000 jobs, with the webhook receiver (`fleet-pipeline webhooks serve`, its own
process) landing the callbacks in the ledger: `send` is uploads.run.send_day, `confirm` the wait
from the end of the send until every upload's callback has landed.

Seeding a million deliveries takes minutes: the seeded SQLite databases are kept in `--keep-dir`
(the same files as `benchmarks/erp_extract.py --keep --keep-dir`) and reused when they hold the
size asked for.

Run: .venv/bin/python benchmarks/end_to_end.py [--rows 10000,100000,1000000] [--send-rows 10000]
         [--keep-dir /tmp/bench/erp]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from erp_extract import DAY, kept_sqlite_url, pending_on_day

# The day before the deliveries, in the evening: when the daily run validates them.
NOW = datetime.combine(DAY - timedelta(days=1), datetime.min.time()) + timedelta(hours=18)
SEND_RATE_LIMIT = 1000
LEDGER_STAGES = ("plan", "queue", "cut_ledger")


class Stages:
    """Times each stage (wall and CPU) and notes the peak RSS of the process after it."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def run(self, name: str, work, *args):
        before = resource.getrusage(resource.RUSAGE_SELF)
        started = time.perf_counter()
        value = work(*args)
        seconds = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_SELF)
        self.rows.append({"stage": name, "seconds": seconds,
                          "cpu_seconds": (after.ru_utime + after.ru_stime)
                          - (before.ru_utime + before.ru_stime),
                          "peak_mib": after.ru_maxrss / 1024})
        return value


def run_pipeline(url: str, work: Path, send_rows: int) -> dict:
    """Runs inside the child process: every stage on one day; imports are not timed."""
    from fleet_pipeline.erp.extract import extract_day
    from fleet_pipeline.erp.source import connect, load_source
    from fleet_pipeline.ledger import migrate
    from fleet_pipeline.ledger import repository as ledger
    from fleet_pipeline.ledger.engine import make_engine
    from fleet_pipeline.uploads.batching import cut_uploads
    from fleet_pipeline.uploads.planning import known_rows, plan_day, prepare_uploads
    from fleet_pipeline.uploads.settings import SendSettings
    from fleet_pipeline.validation.partition import (
        read_extraction,
        valid_jobs_slices,
        write_outcome,
    )
    from fleet_pipeline.validation.settings import ValidationSettings
    from fleet_pipeline.validation.split import split

    data_dir = work / "data"
    stages = Stages()
    erp = connect(url)
    stats = stages.run("extract", lambda: extract_day(erp, load_source(), DAY, data_dir))
    erp.dispose()
    deliveries, items = stages.run("read", read_extraction, data_dir, DAY)
    result = stages.run("split", split, deliveries, items, NOW, ValidationSettings())
    del deliveries, items
    stages.run("jobs", lambda r: write_outcome(data_dir, DAY, r, valid_jobs_slices(r)), result)
    valid, rejected = len(result.valid_deliveries), len(result.rejected_references)
    del result

    ledger_url = f"sqlite:///{work / 'pipeline.sqlite'}"
    engine = make_engine(ledger_url)
    migrate.ensure_schema(engine)
    settings = SendSettings()
    stages.run("plan", lambda: plan_day(engine, data_dir, DAY))

    def queued():
        with engine.connect() as conn:
            return ledger.jobs_to_send(conn, DAY)

    jobs = stages.run("queue", queued)
    # The cut alone (validation's CSV rows read back and matched to the jobs, files cut), then
    # what prepare_uploads adds: the uploads recorded in the ledger and the files written.
    cut = stages.run("cut_csv", lambda queued: cut_uploads(DAY, queued, settings.limits,
                                                           known_rows(data_dir, DAY)), jobs)
    stages.run("cut_ledger", prepare_uploads, engine, data_dir, DAY, jobs, settings.limits)
    figures = {"deliveries": stats.deliveries, "items": stats.items, "valid": valid,
               "rejected": rejected, "uploads": len(cut.uploads),
               "csv_bytes": sum(u.csv_bytes for u in cut.uploads)}
    del jobs, cut
    if send_rows == stats.deliveries:
        figures["send"] = send_and_confirm(engine, ledger_url, url, data_dir, work, stages)
    engine.dispose()
    # cut_ledger repeats the cut: only its own part counts towards the total.
    for row in stages.rows:
        if row["stage"] == "cut_ledger":
            cut_row = next(r for r in stages.rows if r["stage"] == "cut_csv")
            row["seconds"] -= cut_row["seconds"]
            row["cpu_seconds"] -= cut_row["cpu_seconds"]
    return {**figures, "stages": stages.rows}


def send_and_confirm(engine: sa.Engine, ledger_url: str, erp_url: str, data_dir: Path,
                     work: Path, stages: Stages) -> dict:
    """Send the day in bulk to the simulator (rate limit on, the ERP's drivers on its roster)
    and wait for every callback."""
    from send_single import EXECUTABLE, PASSWORD, USERNAME, answers_429, free_port, start_simulator

    from fleet_pipeline.ledger.callback_tables import callback_events, callback_results
    from fleet_pipeline.ledger.tables import uploads
    from fleet_pipeline.uploads.connection import FleetConnection
    from fleet_pipeline.uploads.run import send_day
    from fleet_pipeline.uploads.settings import ApiSettings, SendSettings

    simulator, root, log_path = start_simulator(work, "--rate-limit", str(SEND_RATE_LIMIT),
                                                "--drivers-from-erp", erp_url)
    port = free_port()
    env = {**os.environ, "FLEET_WEBHOOK_SIGNING_KEY": PASSWORD, "FLEET_HOME": str(work)}
    receiver = subprocess.Popen(
        [EXECUTABLE, "webhooks", "serve", "--port", str(port), "--db-url", ledger_url],
        env=env, stdout=(work / "receiver.log").open("w"), stderr=subprocess.STDOUT)
    try:
        wait_for(f"http://127.0.0.1:{port}/healthz", receiver)
        api = ApiSettings(base_url=f"{root}/rest", username=USERNAME, password=PASSWORD,
                          rate_limit_per_minute=SEND_RATE_LIMIT)
        settings = SendSettings(api=api, webhook_public_url=f"http://127.0.0.1:{port}",
                                endpoint_policy="bulk")
        with FleetConnection(api, ledger_url) as connection:
            sent = stages.run("send", lambda: send_day(engine, connection, data_dir, DAY,
                                                       settings))

        def landed() -> int:
            """Uploads of the day with a callback landed by the receiver."""
            with engine.connect() as conn:
                return conn.scalar(
                    sa.select(sa.func.count(sa.distinct(callback_events.c.upload_id)))
                    .join(uploads, uploads.c.upload_id == callback_events.c.upload_id)
                    .where(uploads.c.partition_date == DAY))

        def confirm() -> None:
            deadline = time.monotonic() + 3600
            while landed() < sent.send.uploads_sent:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"only {landed()} of {sent.send.uploads_sent} callbacks")
                time.sleep(0.2)

        stages.run("confirm", confirm)
        with engine.connect() as conn:
            outcomes = dict(conn.execute(sa.select(callback_results.c.outcome, sa.func.count())
                                         .group_by(callback_results.c.outcome)).all())
        return {"uploads_sent": sent.send.uploads_sent, "jobs": sent.send.jobs_by_endpoint,
                "callback_outcomes": outcomes, "answers_429": answers_429(log_path)}
    finally:
        for process in (receiver, simulator):
            process.terminate()
            process.wait(timeout=60)


def wait_for(url: str, process: subprocess.Popen) -> None:
    import httpx

    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url, timeout=1).raise_for_status()
            return
        except httpx.HTTPError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not come up") from None
            time.sleep(0.1)


def seeded(keep_dir: Path, rows: int) -> str:
    from fleet_pipeline.erp.sample.writer import seed

    url = kept_sqlite_url(keep_dir, rows)
    if pending_on_day(url) == rows:
        print(f"[{rows:,}] reusing the kept sample ERP {url}")
    else:
        started = time.perf_counter()
        report = seed(url, days=1, per_day=rows, seed=42, start_date=DAY)
        print(f"[{rows:,}] seeded {report.pending:,} pending deliveries, "
              f"{report.rows['delivery_lines']:,} lines in {time.perf_counter() - started:.1f} s")
    return url


def report(rows: int, figures: dict) -> None:
    print(f"\n{rows:,} deliveries ({figures['items']:,} item lines): {figures['valid']:,} valid, "
          f"{figures['rejected']:,} rejected; {figures['uploads']:,} uploads, "
          f"{figures['csv_bytes'] / 2**20:.0f} MiB of CSV")
    print(f"{'stage':<12} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}")
    pipeline = [r for r in figures["stages"] if r["stage"] not in ("send", "confirm")]
    for row in figures["stages"]:
        print(f"{row['stage']:<12} {row['seconds']:>8.2f} {row['cpu_seconds']:>8.2f} "
              f"{row['peak_mib']:>13.0f}")
        if row is pipeline[-1]:
            peak = max(r["peak_mib"] for r in pipeline)
            own = [r for r in pipeline if r["stage"] not in LEDGER_STAGES]
            for label, chosen in (("pipeline", pipeline), ("no ledger", own)):
                print(f"{label:<12} {sum(r['seconds'] for r in chosen):>8.2f} "
                      f"{sum(r['cpu_seconds'] for r in chosen):>8.2f} {peak:>13.0f}")
    if "send" in figures:
        print("send: " + json.dumps(figures["send"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", default="10000,100000,1000000",
                        help="comma-separated day sizes")
    parser.add_argument("--send-rows", type=int, default=10_000,
                        help="the size also sent to the simulator (0: none)")
    parser.add_argument("--keep-dir", type=Path, default=Path("/tmp/bench/erp"),
                        help="where the seeded SQLite ERPs are kept and reused")
    parser.add_argument("--json", action="store_true", help="also print each size's figures")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_pipeline(args.child, args.work, args.send_rows)))
        return
    sizes = [int(size) for size in args.rows.split(",")]
    print(f"end_to_end benchmark on {platform.node()}: {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}, {datetime.now():%Y-%m-%d %H:%M}, load average "
          + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    urls = {rows: seeded(args.keep_dir, rows) for rows in sizes}
    for rows in sizes:
        with tempfile.TemporaryDirectory(prefix="fleet_e2e_") as tmp:
            child = subprocess.run(
                [sys.executable, __file__, "--child", urls[rows], "--work", tmp,
                 "--send-rows", str(args.send_rows)],
                capture_output=True, text=True)
            if child.returncode != 0:
                raise SystemExit(child.stdout + child.stderr)
            figures = json.loads(child.stdout.strip().splitlines()[-1])
        report(rows, figures)
        if args.json:
            print(json.dumps(figures))
        print("load average " + " ".join(f"{load:.2f}" for load in os.getloadavg()))


if __name__ == "__main__":
    main()
