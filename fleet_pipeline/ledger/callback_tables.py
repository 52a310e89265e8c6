"""The callback landing tables: every distinct signed callback body, and its entries as rows.

Registered on the ledger's `metadata` (tables.py imports this module), built by revision 0002.

`callback_events`: one row per distinct body received for an upload. The raw bytes are kept
as they came, so the signature can be checked again and nothing is lost to our parsing. A
repeated delivery of the same bytes lands nothing (UNIQUE upload_id, body_sha256). Flags:
- `duplicate_of`: the first event of the upload with the same entries in other bytes (another
  serialisation, order of entries or keys); it adds no information.
- `conflicting`: the upload already had an event with other entries; a person or the
  reconciliation must decide which one holds.
`id` only grows, and events become visible in id order (see webhooks/landing.py), so a reader
may follow them with a cursor "id > last id seen".

`callback_results`: one row per entry of every landed event, keyed by (event_id, position), the
entry's index in the array.
`unexpected`: the reference has no job whose bulk upload is this one in the ledger (unknown, or
re-sent since in a newer upload).
"""

from __future__ import annotations

import sqlalchemy as sa

from fleet_pipeline.ledger.tables import (
    REFERENCE_LENGTH,
    UPLOAD_ID_LENGTH,
    UtcDateTime,
    metadata,
    uploads,
)

OUTCOME_CREATED = "created"
OUTCOME_REJECTED = "rejected"
OUTCOMES = (OUTCOME_CREATED, OUTCOME_REJECTED)

CONTENT_TYPE_LENGTH = 200
REMOTE_ADDR_LENGTH = 64
SIGNATURE_VARIANTS = ("raw", "json_encoded")

# SQLite only turns INTEGER PRIMARY KEY into an auto-incrementing rowid, not BIGINT.
_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

callback_events = sa.Table(
    "callback_events",
    metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("upload_id", sa.String(UPLOAD_ID_LENGTH), sa.ForeignKey(uploads.c.upload_id),
              nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("body_sha256", sa.String(64), nullable=False),
    # SHA-256 of the entries in canonical form: equal for two serialisations of one content.
    sa.Column("entries_sha256", sa.String(64), nullable=False),
    sa.Column("signature", sa.String(64), nullable=False),
    sa.Column("signature_variant", sa.String(20), nullable=False),
    sa.Column("content_type", sa.String(CONTENT_TYPE_LENGTH), nullable=False),
    sa.Column("remote_addr", sa.String(REMOTE_ADDR_LENGTH), nullable=True),
    sa.Column("headers", sa.Text, nullable=False),  # JSON: the request headers that matter
    sa.Column("entry_count", sa.Integer, nullable=False),
    sa.Column("created_count", sa.Integer, nullable=False),
    sa.Column("rejected_count", sa.Integer, nullable=False),
    sa.Column("unexpected_count", sa.Integer, nullable=False),
    sa.Column("duplicate_of", _BigId, sa.ForeignKey("callback_events.id"), nullable=True),
    sa.Column("conflicting", sa.Boolean, nullable=False),
    sa.UniqueConstraint("upload_id", "body_sha256"),
    sa.CheckConstraint(
        "signature_variant IN ({})".format(", ".join(f"'{v}'" for v in SIGNATURE_VARIANTS)),
        name="signature_variant",
    ),
    # A deleted last row must not hand its id to the next event: a cursor would skip it.
    sqlite_autoincrement=True,
)

callback_results = sa.Table(
    "callback_results",
    metadata,
    # Keyed by (event, position in the array): a surrogate id would cost one more index and a
    # sequence value per row, and a 1,000-row callback is one insert of 1,000 rows.
    sa.Column("event_id", _BigId, sa.ForeignKey(callback_events.c.id), primary_key=True,
              autoincrement=False),
    # The event's upload, copied for the reconciliation's lookups. No foreign key: the event
    # has one, and checking it again per row costs PostgreSQL more than the insert itself.
    sa.Column("upload_id", sa.String(UPLOAD_ID_LENGTH), nullable=False),
    sa.Column("position", sa.Integer, primary_key=True, autoincrement=False),
    # No foreign key to jobs: an unexpected reference may name no job at all.
    sa.Column("reference_number", sa.String(REFERENCE_LENGTH), nullable=False),
    sa.Column("outcome", sa.String(10), nullable=False),
    sa.Column("fleet_job_id", sa.BigInteger, nullable=True),
    sa.Column("errors", sa.Text, nullable=True),  # JSON: {field: [message, ...]}
    sa.Column("unexpected", sa.Boolean, nullable=False),
    sa.CheckConstraint(
        "outcome IN ({})".format(", ".join(f"'{v}'" for v in OUTCOMES)), name="outcome"
    ),
    sa.CheckConstraint(
        f"(outcome = '{OUTCOME_CREATED}' AND fleet_job_id IS NOT NULL AND errors IS NULL) OR "
        f"(outcome = '{OUTCOME_REJECTED}' AND fleet_job_id IS NULL AND errors IS NOT NULL)",
        name="outcome_fields",
    ),
    sa.Index(None, "upload_id"),
    sa.Index(None, "reference_number", "event_id"),
)
