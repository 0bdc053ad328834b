"""The served mock's allocator setting: freed blocks of a 13 MB body are reused, not faulted in
afresh (measured in a child process each, so this test process keeps malloc's defaults)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness.mock import allocator

_CHURN = """
import resource, sys
from harness.mock.allocator import keep_large_blocks
took = keep_large_blocks() if sys.argv[1] == "set" else None
chunks = [b"x" * 65536 for _ in range(208)]  # a 13 MB body as uvicorn hands it over
b"".join(chunks)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):  # what a request does with it: join, decode, let go
    body = b"".join(chunks); text = body.decode(); del body, text
print(took, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _churn(mode: str) -> tuple[str, int]:
    out = subprocess.run([sys.executable, "-c", _CHURN, mode], capture_output=True, text=True,
                         check=True).stdout.split()
    return out[0], int(out[1])


def test_large_blocks_are_reused_instead_of_faulted_in_again() -> None:
    took, kept = _churn("set")
    if took != "True":
        pytest.skip("no glibc mallopt here: the allocator is left as it is")
    _, default = _churn("default")
    # each fresh 13 MB block is ~3,300 page faults; reused, a few hundred in all
    assert default > 20_000 and kept < default / 10, (default, kept)


def test_it_does_nothing_where_there_is_no_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    allocator._glibc.cache_clear()
    try:
        assert allocator.keep_large_blocks() is False
        allocator.release_freed_memory()  # nothing to call, and no error
    finally:
        allocator._glibc.cache_clear()  # the next caller looks again, on the real platform
