"""The simulator's memory in SQLite: jobs, uploads with their rows, callbacks and attempts, so
that a restarted simulator still knows every job it created and finishes pending callbacks.

One connection guarded by a re-entrant lock: requests and the callback worker share it, and
a `transaction()` makes multi-step changes (an upload's jobs, rows and callback) all-or-nothing.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fleet_pipeline.simulator.bulk import UploadRow
from fleet_pipeline.simulator.jobs import JobQuery
from fleet_pipeline.simulator.rules import Errors

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id INTEGER PRIMARY KEY,
    account TEXT NOT NULL,
    reference_number TEXT,
    order_id TEXT NOT NULL,
    job_status_id INTEGER,
    schedule_type_id INTEGER,
    driver_id TEXT,
    create_ts TEXT NOT NULL,
    scheduled_delivery_ts TEXT,
    upload_id INTEGER,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_reference ON jobs (account, reference_number);
CREATE TABLE IF NOT EXISTS uploads (
    upload_id INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT NOT NULL,
    filename TEXT NOT NULL,
    webhook_url TEXT,
    template_version TEXT,
    received_at REAL NOT NULL,
    process_after REAL NOT NULL,
    processed_at REAL
);
CREATE TABLE IF NOT EXISTS upload_rows (
    upload_id INTEGER NOT NULL,
    row_number INTEGER NOT NULL,
    reference_number TEXT,
    payload TEXT NOT NULL,
    parse_errors TEXT NOT NULL,
    job_id INTEGER,
    errors TEXT,
    PRIMARY KEY (upload_id, row_number)
);
CREATE TABLE IF NOT EXISTS callbacks (
    callback_id INTEGER PRIMARY KEY AUTOINCREMENT,
    upload_id INTEGER NOT NULL,
    account TEXT NOT NULL,
    url TEXT NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL,
    duplicate_of INTEGER,
    held INTEGER NOT NULL,
    released INTEGER NOT NULL DEFAULT 0,
    shuffled INTEGER NOT NULL,
    bad_signature INTEGER NOT NULL,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS callback_attempts (
    callback_id INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    at REAL NOT NULL,
    status_code INTEGER,
    error TEXT,
    PRIMARY KEY (callback_id, attempt)
);
"""

PENDING, DELIVERED, GIVEN_UP, DROPPED = "pending", "delivered", "given_up", "dropped"

_FILTER_COLUMNS = {
    "reference_number": "reference_number = ?",
    "order_id": "order_id = ?",
    "driver_id": "lower(driver_id) = lower(?)",
    "job_id": "job_id = ?",
    "job_status_id": "job_status_id = ?",
    "schedule_type_id": "schedule_type_id = ?",
    "item_tracking_number": (
        "EXISTS (SELECT 1 FROM json_each(body, '$.items') "
        "WHERE json_extract(value, '$.tracking_number') = ?)"
    ),
}


@dataclass(frozen=True)
class Callback:
    callback_id: int
    upload_id: int
    account: str
    url: str
    body: bytes
    status: str
    duplicate_of: int | None
    held: bool  # held back and not released yet
    bad_signature: bool
    created_at: float
    next_attempt_at: float
    attempts: int


