"""Fixtures for the spec tests: the published realtime bundle and ways to revise it by hand.

Fixtures are found relative to the repository (``tests/fixtures/specs``), never by a machine
path. ``published()`` is a fresh copy of the published bundle each time, so a test edits its
own revision and says in code exactly which change it makes.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "tests" / "fixtures" / "specs"
BUNDLE = FIXTURES / "realtime-protocol-schema.json"
FAL_OPENAPI = FIXTURES / "fal-mini-cpm.openapi.json"
EARLIER = ROOT / "schemas" / "minicpm-o-realtime" / "earlier"
_BASE = json.loads(BUNDLE.read_text(encoding="utf-8"))


def published() -> dict[str, Any]:
    return copy.deepcopy(_BASE)


def write(path: Path, doc: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def revision(tmp_path: Path) -> Callable[[Callable[[dict[str, Any]], None]], Path]:
    """``revision(edit)``: the published bundle with ``edit`` applied, written to a file."""
    count = iter(range(1000))

    def make(edit: Callable[[dict[str, Any]], None]) -> Path:
        doc = published()
        edit(doc)
        return write(tmp_path / f"rev{next(count)}" / BUNDLE.name, doc)

    return make
