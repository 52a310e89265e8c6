"""The pipeline database's tables (SQLAlchemy Core), the single source the migrations must match.

A test checks that `alembic upgrade head` produces exactly this metadata. To change a table,
change it here and add a revision under migrations/versions/ that does the same. The callback
landing tables, when they come, belong in this metadata too, with their own revision.

Times are stored in UTC: `UtcDateTime` accepts aware datetimes only and returns aware UTC ones,
whatever the database keeps (SQLite has no time zone type).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from fleet_pipeline.ledger import states

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)

REFERENCE_LENGTH = 100
UPLOAD_ID_LENGTH = 64
MAX_RESPONSE_BODY_CHARS = 4000


class UtcDateTime(sa.TypeDecorator):
    """A timestamp that is always UTC and always time-zone aware in Python."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("the pipeline database stores aware datetimes only (use UTC)")
        return value if value.tzinfo is UTC else value.astimezone(UTC)

    def bind_processor(self, dialect: sa.Dialect):
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        # SQLite keeps text: write SQLAlchemy's own DATETIME format in one step, which matters
        # when a partition inserts a million rows.
        def process(value: datetime | None) -> str | None:
            value = self.process_bind_param(value, dialect)
            if value is None:
                return None
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _one_of(column: str, values: tuple[str, ...], name: str) -> sa.CheckConstraint:
    listed = ", ".join(f"'{v}'" for v in values)
    return sa.CheckConstraint(f"{column} IN ({listed})", name=name)


# SQLite only turns INTEGER PRIMARY KEY into an auto-incrementing rowid, not BIGINT.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

uploads = sa.Table(
    "uploads",
    metadata,
    sa.Column("upload_id", sa.String(UPLOAD_ID_LENGTH), primary_key=True),
    sa.Column("partition_date", sa.Date, nullable=False),
    sa.Column("job_count", sa.Integer, nullable=False),
    sa.Column("file_hash", sa.String(64), nullable=True),
    sa.Column("csv_bytes", sa.Integer, nullable=True),
    # The webhook URL's token is a credential: only its hash is kept.
    sa.Column("webhook_token_hash", sa.String(64), nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("sent_at", UtcDateTime, nullable=True),
    sa.Column("accepted_at", UtcDateTime, nullable=True),
    sa.Column("deadline_at", UtcDateTime, nullable=True),
    sa.Column("http_status", sa.Integer, nullable=True),
    sa.Column("response_body", sa.Text, nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    _one_of("state", states.UPLOAD_STATES, "state"),
    sa.Index(None, "partition_date", "state"),
    sa.Index(None, "state", "deadline_at"),
)

jobs = sa.Table(
    "jobs",
    metadata,
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH), primary_key=True),
    sa.Column("partition_date", sa.Date, nullable=False),
    sa.Column("payload_hash", sa.String(64), nullable=True),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("endpoint", sa.String(10), nullable=True),
    sa.Column("upload_id", sa.String(UPLOAD_ID_LENGTH), sa.ForeignKey(uploads.c.upload_id),
              nullable=True),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UtcDateTime, nullable=True),
    sa.Column("deadline_at", UtcDateTime, nullable=True),
    sa.Column("fleet_job_id", sa.BigInteger, nullable=True),
    sa.Column("fleet_order_id", sa.String(64), nullable=True),
    sa.Column("rejection_class", sa.String(10), nullable=True),
    sa.Column("last_error", sa.Text, nullable=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
    sa.Column("state_changed_at", UtcDateTime, nullable=False),
    _one_of("state", states.STATES, "state"),
    _one_of("endpoint", states.ENDPOINTS, "endpoint"),
    _one_of("rejection_class", states.REJECTION_CLASSES, "rejection_class"),
    sa.Index(None, "partition_date", "state"),
    sa.Index(None, "state", "state_changed_at"),
    sa.Index(None, "upload_id"),
)

job_events = sa.Table(
    "job_events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH),
              sa.ForeignKey(jobs.c.reference_number), nullable=False),
    sa.Column("event", sa.String(30), nullable=False),
    sa.Column("from_state", sa.String(20), nullable=True),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("detail", sa.Text, nullable=True),  # JSON
    sa.Column("run_id", sa.String(64), nullable=True),
    sa.Index(None, "reference_number", "id"),
    # Partial: the reconciliation looks up the few duplicates among millions of events.
    sa.Index("ix_job_events_duplicate_found", "reference_number",
             sqlite_where=sa.text(f"event = '{states.DUPLICATE_FOUND}'"),
             postgresql_where=sa.text(f"event = '{states.DUPLICATE_FOUND}'")),
)

validation_failures = sa.Table(
    "validation_failures",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("partition_date", sa.Date, nullable=False),
    # A row that fails on its reference number has none, so no job and no foreign key.
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH), nullable=True),
    # Which input frame `row_position` counts in: "delivery" or "item" rows.
    sa.Column("record", sa.String(20), nullable=True),
    sa.Column("row_position", sa.Integer, nullable=True),
    # Not "column"/"check": both are reserved words in SQL.
    sa.Column("column_name", sa.String(100), nullable=True),
    sa.Column("check_name", sa.String(200), nullable=False),
    sa.Column("masked_value", sa.Text, nullable=True),
    sa.Column("recorded_at", UtcDateTime, nullable=False),
    sa.Index(None, "partition_date", "reference_number"),
)

# The callback landing tables share this metadata (and so the migrations' comparison).
from fleet_pipeline.ledger import callback_tables, reconcile_tables  # noqa: E402,F401
