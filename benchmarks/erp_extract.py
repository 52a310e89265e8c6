"""Benchmark: extraction of one day of 1,000,000 deliveries vs a raw DBAPI fetchall and pandas.

Seeds the sample ERP with `--rows` pending deliveries on one day (SQLite in a temporary folder,
and PostgreSQL in a throw-away database created and dropped by this script), then runs each
method in a fresh Python process, so each one's peak memory (RSS) is its own:

- extract:   fleet_pipeline.erp.extract.extract_day (streamed, Parquet files written)
- fetchall:  raw DBAPI cursor.execute + fetchall() of the same two queries (nothing written)
- read_sql:  pandas.read_sql of the same two queries (nothing written)

Like is compared with like: the extraction runs the deliveries AND the items query, so every
method runs both and is timed over both (the output lists the rows of each). fetchall is the
driver as it comes: a client-side cursor, the whole result in memory, the driver's default types
(on PostgreSQL a Decimal per NUMERIC value, where the extraction asks for the exact text).

Each method runs `--repeat` times (taking turns); the fastest run is reported, with its wall and
CPU time (user + system of the child process) and the highest peak RSS of all runs.

Seeding a million deliveries takes minutes; with `--keep` the seeded databases are kept (SQLite
under `--keep-dir`, PostgreSQL as database fleet_bench_erp_<rows>) and a later `--keep` run with
the same `--rows` reuses them. `--drop-kept` removes them.

Run: .venv/bin/python benchmarks/erp_extract.py [--rows 1000000] [--databases sqlite,postgres]
         [--methods extract,fetchall,read_sql] [--repeat 2] [--keep | --drop-kept]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import sqlalchemy as sa

DAY = date(2026, 12, 4)
METHODS = ("extract", "fetchall", "read_sql")
PG_ADMIN_URL = os.environ.get("FLEET_TEST_PG_URL",
                              "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres")


def run_method(method: str, url: str, out_dir: Path, chunk_rows: int) -> dict:
    """Runs inside the child process: one method over both queries, timed (imports are not)."""
    import pandas as pd

    from fleet_pipeline.erp.extract import extract_day
    from fleet_pipeline.erp.source import connect, load_source, window

    engine = connect(url)
    source = load_source()
    params = window(DAY)
    before = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = before.ru_utime + before.ru_stime
    started = time.perf_counter()
    if method == "extract":
        stats = extract_day(engine, source, DAY, out_dir, chunk_rows=chunk_rows)
        rows = {"deliveries": stats.deliveries, "items": stats.items}
    elif method == "fetchall":
        rows = {}
        raw = engine.raw_connection()
        try:
            for query in source.queries():
                sql = str(query.statement().bindparams(**params).compile(
                    dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
                cursor = raw.cursor()
                cursor.execute(sql)
                rows[query.name] = len(cursor.fetchall())
                cursor.close()
        finally:
            raw.close()
    elif method == "read_sql":
        rows = {}
        with engine.connect() as conn:
            for query in source.queries():
                rows[query.name] = len(pd.read_sql(query.statement(), conn, params=params))
    else:
        raise SystemExit(f"unknown method {method}")
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_before
    return {"method": method, "seconds": seconds, "cpu_seconds": cpu,
            "peak_mib": usage.ru_maxrss / 1024, **rows}


def measure(method: str, url: str, out_dir: Path, chunk_rows: int) -> dict:
    child = subprocess.run(
        [sys.executable, __file__, "--child", method, "--url", url, "--out", str(out_dir),
         "--chunk-rows", str(chunk_rows)],
        check=True, capture_output=True, text=True)
    return json.loads(child.stdout.strip().splitlines()[-1])


def best_of(runs: list[dict]) -> dict:
    """The fastest run's figures, with the highest peak memory of all runs."""
    best = min(runs, key=lambda r: r["seconds"])
    return {**best, "cpu_seconds": min(r["cpu_seconds"] for r in runs),
            "peak_mib": max(r["peak_mib"] for r in runs)}


def pending_on_day(url: str) -> int | None:
    """Pending deliveries of DAY in a kept database, or None when it holds no sample ERP."""
    from fleet_pipeline.erp.sample.schema import delivery_notes as notes

    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).where(
                notes.c.status == "pending", notes.c.ship_date == DAY)).scalar_one()
    except sa.exc.DBAPIError:
        return None
    finally:
        engine.dispose()


