"""Where partition files live: one folder per asset and scheduled date under the data dir.

Assets own their writes: each one writes its partition's files here itself (no IO manager), so a
single-run backfill of many days writes each day in its own folder, and re-running a day replaces
just that day. Writes go to a temporary file first and are renamed into place, so a killed run
never leaves half a file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path


def partition_dir(data_dir: Path, asset: str, day: date | str) -> Path:
    return Path(data_dir) / asset / f"date={day if isinstance(day, str) else day.isoformat()}"


def atomic_write(target: Path, write: Callable[[Path], None]) -> Path:
    """Call `write(tmp_path)` then move the result onto `target` in one rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return target
