"""The code base keeps its own rules: ruff (style, imports, pyupgrade, bugbear) on everything
and mypy on the package, with the settings in pyproject.toml. A failure prints the tool's
report, so the fix is one read away."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("tool", [
    ["ruff", "check", "harness", "tests", "bench"],
    ["mypy"],
], ids=["ruff", "mypy"])
def test_tool_is_clean(tool: list[str]) -> None:
    proc = subprocess.run([sys.executable, "-m", *tool], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
