"""Created jobs get no reconciliation row of their own: `reconciliation_rows` stores every class
but `created`, and `reconciliation` becomes a view adding a row per created job from `jobs`.
Writing a row per created job was most of reconciling a day (a million rows with their
indexes, for a class that never changes once reached).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

# Frozen copies of the values in reconcile_tables.py at this revision.
STATUSES = ("created", "created_twice", "rejected_by_api", "rejected_by_validation",
            "awaiting_confirmation", "overdue", "not_sent", "unexpected")
COLUMNS = ("partition_date, reference_number, row_position, status, ledger_state, "
           "rejection_class, fleet_job_id, upload_id, attempts, planned_at, since, detail, "
           "reconciled_at")
# A job created by the time its day was last reconciled, and stored with no other class
# (a duplicate is stored as created_twice; a job created after the run keeps its stored row
# until the next run), is `created`; its row is the job's own columns, which do not change
# once it is created but for `last_error`, written by a duplicate found later: a created job's
# rejection class and error are empty, so the row's are too.
VIEW = f"""
SELECT {COLUMNS} FROM reconciliation_rows
UNION ALL
SELECT j.partition_date, j.reference_number, NULL, 'created', j.state, NULL,
       j.fleet_job_id, j.upload_id, j.attempts, j.created_at, j.state_changed_at,
       NULL, j.state_changed_at
FROM jobs j JOIN reconciliation_days d ON d.partition_date = j.partition_date
WHERE j.state = 'created' AND j.state_changed_at <= d.reconciled_at
  AND NOT EXISTS (SELECT 1 FROM reconciliation_rows r
                  WHERE r.partition_date = j.partition_date
                    AND r.reference_number = j.reference_number)
"""


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _big_id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _one_of(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _rows_table(name: str, statuses: tuple[str, ...]) -> None:
    op.create_table(
        name,
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
        sa.CheckConstraint(_one_of("status", statuses), name=op.f(f"ck_{name}_status")),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
    )
    op.create_index(op.f(f"ix_{name}_partition_date_status"), name,
                    ["partition_date", "status"])


def upgrade() -> None:
    _rows_table("reconciliation_rows", STATUSES[1:])
    op.create_index(op.f("ix_reconciliation_rows_partition_date_reference_number"),
                    "reconciliation_rows", ["partition_date", "reference_number"])
    op.execute(f"INSERT INTO reconciliation_rows ({COLUMNS}) SELECT {COLUMNS} "
               "FROM reconciliation WHERE status <> 'created'")
    op.drop_table("reconciliation")
    op.execute(f"CREATE VIEW reconciliation AS {VIEW}")


def downgrade() -> None:
    op.execute("DROP VIEW reconciliation")
    _rows_table("reconciliation", STATUSES)
    op.execute(f"INSERT INTO reconciliation ({COLUMNS}) {VIEW}")
    op.drop_table("reconciliation_rows")
