"""ARCHITECTURE.md's layering for ``harness.drift`` and ``harness.specs``, without exceptions.

Every import counts, including the ones inside functions (a lazy import only hides a cycle):
no module of either package may reach itself again through imports, and ``harness.drift``
never imports ``harness.specs`` (specs builds on drift's field diff, not the reverse).
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGES = ("harness.drift", "harness.specs")


def module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports anywhere in its body."""
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [f"{node.module}.{a.name}" for a in node.names]
            out |= {n for n in names if n in known} or ({node.module} & known)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names} & known
    return out


@cache
def graph() -> dict[str, set[str]]:
    files = {module_name(p): p for p in (ROOT / "harness").rglob("*.py")}
    return {m: imports(p, set(files)) for m, p in files.items()
            if m.startswith(PACKAGES)}


def reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


@pytest.mark.parametrize("module", sorted(graph()))
def test_no_import_cycle(module: str) -> None:
    assert module not in reachable(module, graph()), f"{module} imports itself back"


def test_drift_never_imports_specs() -> None:
    edges = graph()
    offenders = {m: sorted(t for t in targets if t.startswith("harness.specs"))
                 for m, targets in edges.items() if m.startswith("harness.drift")}
    assert {m: t for m, t in offenders.items() if t} == {}


def test_the_old_cycle_is_gone() -> None:
    # schema_diff used to import openapi_diff and protocol_diff, which imported it back
    assert not (ROOT / "harness" / "drift" / "protocol_diff.py").exists()
    assert not (ROOT / "harness" / "drift" / "openapi_diff.py").exists()
    assert "harness.specs" not in str(graph()["harness.drift.schema_diff"])
