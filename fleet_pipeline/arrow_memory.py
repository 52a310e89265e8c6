"""Which allocator Arrow's buffers come from.

pyarrow's default pool on Linux is mimalloc, which on our machines gave fresh pages back and
faulted them in again on every large buffer: reading valid_jobs.parquet's CSV rows or gathering
them ran at a few hundred MB/s, and a day of a million deliveries spent seconds there. jemalloc
(built into pyarrow's Linux and macOS wheels) keeps them, and peaked lower on the benchmark's
day. ARROW_DEFAULT_MEMORY_POOL, when set, still decides.
"""

from __future__ import annotations

import contextlib
import os

import pyarrow as pa

PREFERRED = "jemalloc"


def choose_pool(environ: dict[str, str] | None = None) -> str:
    """Make jemalloc Arrow's default pool unless the environment names one; the pool in use."""
    environ = os.environ if environ is None else environ
    if not environ.get("ARROW_DEFAULT_MEMORY_POOL"):
        # A build without jemalloc keeps its default.
        with contextlib.suppress(NotImplementedError):
            pa.set_memory_pool(pa.jemalloc_memory_pool())
    return pa.default_memory_pool().backend_name