class SimulatorStore:
    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = sqlite3.connect(
            ":memory:" if path is None else str(path),
            check_same_thread=False,
            isolation_level=None,
        )
        self._conn.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        self._depth = 0
        with self._lock:
            if path is not None:
                self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._conn.execute("COMMIT")

    def _all(self, sql: str, params: tuple | list = ()) -> list[sqlite3.Row]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _run(self, sql: str, params: tuple | list = ()) -> int:
        with self._lock:
            return self._conn.execute(sql, params).lastrowid or 0

    # --- jobs -----------------------------------------------------------------------------------

    def next_job_id(self, first: int) -> int:
        (row,) = self._all("SELECT MAX(job_id) FROM jobs")
        return max(first, (row[0] or 0) + 1)

    def add_job(self, account: str, job: dict[str, Any], upload_id: int | None) -> None:
        self._run(
            "INSERT INTO jobs (job_id, account, reference_number, order_id, job_status_id,"
            " schedule_type_id, driver_id, create_ts, scheduled_delivery_ts, upload_id, body)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                job["job_id"],
                account,
                job.get("reference_number"),
                job["order_id"],
                job["job_status_id"],
                job.get("schedule_type_id"),
                job.get("delivery_driver_id"),
                job["create_ts"],
                job.get("scheduled_delivery_ts"),
                upload_id,
                json.dumps(job),
            ),
        )

    def reference_taken(self, account: str, reference_number: str) -> bool:
        return bool(
            self._all(
                "SELECT 1 FROM jobs WHERE account = ? AND reference_number = ? LIMIT 1",
                (account, reference_number),
            )
        )

    def job(self, account: str, job_id: int) -> dict[str, Any] | None:
        rows = self._all(
            "SELECT body FROM jobs WHERE account = ? AND job_id = ?", (account, job_id)
        )
        return json.loads(rows[0]["body"]) if rows else None

    def find_jobs(self, account: str, query: JobQuery) -> tuple[list[dict[str, Any]], int]:
        where, params = ["account = ?"], [account]
        for name, value in query.exact.items():
            where.append(_FILTER_COLUMNS[name])
            params.append(value)
        for column, (low, high) in query.ranges.items():
            if low is not None:
                where.append(f"{column} >= ?")
                params.append(low)
            if high is not None:
                where.append(f"{column} <= ?")
                params.append(high)
        condition = " AND ".join(where)
        with self._lock:
            (total,) = self._conn.execute(
                f"SELECT COUNT(*) FROM jobs WHERE {condition}", params
            ).fetchone()
            rows = self._conn.execute(
                f"SELECT body FROM jobs WHERE {condition} ORDER BY job_id LIMIT ? OFFSET ?",
                [*params, query.per_page, query.offset],
            ).fetchall()
        return [json.loads(row["body"]) for row in rows], total

    # --- uploads --------------------------------------------------------------------------------

    def add_upload(
        self,
        *,
        account: str,
        filename: str,
        webhook_url: str | None,
        template_version: str | None,
        received_at: float,
        process_after: float,
        rows: list[UploadRow],
    ) -> int:
        with self.transaction():
            upload_id = self._run(
                "INSERT INTO uploads (account, filename, webhook_url, template_version,"
                " received_at, process_after) VALUES (?, ?, ?, ?, ?, ?)",
                (account, filename, webhook_url, template_version, received_at, process_after),
            )
            with self._lock:
                self._conn.executemany(
                    "INSERT INTO upload_rows (upload_id, row_number, reference_number, payload,"
                    " parse_errors) VALUES (?, ?, ?, ?, ?)",
                    [
                        (
                            upload_id,
                            row.row_number,
                            row.reference_number,
                            json.dumps(row.payload),
                            json.dumps(row.parse_errors),
                        )
                        for row in rows
                    ],
                )
        return upload_id

    def unprocessed_uploads(self) -> list[sqlite3.Row]:
        return self._all(
            "SELECT upload_id, account, webhook_url, process_after FROM uploads"
            " WHERE processed_at IS NULL ORDER BY upload_id"
        )

    def upload_rows(self, upload_id: int) -> list[UploadRow]:
        return [
            UploadRow(
                row["row_number"],
                row["reference_number"],
                json.loads(row["payload"]),
                json.loads(row["parse_errors"]),
            )
            for row in self._all(
                "SELECT * FROM upload_rows WHERE upload_id = ? ORDER BY row_number", (upload_id,)
            )
        ]

    def record_row_outcome(
        self, upload_id: int, row_number: int, job_id: int | None, errors: Errors
    ) -> None:
        self._run(
            "UPDATE upload_rows SET job_id = ?, errors = ? WHERE upload_id = ? AND row_number = ?",
            (job_id, json.dumps(errors) if errors else None, upload_id, row_number),
        )

    def mark_processed(self, upload_id: int, at: float) -> None:
        self._run("UPDATE uploads SET processed_at = ? WHERE upload_id = ?", (at, upload_id))

    # --- callbacks ------------------------------------------------------------------------------

    def add_callback(
        self,
        *,
        upload_id: int,
        account: str,
        url: str,
        body: bytes,
        status: str,
        created_at: float,
        next_attempt_at: float,
        held: bool = False,
        shuffled: bool = False,
        bad_signature: bool = False,
        duplicate_of: int | None = None,
    ) -> int:
        return self._run(
            "INSERT INTO callbacks (upload_id, account, url, body, status, duplicate_of, held,"
            " shuffled, bad_signature, created_at, next_attempt_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                upload_id,
                account,
                url,
                body,
                status,
                duplicate_of,
                held,
                shuffled,
                bad_signature,
                created_at,
                next_attempt_at,
            ),
        )

    def pending_callbacks(self) -> list[Callback]:
        rows = self._all(
            "SELECT c.*, (SELECT COUNT(*) FROM callback_attempts a"
            " WHERE a.callback_id = c.callback_id) AS attempts"
            " FROM callbacks c WHERE status = ? ORDER BY next_attempt_at, callback_id",
            (PENDING,),
        )
        return [
            Callback(
                callback_id=row["callback_id"],
                upload_id=row["upload_id"],
                account=row["account"],
                url=row["url"],
                body=bytes(row["body"]),
                status=row["status"],
                duplicate_of=row["duplicate_of"],
                held=bool(row["held"]) and not row["released"],
                bad_signature=bool(row["bad_signature"]),
                created_at=row["created_at"],
                next_attempt_at=row["next_attempt_at"],
                attempts=row["attempts"],
            )
            for row in rows
        ]

    def settled_after(self, callback_id: int, upload_id: int) -> bool:
        """Whether a callback of another upload, made later than this one, has been settled."""
        return bool(
            self._all(
                "SELECT 1 FROM callbacks WHERE callback_id > ? AND upload_id != ?"
                " AND status != ? LIMIT 1",
                (callback_id, upload_id, PENDING),
            )
        )

    def record_attempt(
        self, callback_id: int, attempt: int, at: float, status_code: int | None, error: str | None
    ) -> None:
        self._run(
            "INSERT OR REPLACE INTO callback_attempts"
            " (callback_id, attempt, at, status_code, error) VALUES (?, ?, ?, ?, ?)",
            (callback_id, attempt, at, status_code, error),
        )

    def update_callback(
        self,
        callback_id: int,
        *,
        status: str | None = None,
        next_attempt_at: float | None = None,
        released: bool | None = None,
    ) -> None:
        changes = {"status": status, "next_attempt_at": next_attempt_at, "released": released}
        sets = {column: value for column, value in changes.items() if value is not None}
        assignments = ", ".join(f"{column} = ?" for column in sets)
        self._run(
            f"UPDATE callbacks SET {assignments} WHERE callback_id = ?",
            [*sets.values(), callback_id],
        )

    def unsettled(self) -> dict[str, int]:
        with self._lock:
            (uploads,) = self._conn.execute(
                "SELECT COUNT(*) FROM uploads WHERE processed_at IS NULL"
            ).fetchone()
            (callbacks,) = self._conn.execute(
                "SELECT COUNT(*) FROM callbacks WHERE status = ?", (PENDING,)
            ).fetchone()
        return {"uploads": uploads, "callbacks": callbacks}

    # --- inspection -----------------------------------------------------------------------------

    def jobs_by_reference(self) -> list[sqlite3.Row]:
        return self._all(
            "SELECT account, reference_number, job_id, upload_id FROM jobs"
            " ORDER BY account, reference_number, job_id"
        )

    def uploads(self) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM uploads ORDER BY upload_id")

    def all_upload_rows(self) -> list[sqlite3.Row]:
        return self._all(
            "SELECT upload_id, row_number, reference_number, job_id, parse_errors, errors"
            " FROM upload_rows ORDER BY upload_id, row_number"
        )

    def all_callbacks(self) -> list[sqlite3.Row]:
        return self._all(
            "SELECT callback_id, upload_id, url, status, duplicate_of, held, released, shuffled,"
            " bad_signature, created_at, next_attempt_at FROM callbacks ORDER BY callback_id"
        )

    def all_attempts(self) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM callback_attempts ORDER BY callback_id, attempt")
