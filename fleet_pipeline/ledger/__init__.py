"""The pipeline's own database: every job's state and audit trail, and the uploads.

states.py (the state machine, pure), tables.py (schema), migrate.py (Alembic), engine.py,
repository.py (the state machine applied in the database; its module docstring holds the
senders' crash-safety protocol), jobstore.py (set-based reads and writes under it).
"""
