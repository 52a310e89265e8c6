"""Arrow's buffers come from jemalloc once fleet_pipeline is imported, unless the environment
names a pool."""

from __future__ import annotations

import subprocess
import sys

import pyarrow as pa

from fleet_pipeline.arrow_memory import choose_pool


def test_importing_the_package_makes_jemalloc_the_default_pool():
    assert pa.default_memory_pool().backend_name == "jemalloc"
    assert choose_pool({}) == "jemalloc"


def test_a_pool_named_in_the_environment_is_kept():
    code = "import fleet_pipeline, pyarrow as pa; print(pa.default_memory_pool().backend_name)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={"ARROW_DEFAULT_MEMORY_POOL": "system"}).stdout
    assert out.strip() == "system"
