"""The reconciliation's tables: which callbacks the ledger has taken, each day's reconciliation,
and what waits for a person.

Registered on the ledger's `metadata` (tables.py imports this module), built by revisions
0003 to 0006.

`callback_applications`: one row per landed callback event the ledger has taken in (the
watermark: an event without a row here is still to apply), with what it changed.

`reconciliation` (a view over `reconciliation_rows` and `jobs`, see below): one row per job of
a partition as its last reconciliation run found it. `status` says what became of the job; the
rows of the day's ERP extraction (every status but `unexpected`) add up to the rows extracted.
Rows that failed our validation have no job, and some have no reference number:
`row_position` is their row in the day's extraction.

`escalations`: what needs a person, per partition. A row opens when a reason first appears,
stays open while the reconciliation still finds it, and is resolved (`resolved_at`) when it is
gone (the ERP row fixed, a person re-opened the job, ...). `detail` is the ledger's own text
(validation values arrive masked; API messages are kept as received): whatever leaves the
database (the CSV report, a notification, metadata) is scrubbed first (reconcile/report.py).
"""

from __future__ import annotations

import sqlalchemy as sa

from fleet_pipeline.ledger.tables import REFERENCE_LENGTH, UPLOAD_ID_LENGTH, UtcDateTime, metadata

# What became of a job, in the order a reader of the day's report wants them.
CREATED = "created"
CREATED_TWICE = "created_twice"
REJECTED_BY_API = "rejected_by_api"
REJECTED_BY_VALIDATION = "rejected_by_validation"
AWAITING_CONFIRMATION = "awaiting_confirmation"
OVERDUE = "overdue"
NOT_SENT = "not_sent"
UNEXPECTED = "unexpected"
STATUSES = (CREATED, CREATED_TWICE, REJECTED_BY_API, REJECTED_BY_VALIDATION,
            AWAITING_CONFIRMATION, OVERDUE, NOT_SENT, UNEXPECTED)
# Every status but `unexpected` is one row of the day's extraction.
EXPECTED_STATUSES = STATUSES[:-1]
# Stored in `reconciliation_rows`; `created` rows come from the jobs (the view below).
STORED_STATUSES = STATUSES[1:]

# Why a person must look.
INVALID_DATA = "invalid_data"
API_REJECTED = "api_rejected"
RETRIES_EXHAUSTED = "retries_exhausted"
DUPLICATE_JOBS = "created_twice"
UNCONFIRMED = "unconfirmed"
UNEXPECTED_JOB = "unexpected"
ESCALATION_REASONS = (INVALID_DATA, API_REJECTED, RETRIES_EXHAUSTED, DUPLICATE_JOBS, UNCONFIRMED,
                      UNEXPECTED_JOB)

STATUS_LENGTH = 30

# SQLite only turns INTEGER PRIMARY KEY into an auto-incrementing rowid, not BIGINT.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(f"{column} IN ({', '.join(repr(v) for v in values)})", name=name)


callback_applications = sa.Table(
    "callback_applications",
    metadata,
    sa.Column("event_id", _BigId, sa.ForeignKey("callback_events.id"), primary_key=True,
              autoincrement=False),
    sa.Column("applied_at", UtcDateTime, nullable=False),
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Column("created", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("duplicates", sa.Integer, nullable=False),
    # Rows the ledger did not take: the job was settled already or re-sent since.
    sa.Column("stale", sa.Integer, nullable=False),
    # Rows naming a reference the ledger does not hold.
    sa.Column("missing", sa.Integer, nullable=False),
)

# The rows of every class but `created`, one per job or extraction row of a partition,
# brought in line on every reconciliation run (rows whose values changed are replaced, the
# others left as they are, so `reconciled_at` says when a row last changed).
reconciliation_rows = sa.Table(
    "reconciliation_rows",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("partition_date", sa.Date, nullable=False),
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH), nullable=True),
    sa.Column("row_position", sa.Integer, nullable=True),
    sa.Column("status", sa.String(STATUS_LENGTH), nullable=False),
    sa.Column("ledger_state", sa.String(20), nullable=True),
    sa.Column("rejection_class", sa.String(10), nullable=True),
    sa.Column("fleet_job_id", sa.BigInteger, nullable=True),
    sa.Column("upload_id", sa.String(UPLOAD_ID_LENGTH), nullable=True),
    sa.Column("attempts", sa.Integer, nullable=True),
    sa.Column("planned_at", UtcDateTime, nullable=True),
    sa.Column("since", UtcDateTime, nullable=True),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("reconciled_at", UtcDateTime, nullable=False),
    _one_of("status", STORED_STATUSES, "status"),
    sa.Index(None, "partition_date", "status"),
    # The view's test "is this created job stored with another class?".
    sa.Index(None, "partition_date", "reference_number"),
)

# The view `reconciliation` (revision 0006): one row per job of a reconciled partition, the
# stored rows and, for every job that was `created` when the partition was last reconciled and
# has no stored row, a row made from the job itself. A created job stays created (the state
# machine has no way out of it but a duplicate, which is stored as `created_twice`), so its
# row never changes and need not be written: a day of a million jobs writes tens of thousands
# of rows, not a million. Such a row's `since` and `reconciled_at` are when the job was
# created. Declared on a metadata of its own: it is no table to create or compare.
VIEW_COLUMNS = ("partition_date", "reference_number", "row_position", "status", "ledger_state",
                "rejection_class", "fleet_job_id", "upload_id", "attempts", "planned_at",
                "since", "detail", "reconciled_at")
reconciliation = sa.Table(
    "reconciliation",
    sa.MetaData(),
    *(sa.Column(name, reconciliation_rows.c[name].type) for name in VIEW_COLUMNS),
)

# When each day was last reconciled: unchanged reconciliation rows are not rewritten, so their
# `reconciled_at` says when they last changed, and this says when they were last confirmed.
reconciliation_days = sa.Table(
    "reconciliation_days",
    metadata,
    sa.Column("partition_date", sa.Date, primary_key=True),
    sa.Column("reconciled_at", UtcDateTime, nullable=False),
)

escalations = sa.Table(
    "escalations",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("partition_date", sa.Date, nullable=False),
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH), nullable=True),
    sa.Column("row_position", sa.Integer, nullable=True),
    sa.Column("reason", sa.String(STATUS_LENGTH), nullable=False),
    sa.Column("detail", sa.Text, nullable=True),
    sa.Column("since", UtcDateTime, nullable=True),
    sa.Column("opened_at", UtcDateTime, nullable=False),
    sa.Column("last_seen_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime, nullable=True),
    _one_of("reason", ESCALATION_REASONS, "reason"),
    sa.Index(None, "partition_date", "resolved_at"),
)
