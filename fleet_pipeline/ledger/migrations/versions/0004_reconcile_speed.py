"""Reconciling a large day: reconciliation_days, a partial index of duplicate_found events.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DUPLICATE_FOUND = "duplicate_found"  # frozen copy of states.DUPLICATE_FOUND


def upgrade() -> None:
    op.create_table(
        "reconciliation_days",
        sa.Column("partition_date", sa.Date(), nullable=False),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("partition_date", name=op.f("pk_reconciliation_days")),
    )
    where = sa.text(f"event = '{DUPLICATE_FOUND}'")
    op.create_index("ix_job_events_duplicate_found", "job_events", ["reference_number"],
                    sqlite_where=where, postgresql_where=where)


def downgrade() -> None:
    op.drop_index("ix_job_events_duplicate_found", table_name="job_events")
    op.drop_table("reconciliation_days")
