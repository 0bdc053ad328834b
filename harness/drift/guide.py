"""Print classified changes as a migration guide: what a client must change, may use, can ignore.

Used by ``vlm-harness diff OLD NEW`` (:mod:`harness.specs.migration`), ``drift --docs`` and
any other list of :class:`~harness.drift.classify.Change` (a drift run
against a baseline). Each line reads ``pointer: old → new — what a client must do``; breaking
changes come first under "Must change", then "Slower" (latency), "May use" (additive) and
"Cosmetic".
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from rich.console import Console
from rich.text import Text

from harness.drift.classify import Change, Kind

GROUPS = (
    (Kind.BREAKING, "Must change (breaking)", "✗", "bold red"),
    (Kind.LATENCY, "Slower (latency regression)", "⧗", "magenta"),
    (Kind.ADDITIVE, "May use (additive)", "+", "green"),
    (Kind.COSMETIC, "Cosmetic (no action needed)", "·", "dim"),
)
# Cosmetic lines are mostly reworded descriptions: show a few, count the rest.
COSMETIC_SHOWN = 12


def show(value: Any) -> str:
    if value is None:
        return "(none)"
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def line(change: Change) -> str:
    """``pointer: old → new — message`` (the pointer alone when it *is* the old value)."""
    where = f"[{change.provider}/{change.endpoint}] " if change.provider else ""
    head = change.pointer if show(change.old) == change.pointer else (
        f"{change.pointer}: {show(change.old)}")
    return f"{where}{head} → {show(change.new)} — {change.message}"


def summary(changes: Iterable[Change]) -> dict[str, int]:
    counts = {kind.value: 0 for kind, *_ in GROUPS}
    for change in changes:
        counts[change.kind.value] += 1
    return counts


def render(changes: list[Change], console: Console, title: str,
           cosmetic_shown: int = COSMETIC_SHOWN) -> None:
    """The guide for ``changes`` on ``console``."""
    console.print(Text(title, style="bold"))
    counts = summary(changes)
    console.print(Text(", ".join(f"{n} {k}" for k, n in counts.items()), style="dim"))
    if not changes:
        console.print(Text("No changes: nothing to migrate.", style="green"))
        return
    for kind, heading, mark, style in GROUPS:
        group = [c for c in changes if c.kind is kind]
        if not group:
            continue
        console.print()
        console.print(Text(f"{heading}: {len(group)}", style=f"bold {style}"))
        limit = cosmetic_shown if kind is Kind.COSMETIC else len(group)
        for change in group[:limit]:
            console.print(Text(f"  {mark} ", style=style) + Text(line(change)))
        if len(group) > limit:
            console.print(Text(f"  … {len(group) - limit} more (use --json to list them all)",
                               style="dim"))
