"""Diff any two specs (folders, bundles, OpenAPI documents, schema files) for a client.

Messages are matched by name. One that disappears is checked, before being called removed, for
having been *folded* into another (its name's last word is now an enum value there, as
``response.listen`` became ``response.output.delta`` with ``kind=listen``) or *renamed*
(similar name and similar fields, as ``session.update`` became ``session.init``); a rename is
reported once, then its field mapping. Fields are compared with the direction-aware rules of
:mod:`~harness.drift.schema_diff` at ``message#/pointer``; operations compare parameters,
request body and each response status (a success status replaced by another is one change).
Facts stated only in prose (:mod:`~harness.specs.facts`) are compared by kind, and a changed
document description is shown as a word-level diff. ``old`` is always the older side.
"""

from __future__ import annotations

import re
from dataclasses import replace
from difflib import SequenceMatcher

from harness.drift.classify import Change, Kind
from harness.drift.schema_diff import WARN, Direction, compare_nodes, compare_schemas, match_fields
from harness.drift.schema_walk import Node
from harness.specs.model import Message

B, A, C = Kind.BREAKING, Kind.ADDITIVE, Kind.COSMETIC
RENAME_SCORE = 0.45
DISCRIMINATOR = "/type"


def fields(message: Message) -> dict[str, Node]:
    """Everything but the root and the ``type`` discriminator."""
    return {p: n for p, n in message.nodes.items() if p not in ("", DISCRIMINATOR)}


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]


def name_similarity(a: str, b: str) -> float:
    wa, wb = set(_words(a)), set(_words(b))
    jaccard = len(wa & wb) / len(wa | wb) if wa | wb else 0.0
    return (jaccard + SequenceMatcher(None, a, b).ratio()) / 2


def field_similarity(old: Message, new: Message) -> float:
    """Share of the old message's fields that still have a home in the new one."""
    before, after = fields(old), fields(new)
    if not before:
        return 1.0 if not after else 0.5
    kept = set(before) & set(after)
    moved = match_fields({p: n for p, n in before.items() if p not in kept},
                         {p: n for p, n in after.items() if p not in kept})
    return (len(kept) + len(moved)) / len(before)


def _fold_target(gone: Message, candidates: list[Message]) -> tuple[Message, str, str] | None:
    """A message that now carries ``gone`` as a discriminator value (``kind=listen``)."""
    word = _words(gone.key)[-1] if _words(gone.key) else ""
    for new in candidates:
        if new.direction is not gone.direction or _words(new.key)[:1] != _words(gone.key)[:1]:
            continue
        for path, node in sorted(fields(new).items()):
            if word and ((node.enum and word in node.enum) or node.const == (word,)):
                return new, path, word
    return None


def _advice(direction: Direction, old: str, new: str) -> str:
    if direction is Direction.REQUEST:
        return f"send {new} instead of {old}"
    return f"handle {new} where you handled {old}"


def closed_note(changes: list[Change], old: dict[str, Node], direction: Direction) -> list[Change]:
    """A new field in a closed object a client receives breaks a client that validates it."""
    if direction is Direction.REQUEST:
        return changes
    out = []
    for c in changes:
        path = c.pointer.split("#", 1)[1] if "#" in c.pointer else ""
        parent = old.get(path.rsplit("/", 1)[0]) if path else None
        if c.kind is A and c.old is None and parent is not None and parent.closed:
            c = replace(c, kind=B, message=f"{c.message}; breaks a client that validates "
                        "against the old schema (additionalProperties: false)")
        out.append(c)
    return out


def compare_messages(old: Message, new: Message, label_old: str, label_new: str,
                     skip: frozenset[str] = frozenset(), renamed: bool = False) -> list[Change]:
    """Fields (and, for operations, parameters and responses) of one message on both sides;
    a renamed message needs new handling anyway, so its new fields are not called breaking."""
    operation = old.is_operation or new.is_operation
    if operation:  # an operation's nodes are its request body
        label_old, label_new = f"{label_old} request", f"{label_new} request"
    out = compare_schemas(old.nodes, new.nodes, new.direction, label_old, label_new, skip=skip)
    out = out if renamed else closed_note(out, old.nodes, new.direction)
    return out + _operation(old, new) if operation else out


def _param(key: str, path: str) -> str:
    """``POST /x query:stream`` for the parameter node ``/parameters/query/stream``."""
    _, _, where, name = path.split("/", 3)
    return f"{key} {where}:{name}"


