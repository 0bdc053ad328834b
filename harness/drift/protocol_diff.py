"""Diff two revisions of an event protocol kept as a folder of schemas (one file per event).

Files are matched by the event ``type`` const they declare, else by their path. A file that is
only a ``oneOf`` of ``$ref`` (``client-event.json``, ``server-event.json``) is not diffed itself:
it says which way each event it lists flows. A file of shared definitions (``common.json``) is
not diffed either: its parts are compared where events use them. Events that disappear are
checked, before being called removed, for having been *folded* into another event (their name's
last word is now an enum value there, as ``response.listen`` became ``response.output.delta``
with ``kind=listen``) or *renamed* (similar name and similar fields, as ``session.update``
became ``session.init``); a rename is reported once, followed by the field-level mapping.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path

from harness.drift.classify import Change, Kind
from harness.drift.schema_diff import (
    Direction,
    compare_schemas,
    direction_of,
    match_fields,
)
from harness.drift.schema_walk import (
    Node,
    Resolver,
    event_type,
    flatten,
    is_definitions_only,
    is_union,
)

RENAME_SCORE = 0.45
SUFFIXES = (".json", ".yaml", ".yml")
DISCRIMINATOR = "/type"


@dataclass(frozen=True, slots=True)
class Event:
    """One event (or plain document) of a protocol folder, flattened."""

    key: str
    file: Path
    direction: Direction
    nodes: dict[str, Node]

    @property
    def fields(self) -> dict[str, Node]:
        """Everything but the root and the ``type`` discriminator."""
        return {p: n for p, n in self.nodes.items() if p not in ("", DISCRIMINATOR)}


def load_folder(folder: Path) -> dict[str, Event]:
    resolver = Resolver()
    files = sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    docs = {p.resolve(): resolver.doc(p) for p in files}
    flows: dict[Path, Direction] = {}
    for path, doc in docs.items():
        for ref in is_union(doc) or ():
            target = (path.parent / ref.split("#", 1)[0]).resolve()
            flows.setdefault(target, direction_of(path.stem))
    events: dict[str, Event] = {}
    for path, doc in docs.items():
        if is_union(doc) is not None or is_definitions_only(doc):
            continue
        key = event_type(doc) or path.relative_to(folder.resolve()).with_suffix("").as_posix()
        events[key] = Event(key, path, flows.get(path) or direction_of(path.stem),
                            flatten(doc, path, resolver))
    return events


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def name_similarity(a: str, b: str) -> float:
    wa, wb = set(_words(a)), set(_words(b))
    jaccard = len(wa & wb) / len(wa | wb) if wa | wb else 0.0
    return (jaccard + SequenceMatcher(None, a, b).ratio()) / 2


def field_similarity(old: Event, new: Event) -> float:
    """Share of the old event's fields that still have a home in the new one."""
    before, after = old.fields, new.fields
    if not before:
        return 1.0 if not after else 0.5
    kept = set(before) & set(after)
    moved = match_fields({p: n for p, n in before.items() if p not in kept},
                         {p: n for p, n in after.items() if p not in kept})
    return (len(kept) + len(moved)) / len(before)


def _fold_target(gone: Event, candidates: list[Event]) -> tuple[Event, str, str] | None:
    """An event that now carries ``gone`` as a discriminator value (``kind=listen``)."""
    word = _words(gone.key)[-1] if _words(gone.key) else ""
    for new in candidates:
        if new.direction is not gone.direction or _words(new.key)[:1] != _words(gone.key)[:1]:
            continue
        for path, node in sorted(new.fields.items()):
            if word and ((node.enum and word in node.enum) or node.const == (word,)):
                return new, path, word
    return None


def _advice(direction: Direction, old: str, new: str) -> str:
    if direction is Direction.REQUEST:
        return f"send {new} instead of {old}"
    return f"handle {new} where you handled {old}"


def diff_folders(old_dir: Path, new_dir: Path) -> list[Change]:
    before, after = load_folder(old_dir), load_folder(new_dir)
    out: list[Change] = []
    for key in sorted(set(before) & set(after)):
        out += compare_schemas(before[key].nodes, after[key].nodes, after[key].direction, key)
    gone = [before[k] for k in sorted(set(before) - set(after))]
    fresh = [after[k] for k in sorted(set(after) - set(before))]
    # Folds first: a folded event would otherwise look like a rename of a similar new event.
    unfolded = []
    for old in gone:
        target = _fold_target(old, list(after.values()))
        if target is None:
            unfolded.append(old)
            continue
        new, path, word = target
        where = f"{new.key} ({path.lstrip('/')}={word})"
        out.append(Change(Kind.BREAKING, old.key, "event folded into another event; "
                          + _advice(old.direction, old.key, where), old.key, where))
        names = {n.name for n in new.fields.values()}
        out += [Change(Kind.BREAKING, f"{old.key}#{p}", f"field not carried over into {new.key}",
                       f"{old.key}#{p}", None)
                for p, n in sorted(old.fields.items()) if n.name not in names]
    scored = sorted(((0.5 * name_similarity(o.key, n.key) + 0.5 * field_similarity(o, n), o.key,
                      n.key) for o in unfolded for n in fresh if o.direction is n.direction),
                    reverse=True)
    renamed: dict[str, str] = {}
    for score, o_key, n_key in scored:
        if score >= RENAME_SCORE and o_key not in renamed and n_key not in renamed.values():
            renamed[o_key] = n_key
    for o_key, n_key in sorted(renamed.items()):
        old, new = before[o_key], after[n_key]
        out.append(Change(Kind.BREAKING, o_key, "event renamed; "
                          + _advice(new.direction, o_key, n_key), o_key, n_key))
        out += compare_schemas(old.nodes, new.nodes, new.direction, o_key, n_key,
                               skip=frozenset({DISCRIMINATOR}))
    for old in unfolded:
        if old.key not in renamed:
            out.append(Change(Kind.BREAKING, old.key, "event removed; " + (
                "the server no longer accepts it" if old.direction is Direction.REQUEST
                else "it is no longer sent"), old.key, None))
    for new in fresh:
        if new.key not in renamed.values():
            out.append(Change(Kind.ADDITIVE, new.key, "new client event; may send it"
                              if new.direction is Direction.REQUEST else
                              "new server event (warn: clients with exhaustive switches must "
                              "handle or ignore it)", None, new.key))
    return out
