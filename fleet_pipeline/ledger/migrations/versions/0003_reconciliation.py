"""The reconciliation: callback_applications, reconciliation, escalations.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

# Frozen copies of the values in reconcile_tables.py at this revision.
STATUSES = ("created", "created_twice", "rejected_by_api", "rejected_by_validation",
            "awaiting_confirmation", "overdue", "not_sent", "unexpected")
REASONS = ("invalid_data", "api_rejected", "retries_exhausted", "created_twice", "unconfirmed",
           "unexpected")


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "callback_applications",
        sa.Column("event_id", _big_id(), autoincrement=False, nullable=False),
        sa.Column("applied_at", _utc(), nullable=False),
        sa.Column("run_id", sa.String(64), nullable=True),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("duplicates", sa.Integer(), nullable=False),
        sa.Column("stale", sa.Integer(), nullable=False),
        sa.Column("missing", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["event_id"], ["callback_events.id"],
                                name=op.f("fk_callback_applications_event_id_callback_events")),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_callback_applications")),
    )

    op.create_table(
        "reconciliation",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("partition_date", sa.Date(), nullable=False),
        sa.Column("reference_number", sa.String(100), nullable=True),
        sa.Column("row_position", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("ledger_state", sa.String(20), nullable=True),
        sa.Column("rejection_class", sa.String(10), nullable=True),
        sa.Column("fleet_job_id", sa.BigInteger(), nullable=True),
        sa.Column("upload_id", sa.String(64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=True),
        sa.Column("planned_at", _utc(), nullable=True),
        sa.Column("since", _utc(), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("reconciled_at", _utc(), nullable=False),
        sa.CheckConstraint(_one_of("status", STATUSES), name=op.f("ck_reconciliation_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reconciliation")),
    )
    op.create_index(op.f("ix_reconciliation_partition_date_status_reference_number"),
                    "reconciliation", ["partition_date", "status", "reference_number"])

    op.create_table(
        "escalations",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("partition_date", sa.Date(), nullable=False),
        sa.Column("reference_number", sa.String(100), nullable=True),
        sa.Column("row_position", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(30), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("since", _utc(), nullable=True),
        sa.Column("opened_at", _utc(), nullable=False),
        sa.Column("last_seen_at", _utc(), nullable=False),
        sa.Column("resolved_at", _utc(), nullable=True),
        sa.CheckConstraint(_one_of("reason", REASONS), name=op.f("ck_escalations_reason")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    op.create_index(op.f("ix_escalations_partition_date_resolved_at"), "escalations",
                    ["partition_date", "resolved_at"])


def downgrade() -> None:
    op.drop_table("escalations")
    op.drop_table("reconciliation")
    op.drop_table("callback_applications")
