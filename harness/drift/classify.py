"""Classify the differences between two observed shapes, from the client's point of view.

A :class:`Change` is one difference: its :class:`Kind`, where it is (a JSON pointer, prefixed
by the event or probe it belongs to), what it was and what it is now. *Breaking* means a
client written against the old shape can fail: a field removed or retyped, a field that used
to be always present now sometimes missing, an enum value gone, an event removed, renamed or
moved in the sequence. *Additive* means a client may ignore it: a new field, enum value or
event type. *Cosmetic* means only values changed (text, ids, timestamps). Latency regressions
are their own kind so a report can group them; only breaking changes fail a run.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import Enum
from typing import Any

from harness.drift.shape import BodyShape, FieldShape, Shape, StreamShape, skeleton


class Kind(str, Enum):
    """How a change affects a client; the order is the order of a report's groups."""

    BREAKING = "breaking"
    ADDITIVE = "additive"
    COSMETIC = "cosmetic"
    LATENCY = "latency"

    @property
    def rank(self) -> int:
        return {"breaking": 3, "latency": 2, "additive": 1, "cosmetic": 0}[self.value]


@dataclass(frozen=True, slots=True)
class Change:
    """One difference; ``old``/``new`` are JSON-able values or short strings."""

    kind: Kind
    pointer: str
    message: str
    old: Any = None
    new: Any = None
    provider: str = ""
    endpoint: str = ""

    @property
    def is_breaking(self) -> bool:
        return self.kind is Kind.BREAKING

    def at(self, provider: str = "", endpoint: str = "", prefix: str = "") -> Change:
        """This change placed under a provider/endpoint, its pointer under ``prefix``."""
        return replace(self, provider=provider or self.provider,
                       endpoint=endpoint or self.endpoint, pointer=f"{prefix}{self.pointer}")

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "pointer": self.pointer, "message": self.message,
                "old": self.old, "new": self.new, "provider": self.provider,
                "endpoint": self.endpoint}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Change:
        return cls(Kind(data["kind"]), data["pointer"], data["message"], data.get("old"),
                   data.get("new"), data.get("provider", ""), data.get("endpoint", ""))


def _widened(old: tuple[str, ...], new: tuple[str, ...]) -> set[str]:
    """Types in ``new`` a client of ``old`` does not expect (an integer is a number)."""
    extra = set(new) - set(old)
    if "integer" in extra and "number" in old:
        extra.discard("integer")
    return extra


def _field(old: FieldShape, new: FieldShape) -> list[Change]:
    p, out = old.pointer, []
    if extra := _widened(old.types, new.types):
        out.append(Change(Kind.BREAKING, p, f"retyped: now also {', '.join(sorted(extra))}",
                          "|".join(old.types), "|".join(new.types)))
    elif set(old.types) != set(new.types):
        out.append(Change(Kind.COSMETIC, p, "narrowed type (no client change needed)",
                          "|".join(old.types), "|".join(new.types)))
    if old.required and not new.required:
        out.append(Change(Kind.BREAKING, p, "was always present, now sometimes missing",
                          "required", "optional"))
    if old.enum and new.enum:
        if gone := sorted(set(old.enum) - set(new.enum)):
            out.append(Change(Kind.BREAKING, p, f"enum value(s) no longer sent: {', '.join(gone)}",
                              list(old.enum), list(new.enum)))
        if added := sorted(set(new.enum) - set(old.enum)):
            out.append(Change(Kind.ADDITIVE, p, f"new enum value(s): {', '.join(added)} "
                              "(clients with exhaustive switches must handle them)",
                              list(old.enum), list(new.enum)))
    if old.format and old.format != new.format:
        out.append(Change(Kind.BREAKING, p, "string format changed", old.format,
                          new.format or "(none)"))
    if not out and old.example != new.example and not (old.enum and new.enum):
        out.append(Change(Kind.COSMETIC, p, "value changed", old.example, new.example))
    return out


def _top_most(pointers: set[str]) -> list[str]:
    """Pointers whose parent is not itself in the set (report a removed subtree once)."""
    return sorted(p for p in pointers
                  if not any(p.startswith(f"{q}/") for q in pointers if q != p))


def compare_bodies(old: BodyShape, new: BodyShape) -> list[Change]:
    before, after = old.by_pointer(), new.by_pointer()
    out: list[Change] = []
    for p in _top_most(set(before) - set(after)):
        out.append(Change(Kind.BREAKING, p, "field removed", "|".join(before[p].types), None))
    for p in _top_most(set(after) - set(before)):
        what = "new field" if after[p].required else "new optional field"
        out.append(Change(Kind.ADDITIVE, p, what, None, "|".join(after[p].types)))
    for p in sorted(set(before) & set(after)):
        out.extend(_field(before[p], after[p]))
    return out


def _without(pattern_skeleton: tuple[str, ...], names: set[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for name in pattern_skeleton:
        if name not in names and (not kept or kept[-1] != name):
            kept.append(name)
    return tuple(kept)


def compare_streams(old: StreamShape, new: StreamShape) -> list[Change]:
    out: list[Change] = []
    old_types, new_types = set(old.event_types), set(new.event_types)
    gone, added = old_types - new_types, new_types - old_types
    old_skel = {skeleton(p) for p in old.patterns}
    renamed: dict[str, str] = {}
    if len(gone) == 1 and len(added) == 1:
        (a,), (b,) = tuple(gone), tuple(added)
        swapped = {tuple(a if n == b else n for n in skeleton(p)) for p in new.patterns}
        if swapped <= old_skel:
            renamed[a] = b
            out.append(Change(Kind.BREAKING, "/events", f"event {a} renamed to {b}", a, b))
    for name in sorted(gone - set(renamed)):
        out.append(Change(Kind.BREAKING, f"/events/{name}", "event no longer sent", name, None))
    for name in sorted(added - set(renamed.values())):
        out.append(Change(Kind.ADDITIVE, f"/events/{name}", "new event type "
                          "(clients with exhaustive switches must ignore it)", None, name))
    if not renamed:
        # Sequence check with the added/removed names taken out: what is left must still match.
        base = {_without(s, gone) for s in old_skel}
        for pattern in new.patterns:
            if _without(skeleton(pattern), added) not in base:
                out.append(Change(Kind.BREAKING, "/events", "event sequence changed",
                                  " | ".join(old.patterns), pattern))
    before, after = dict(old.events), dict(new.events)
    for name, shape in before.items():
        target = renamed.get(name, name)
        if target in after:
            out.extend(c.at(prefix=f"/events/{target}") for c in compare_bodies(shape, after[target]))
    return out


def compare(old: Shape, new: Shape) -> list[Change]:
    """Every difference between two shapes, breaking first; ``[]`` when nothing changed."""
    if isinstance(old, BodyShape) and isinstance(new, BodyShape):
        out = compare_bodies(old, new)
    elif isinstance(old, StreamShape) and isinstance(new, StreamShape):
        out = compare_streams(old, new)
    else:
        was, now = ("stream", "body") if isinstance(old, StreamShape) else ("body", "stream")
        out = [Change(Kind.BREAKING, "", f"response changed from a {was} to a {now}", was, now)]
    return sorted(out, key=lambda c: -c.kind.rank)
