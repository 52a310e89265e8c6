"""The ledger: uploads, jobs, job_events, validation_failures.

Revision ID: 0001
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# Frozen copies of the values in states.py at this revision: a later state needs a revision.
JOB_STATES = ("rejected_invalid", "queued", "in_flight", "submitted", "created", "rejected",
              "unknown", "escalated", "withdrawn")
UPLOAD_STATES = ("planned", "sending", "accepted", "refused", "unknown", "called_back", "overdue")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "uploads",
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("partition_date", sa.Date(), nullable=False),
        sa.Column("job_count", sa.Integer(), nullable=False),
        sa.Column("file_hash", sa.String(64), nullable=True),
        sa.Column("csv_bytes", sa.Integer(), nullable=True),
        sa.Column("webhook_token_hash", sa.String(64), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("accepted_at", _utc(), nullable=True),
        sa.Column("deadline_at", _utc(), nullable=True),
        sa.Column("http_status", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.Text(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(_in("state", UPLOAD_STATES), name=op.f("ck_uploads_state")),
        sa.PrimaryKeyConstraint("upload_id", name=op.f("pk_uploads")),
    )
    op.create_index(op.f("ix_uploads_partition_date_state"), "uploads",
                    ["partition_date", "state"])
    op.create_index(op.f("ix_uploads_state_deadline_at"), "uploads", ["state", "deadline_at"])

    op.create_table(
        "jobs",
        sa.Column("reference_number", sa.String(100), nullable=False),
        sa.Column("partition_date", sa.Date(), nullable=False),
        sa.Column("payload_hash", sa.String(64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("endpoint", sa.String(10), nullable=True),
        sa.Column("upload_id", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=True),
        sa.Column("deadline_at", _utc(), nullable=True),
        sa.Column("fleet_job_id", sa.BigInteger(), nullable=True),
        sa.Column("fleet_order_id", sa.String(64), nullable=True),
        sa.Column("rejection_class", sa.String(10), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("state_changed_at", _utc(), nullable=False),
        sa.CheckConstraint(_in("state", JOB_STATES), name=op.f("ck_jobs_state")),
        sa.CheckConstraint(_in("endpoint", ("bulk", "single")), name=op.f("ck_jobs_endpoint")),
        sa.CheckConstraint(_in("rejection_class", ("permanent", "transient")),
                           name=op.f("ck_jobs_rejection_class")),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.upload_id"],
                                name=op.f("fk_jobs_upload_id_uploads")),
        sa.PrimaryKeyConstraint("reference_number", name=op.f("pk_jobs")),
    )
    op.create_index(op.f("ix_jobs_partition_date_state"), "jobs", ["partition_date", "state"])
    op.create_index(op.f("ix_jobs_state_state_changed_at"), "jobs", ["state", "state_changed_at"])
    op.create_index(op.f("ix_jobs_upload_id"), "jobs", ["upload_id"])

    op.create_table(
        "job_events",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("reference_number", sa.String(100), nullable=False),
        sa.Column("event", sa.String(30), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=True),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["reference_number"], ["jobs.reference_number"],
                                name=op.f("fk_job_events_reference_number_jobs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_job_events")),
    )
    op.create_index(op.f("ix_job_events_reference_number_id"), "job_events",
                    ["reference_number", "id"])

    op.create_table(
        "validation_failures",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("partition_date", sa.Date(), nullable=False),
        sa.Column("reference_number", sa.String(100), nullable=True),
        sa.Column("record", sa.String(20), nullable=True),
        sa.Column("row_position", sa.Integer(), nullable=True),
        sa.Column("column_name", sa.String(100), nullable=True),
        sa.Column("check_name", sa.String(200), nullable=False),
        sa.Column("masked_value", sa.Text(), nullable=True),
        sa.Column("recorded_at", _utc(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_failures")),
    )
    op.create_index(op.f("ix_validation_failures_partition_date_reference_number"),
                    "validation_failures", ["partition_date", "reference_number"])


def downgrade() -> None:
    op.drop_table("validation_failures")
    op.drop_table("job_events")
    op.drop_table("jobs")
    op.drop_table("uploads")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"
