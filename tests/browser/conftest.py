"""The browser test runs a partition of the chain exactly as tests/deploy does: it shares that
folder's support module (chain_support), put on the import path here."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "deploy"))
