"""map_large_blocks: glibc's mmap threshold fixed once, an operator's own setting left alone."""

from __future__ import annotations

import sys

import pytest

from fleet_pipeline import memory


class _Libc:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def mallopt(self, parameter: int, value: int) -> int:
        self.calls.append((parameter, value))
        return 1


@pytest.fixture
def libc(monkeypatch):
    fake = _Libc()
    monkeypatch.setattr(memory, "_applied", None)
    monkeypatch.setattr(memory.sys, "platform", "linux")
    monkeypatch.setattr(memory.ctypes, "CDLL", lambda name: fake)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    return fake


def test_the_threshold_is_set_once_per_process(libc):
    assert memory.map_large_blocks() is True
    assert memory.map_large_blocks() is True
    assert libc.calls == [(memory.M_MMAP_THRESHOLD, 1 << 20)]


def test_an_operators_threshold_in_the_environment_wins(libc, monkeypatch):
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4194304")
    assert memory.map_large_blocks() is False
    assert libc.calls == []


def test_without_glibc_nothing_is_done(monkeypatch):
    monkeypatch.setattr(memory, "_applied", None)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)

    def no_glibc(name):
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(memory.ctypes, "CDLL", no_glibc)
    assert memory.map_large_blocks() is False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_glibc_takes_the_threshold(monkeypatch):
    monkeypatch.setattr(memory, "_applied", None)
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    assert memory.map_large_blocks() is True