def _operation(old: Message, new: Message) -> list[Change]:
    key, out = new.key, []
    for path in sorted(set(old.params) - set(new.params)):
        out.append(Change(B, _param(key, path), "parameter removed; stop sending it",
                          old.params[path].name, None))
    for path, now in sorted(new.params.items()):
        was = old.params.get(path)
        if was is None:
            out.append(Change(B, _param(key, path), "new required parameter; send it", None,
                              now.name) if now.required else
                       Change(A, _param(key, path), "new optional parameter", None, now.name))
        else:
            out += compare_nodes(was, now, Direction.REQUEST, _param(key, path))
    gone = sorted(set(old.responses) - set(new.responses))
    fresh = sorted(set(new.responses) - set(old.responses))
    ok_gone = [s for s in gone if s.startswith("2")]
    ok_new = [s for s in fresh if s.startswith("2")]
    if len(ok_gone) == 1 and len(ok_new) == 1:  # one success status became another: one change
        before, after = ok_gone[0], ok_new[0]
        out.append(Change(B, f"{key} {before}", f"success status changed {before} → {after}; "
                          f"accept {after} where you expected {before}", before, after))
        out += _bodies(old.responses[before], new.responses[after], f"{key} {after}")
        gone.remove(before)
        fresh.remove(after)
    for status in gone:
        out.append(Change(B if status.startswith("2") else C, f"{key} {status}",
                          "response no longer documented", status, None))
    for status in fresh:
        out.append(Change(A, f"{key} {status}", f"new response status{WARN}", None, status))
    for status in sorted(set(old.responses) & set(new.responses)):
        out += _bodies(old.responses[status], new.responses[status], f"{key} {status}")
    return out


def _bodies(old: dict[str, Node] | None, new: dict[str, Node] | None, label: str) -> list[Change]:
    if old is None and new is None:
        return []
    if old is None or new is None:
        return [Change(B if old else A, label, "response body no longer documented" if old
                       else "response body now documented", "json" if old else None,
                       "json" if new else None)]
    return closed_note(compare_schemas(old, new, Direction.RESPONSE, label), old,
                       Direction.RESPONSE)


def compare_all(before: dict[str, Message], after: dict[str, Message]) -> list[Change]:
    out: list[Change] = []
    for key in sorted(set(before) & set(after)):
        out += compare_messages(before[key], after[key], key, key)
    gone = [before[k] for k in sorted(set(before) - set(after))]
    fresh = [after[k] for k in sorted(set(after) - set(before))]
    # Folds first: a folded message would otherwise look like a rename of a similar new one.
    unfolded = []
    for old in gone:
        target = _fold_target(old, list(after.values()))
        if target is None:
            unfolded.append(old)
            continue
        new, path, word = target
        where = f"{new.key} ({path.lstrip('/')}={word})"
        out.append(Change(B, old.key, "event folded into another event; "
                          + _advice(old.direction, old.key, where), old.key, where))
        names = {n.name for n in fields(new).values()}
        out += [Change(B, f"{old.key}#{p}", f"field not carried over into {new.key}",
                       f"{old.key}#{p}", None)
                for p, n in sorted(fields(old).items()) if n.name not in names]
    scored = sorted(((0.5 * name_similarity(o.key, n.key) + 0.5 * field_similarity(o, n), o.key,
                      n.key) for o in unfolded for n in fresh
                     if o.direction is n.direction and not (o.is_operation or n.is_operation)),
                    reverse=True)
    renamed: dict[str, str] = {}
    for score, o_key, n_key in scored:
        if score >= RENAME_SCORE and o_key not in renamed and n_key not in renamed.values():
            renamed[o_key] = n_key
    for o_key, n_key in sorted(renamed.items()):
        old, new = before[o_key], after[n_key]
        out.append(Change(B, o_key, "event renamed; " + _advice(new.direction, o_key, n_key),
                          o_key, n_key))
        out += compare_messages(old, new, o_key, n_key, skip=frozenset({DISCRIMINATOR}),
                                renamed=True)
    for old in unfolded:
        if old.key not in renamed:
            what = "operation removed; stop calling it" if old.is_operation else (
                "event removed; " + ("the server no longer accepts it"
                                     if old.direction is Direction.REQUEST
                                     else "it is no longer sent"))
            out.append(Change(B, old.key, what, old.key, None))
    for new in fresh:
        if new.key not in renamed.values():
            what = "new operation available" if new.is_operation else (
                "new client event; may send it" if new.direction is Direction.REQUEST else
                f"new server event{WARN.replace('handle it', 'handle or ignore it')}")
            out.append(Change(A, new.key, what, None, new.key))
    return out
