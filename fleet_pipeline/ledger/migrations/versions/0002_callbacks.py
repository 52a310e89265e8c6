"""The callback landing tables: callback_events, callback_results.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _big_id() -> sa.types.TypeEngine:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "callback_events",
        sa.Column("id", _big_id(), autoincrement=True, nullable=False),
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("body_sha256", sa.String(64), nullable=False),
        sa.Column("entries_sha256", sa.String(64), nullable=False),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("signature_variant", sa.String(20), nullable=False),
        sa.Column("content_type", sa.String(200), nullable=False),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("entry_count", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("unexpected_count", sa.Integer(), nullable=False),
        sa.Column("duplicate_of", _big_id(), nullable=True),
        sa.Column("conflicting", sa.Boolean(), nullable=False),
        sa.CheckConstraint("signature_variant IN ('raw', 'json_encoded')",
                           name=op.f("ck_callback_events_signature_variant")),
        sa.ForeignKeyConstraint(["upload_id"], ["uploads.upload_id"],
                                name=op.f("fk_callback_events_upload_id_uploads")),
        sa.ForeignKeyConstraint(["duplicate_of"], ["callback_events.id"],
                                name=op.f("fk_callback_events_duplicate_of_callback_events")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_callback_events")),
        sa.UniqueConstraint("upload_id", "body_sha256",
                            name=op.f("uq_callback_events_upload_id_body_sha256")),
        sqlite_autoincrement=True,
    )

    op.create_table(
        "callback_results",
        sa.Column("event_id", _big_id(), autoincrement=False, nullable=False),
        sa.Column("upload_id", sa.String(64), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("reference_number", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(10), nullable=False),
        sa.Column("fleet_job_id", sa.BigInteger(), nullable=True),
        sa.Column("errors", sa.Text(), nullable=True),
        sa.Column("unexpected", sa.Boolean(), nullable=False),
        sa.CheckConstraint("outcome IN ('created', 'rejected')",
                           name=op.f("ck_callback_results_outcome")),
        sa.CheckConstraint(
            "(outcome = 'created' AND fleet_job_id IS NOT NULL AND errors IS NULL) OR "
            "(outcome = 'rejected' AND fleet_job_id IS NULL AND errors IS NOT NULL)",
            name=op.f("ck_callback_results_outcome_fields"),
        ),
        sa.ForeignKeyConstraint(["event_id"], ["callback_events.id"],
                                name=op.f("fk_callback_results_event_id_callback_events")),
        sa.PrimaryKeyConstraint("event_id", "position", name=op.f("pk_callback_results")),
    )
    op.create_index(op.f("ix_callback_results_upload_id"), "callback_results", ["upload_id"])
    op.create_index(op.f("ix_callback_results_reference_number_event_id"), "callback_results",
                    ["reference_number", "event_id"])


def downgrade() -> None:
    op.drop_table("callback_results")
    op.drop_table("callback_events")