def bench_database(label: str, url: str, rows: int, out_dir: Path, chunk_rows: int,
                   repeat: int, methods: list[str], reuse: bool) -> None:
    from fleet_pipeline.erp.sample.writer import seed

    if reuse and pending_on_day(url) == rows:
        print(f"\n[{label}] reusing the kept sample ERP with {rows:,} pending deliveries")
    else:
        started = time.perf_counter()
        report = seed(url, days=1, per_day=rows, seed=42, start_date=DAY)
        print(f"\n[{label}] seeded {report.pending:,} pending deliveries, "
              f"{report.rows['delivery_lines']:,} lines in {time.perf_counter() - started:.1f} s")
    # Methods take turns, so a burst of load on the machine does not favour one of them.
    runs: dict[str, list[dict]] = {m: [] for m in methods}
    for _ in range(repeat):
        for method in methods:
            runs[method].append(measure(method, url, out_dir / label / method, chunk_rows))
    results = {m: best_of(r) for m, r in runs.items()}
    base = results.get("fetchall", results[methods[0]])
    print(f"both queries; best of {repeat}; ratios to {base['method']}")
    ratio = "x " + base["method"]
    print(f"{'method':<10} {'deliveries':>11} {'items':>10} {'wall s':>7} {ratio:>10} "
          f"{'CPU s':>6} {ratio:>10} {'peak RSS MiB':>13}")
    for r in results.values():
        print(f"{r['method']:<10} {r['deliveries']:>11,} {r['items']:>10,} {r['seconds']:>7.2f} "
              f"{r['seconds'] / base['seconds']:>10.2f} {r['cpu_seconds']:>6.2f} "
              f"{r['cpu_seconds'] / base['cpu_seconds']:>10.2f} {r['peak_mib']:>13.0f}")
        if len(runs[r["method"]]) > 1:
            print(f"{'':<10} every run: wall " + ", ".join(
                f"{run['seconds']:.2f}" for run in runs[r["method"]]) + "; CPU " + ", ".join(
                f"{run['cpu_seconds']:.2f}" for run in runs[r["method"]]))


def kept_sqlite_url(keep_dir: Path, rows: int) -> str:
    keep_dir.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{keep_dir / f'erp-{rows}.sqlite'}"


@contextmanager
def postgres_database(name: str, keep: bool) -> Iterator[str]:
    """URL of database `name` on the PostgreSQL server, created if absent, dropped unless kept."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            exists = conn.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                  {"name": name}).first()
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin.url.set(database=name).render_as_string(hide_password=False)
        finally:
            if not keep:
                drop_postgres_database(admin, name)
    finally:
        admin.dispose()


def drop_postgres_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="pending deliveries")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help="the first is the base of the ratios unless fetchall is among them")
    parser.add_argument("--chunk-rows", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs per method; the fastest counts")
    parser.add_argument("--keep", action="store_true",
                        help="keep the seeded databases and reuse them on the next --keep run")
    parser.add_argument("--keep-dir", type=Path,
                        default=Path(tempfile.gettempdir()) / "fleet_bench_erp",
                        help="where --keep keeps the SQLite database")
    parser.add_argument("--drop-kept", action="store_true",
                        help="delete the databases --keep kept for --rows, then exit")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_method(args.child, args.url, Path(args.out), args.chunk_rows)))
        return
    kept_pg = f"fleet_bench_erp_{args.rows}"
    if args.drop_kept:
        (args.keep_dir / f"erp-{args.rows}.sqlite").unlink(missing_ok=True)
        admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        drop_postgres_database(admin, kept_pg)
        admin.dispose()
        return
    methods = args.methods.split(",")
    if unknown := set(methods) - set(METHODS):
        raise SystemExit(f"unknown method(s) {', '.join(sorted(unknown))}")

    print(f"erp_extract benchmark: {args.rows:,} deliveries on {DAY}, chunk {args.chunk_rows:,} "
          f"rows, {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory(prefix="fleet_bench_") as tmp:
        tmp_path = Path(tmp)
        for label in args.databases.split(","):
            if label == "sqlite":
                url = (kept_sqlite_url(args.keep_dir, args.rows) if args.keep
                       else f"sqlite:///{tmp_path / 'erp.sqlite'}")
                bench_database(label, url, args.rows, tmp_path, args.chunk_rows, args.repeat,
                               methods, args.keep)
            elif label == "postgres":
                name = kept_pg if args.keep else f"fleet_bench_{uuid.uuid4().hex[:10]}"
                with postgres_database(name, args.keep) as url:
                    bench_database(label, url, args.rows, tmp_path, args.chunk_rows,
                                   args.repeat, methods, args.keep)
            else:
                raise SystemExit(f"unknown database {label}; use sqlite and/or postgres")


if __name__ == "__main__":
    main()
