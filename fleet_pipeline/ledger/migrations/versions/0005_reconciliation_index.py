"""The reconciliation's index on (partition_date, status) only: the reference number made
every row of a day's million cost an index entry twice as dear, and no query needs it now.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index(op.f("ix_reconciliation_partition_date_status_reference_number"),
                  table_name="reconciliation")
    op.create_index(op.f("ix_reconciliation_partition_date_status"), "reconciliation",
                    ["partition_date", "status"])


def downgrade() -> None:
    op.drop_index(op.f("ix_reconciliation_partition_date_status"), table_name="reconciliation")
    op.create_index(op.f("ix_reconciliation_partition_date_status_reference_number"),
                    "reconciliation", ["partition_date", "status", "reference_number"])
