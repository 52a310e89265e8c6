"""A big day in bulk: 100,000 jobs planned, cut into 100 uploads and sent under the rate limit.

The simulator runs in its own process with the limit of 1,000 requests a minute on; by default
it defers processing the files (`--process` lets it create the jobs as it goes, competing for
the same two cores), so the figures are the sender's. `fleet-pipeline send --date D` runs as a
real process; its output lines are timed as they come. Then the day is sent again, which must
send nothing. Figures: seconds to plan the day into the ledger, to cut and write the files, to
send them, and per upload (from one `upload i/N` line to the next: the intent, the POST and
its answer, the outcome); uploads, bytes, 429 answers seen by the simulator.

    .venv/bin/python benchmarks/send_bulk.py [--jobs 100000] [--process]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx
from send_single import (
    EXECUTABLE,
    FIRST_DAY,
    answers_429,
    sender_env,
    start_simulator,
    write_day,
)

from fleet_pipeline.ledger import migrate
from fleet_pipeline.ledger.engine import make_engine


def timed_send(env: dict[str, str]) -> list[tuple[float, str]]:
    """Run `fleet-pipeline send`; each output line with the seconds since the start."""
    started = time.monotonic()
    process = subprocess.Popen([EXECUTABLE, "send", "--date", FIRST_DAY.isoformat()], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = [(time.monotonic() - started, line.rstrip()) for line in process.stdout]
    if process.wait() != 0:
        raise RuntimeError("\n".join(line for _, line in lines))
    return [*lines, (time.monotonic() - started, "exit")]


def at(lines: list[tuple[float, str]], fragment: str) -> float:
    return next(seconds for seconds, line in lines if fragment in line)


def per_upload(lines: list[tuple[float, str]], start: float) -> list[float]:
    """Seconds each upload took, from the previous upload's line (the first from `start`)."""
    done = [seconds for seconds, line in lines if re.match(r"upload \d+/\d+ ", line)]
    return [later - earlier for earlier, later in zip([start, *done], done, strict=False)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--rate-limit", type=int, default=1000, help="requests a minute")
    parser.add_argument("--process", action="store_true",
                        help="let the simulator create the jobs while the files arrive")
    args = parser.parse_args()
    print(f"{platform.node()}: {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"{datetime.now():%Y-%m-%d %H:%M}; {args.jobs} jobs, limit {args.rate_limit}/min, "
          f"simulator {'processing' if args.process else 'deferring'} files")
    with tempfile.TemporaryDirectory(prefix="send-bulk-") as tmp:
        folder = Path(tmp)
        db_url = f"sqlite:///{folder / 'pipeline.sqlite'}"
        engine = make_engine(db_url)
        migrate.ensure_schema(engine)
        engine.dispose()
        started = time.monotonic()
        write_day(folder / "data", FIRST_DAY, args.jobs)
        print(f"valid_jobs.parquet written in {time.monotonic() - started:.1f} s")
        flags = ["--rate-limit", str(args.rate_limit)]
        if not args.process:
            flags += ["--bulk-processing-delay", "86400"]
        simulator, root, log_path = start_simulator(folder, *flags)
        try:
            env = sender_env(folder, root, db_url, FLEET_ENDPOINT_POLICY="bulk",
                             FLEET_API_RATE_LIMIT_PER_MINUTE=str(args.rate_limit))
            first = timed_send(env)
            again = timed_send(env)
            uploads = httpx.get(f"{root}/_simulator/uploads", params={"rows": "false"},
                                timeout=600).json()["uploads"]
            planned, cut = at(first, "valid jobs"), at(first, "jobs in ")
            sent = at(first, "uploads sent")
            each = per_upload(first, cut)
            files = sorted((folder / "data" / "upload_batches").rglob("*.csv"))
            print(json.dumps({
                "jobs": args.jobs,
                "plan_s": round(planned - at(first, "sending to"), 1),
                "cut_and_write_s": round(cut - planned, 1),
                "send_s": round(sent - cut, 1),
                "uploads_per_min": round(len(uploads) / (sent - cut) * 60, 1),
                "upload_s_median": round(statistics.median(each), 2),
                "upload_s_p90": round(statistics.quantiles(each, n=10)[-1], 2),
                "upload_s_max": round(max(each), 2),
                "total_s": round(first[-1][0], 1),
                "uploads_received": len(uploads),
                "upload_bytes": sum(f.stat().st_size for f in files),
                "largest_upload_bytes": max(f.stat().st_size for f in files),
                "answers_429": answers_429(log_path),
                "rerun_s": round(again[-1][0], 1),
                "rerun_last_line": again[-2][1],
            }))
            print("  " + first[-2][1])
        finally:
            simulator.terminate()
            simulator.wait(timeout=60)


if __name__ == "__main__":
    main()
