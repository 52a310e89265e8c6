"""Fixtures of the ERP tests."""

from __future__ import annotations

import pytest
from erp_seeded import SeededErp, seed_sample


@pytest.fixture
def seeded_sqlite(sqlite_url) -> SeededErp:
    """The small sample ERP in a fresh SQLite file."""
    return seed_sample(sqlite_url)
