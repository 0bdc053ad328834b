"""Compare two flattened schemas and classify each change for the client.

:func:`compare_schemas` is the field-level core of every spec diff (:mod:`harness.specs.diff`).
Whether a change breaks a client depends on which way the data flows: the client *sends*
requests and client events, where a new required field or a narrowed enum breaks it and a new
optional field does not; it *receives* responses and server events, where a removed field or a
field that may now be missing breaks it, a new field is additive and a widened enum is
additive-with-a-warning (exhaustive switches). Direction comes from file names (``client-*``/
``request*``/``input*`` sent, ``server-*``/``response*``/``event*``/``chunk*`` received) or
from the reader (OpenAPI ``requestBody`` versus ``responses``, a bundle's ``client_event``
versus ``server_event``). Fields that moved or were renamed are matched by name similarity and
reported as one move each.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher
from enum import Enum

from harness.drift import wording
from harness.drift.classify import Change, Kind
from harness.drift.schema_walk import Node

B, A, C = Kind.BREAKING, Kind.ADDITIVE, Kind.COSMETIC
WARN = " (warn: clients with exhaustive switches must handle it)"
LOWER_BOUNDS = ("minimum", "exclusiveMinimum", "minLength", "minItems")
UPPER_BOUNDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems")
FIELD_MATCH = 0.7


class Direction(str, Enum):
    """Which way a document's data flows, seen from the client."""

    REQUEST = "request"    # the client sends it
    RESPONSE = "response"  # the client receives it


RESPONSE_WORDS = {"server", "response", "responses", "event", "events", "chunk", "output",
                  "error", "status", "result"}
REQUEST_WORDS = {"client", "request", "requests", "input", "inputs", "params"}


def direction_of(name: str) -> Direction:
    words = [w for w in re.split(r"[^a-z]+", name.lower()) if w]
    if words and words[0] in ("client", "server"):
        return Direction.REQUEST if words[0] == "client" else Direction.RESPONSE
    if RESPONSE_WORDS & set(words):
        return Direction.RESPONSE
    return Direction.REQUEST if REQUEST_WORDS & set(words) else Direction.RESPONSE


def _ptr(label: str, path: str) -> str:
    return f"{label}#{path}" if path else label


def _similar(a: str, b: str) -> float:
    return SequenceMatcher(None, a, b).ratio()


def match_fields(old: dict[str, Node], new: dict[str, Node]) -> dict[str, str]:
    """Map each old path to the new path it most likely became (same or similar key name)."""
    pairs = []
    for o in old.values():
        for n in new.values():
            if o.leaf != n.leaf or (o.types and n.types and not o.types & n.types
                                    and {"integer", "number"} != o.types | n.types):
                continue
            name = 1.0 if o.name == n.name else _similar(o.name, n.name)
            if name >= FIELD_MATCH and o.name and n.name:
                pairs.append((name + 0.1 * _similar(o.path, n.path), o.path, n.path))
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for _, o_path, n_path in sorted(pairs, key=lambda t: (-t[0], t[1], t[2])):
        if o_path not in mapping and n_path not in used:
            mapping[o_path] = n_path
            used.add(n_path)
    return mapping


def _unmatched(paths: set[str], keep: set[str]) -> list[str]:
    """Top-most unmatched paths, descending into subtrees that hold a matched path."""
    out: list[str] = []
    for p in sorted(paths):
        if any(p.startswith(f"{q}/") for q in out) or any(k.startswith(f"{p}/") for k in keep):
            continue
        out.append(p)
    return out


def _types(o: Node, n: Node, req: bool) -> tuple[Kind, str] | None:
    if not o.types or not n.types or o.types == n.types:
        return None
    wider = set(n.types - o.types) - ({"integer"} if "number" in o.types else set())
    narrower = set(o.types - n.types) - ({"integer"} if "number" in n.types else set())
    if wider and narrower:
        return B, "retyped"
    if wider:
        return ((A, f"also accepts {', '.join(sorted(wider))}") if req
                else (B, f"may now be {', '.join(sorted(wider))}; handle it"))
    if narrower:
        return ((B, f"no longer accepts {', '.join(sorted(narrower))}") if req
                else (C, "narrowed type; no client change needed"))
    return None


def _bounds(o: Node, n: Node, req: bool, ptr: str) -> list[Change]:
    out = []
    before, after = dict(o.bounds), dict(n.bounds)
    for key in sorted(set(before) | set(after)):
        was, now = before.get(key), after.get(key)
        if was == now:
            continue
        if was is None or now is None:
            tighter = now is not None
        elif key in LOWER_BOUNDS:
            tighter = float(now) > float(was)
        elif key in UPPER_BOUNDS:
            tighter = float(now) < float(was)
        else:  # pattern, multipleOf: a different rule, not a looser one
            out.append(Change(B, ptr, f"{key} changed; check values against the new rule",
                              was, now))
            continue
        if req:
            kind, what = (B, "stricter; send values within the new limit") if tighter else (
                A, "looser; larger range accepted")
        else:
            kind, what = (C, "tighter; no client change needed") if tighter else (
                A, "looser; values may now exceed the old limit, check buffers")
        out.append(Change(kind, ptr, f"{key} {what}", was, now))
    return out


def compare_nodes(o: Node, n: Node, direction: Direction, ptr: str,
                  describe: bool = True) -> list[Change]:
    """Differences of one field present on both sides."""
    req, out = direction is Direction.REQUEST, []
    if t := _types(o, n, req):
        out.append(Change(t[0], ptr, t[1], "|".join(sorted(o.types)), "|".join(sorted(n.types))))
    if o.required and not n.required and o.path:
        out.append(Change(A, ptr, "now optional; may be omitted", "required", "optional") if req
                   else Change(B, ptr, "may now be missing; handle its absence",
                               "required", "optional"))
    elif n.required and not o.required and n.path:
        out.append(Change(B, ptr, "now required; always send it", "optional", "required") if req
                   else Change(A, ptr, "now always sent", "optional", "required"))
    if o.enum is not None and n.enum is not None:
        gone = [v for v in o.enum if v not in n.enum]
        added = [v for v in n.enum if v not in o.enum]
        if gone:
            out.append(Change(B, ptr, f"enum values no longer accepted: {gone}; stop sending them",
                              list(o.enum), list(n.enum)) if req
                       else Change(C, ptr, f"enum values no longer sent: {gone}",
                                   list(o.enum), list(n.enum)))
        if added:
            out.append(Change(A, ptr, f"new enum values {added} may be sent" if req
                              else f"new enum values {added} may be received{WARN}",
                              list(o.enum), list(n.enum)))
    elif o.enum is None and n.enum is not None:
        out.append(Change(B, ptr, "now restricted to an enum; send only these values", None,
                          list(n.enum)) if req
                   else Change(C, ptr, "now documented as an enum", None, list(n.enum)))
    elif o.enum is not None and n.enum is None:
        out.append(Change(A, ptr, "no longer restricted to an enum" + ("" if req else WARN),
                          list(o.enum), None))
    if o.const != n.const:
        # A new constant narrows what may be sent; a dropped one widens what may arrive.
        kind = B if o.const and n.const else (B if req else C) if n.const else A
        out.append(Change(kind, ptr, "constant changed" if o.const and n.const
                          else "now a constant" if n.const else "no longer a constant",
                          o.const[0] if o.const else None, n.const[0] if n.const else None))
    if o.format != n.format:
        kind = (B if n.format else A) if req else (C if not o.format else B)
        out.append(Change(kind, ptr, "string format changed", o.format or None,
                          n.format or None))
    out.extend(_bounds(o, n, req, ptr))
    if o.default != n.default and req and o.default:
        out.append(Change(B, ptr, "default changed; send the old value explicitly to keep "
                          "the old behaviour", o.default[0], n.default[0] if n.default else None))
    elif o.default != n.default:
        out.append(Change(C, ptr, "default documented differently",
                          o.default[0] if o.default else None,
                          n.default[0] if n.default else None))
    if o.closed and not n.closed:
        out.append(Change(A, ptr, "unknown fields now tolerated" if req
                          else "may now carry undocumented fields; ignore unknown keys",
                          "closed", "open"))
    elif n.closed and not o.closed:
        out.append(Change(B, ptr, "unknown fields now rejected; send only documented ones",
                          "open", "closed") if req
                   else Change(C, ptr, "no undocumented fields any more", "open", "closed"))
    if describe and o.description != n.description:
        out.append(wording.describe(o.description, n.description, ptr))
    return out


def compare_schemas(old: dict[str, Node], new: dict[str, Node], direction: Direction,
                    old_label: str, new_label: str | None = None,
                    skip: frozenset[str] = frozenset()) -> list[Change]:
    """Every change between two flattened schemas, moved fields reported as moves."""
    new_label = new_label or old_label
    req, out = direction is Direction.REQUEST, []
    removed = {p for p in old if p not in new and p not in skip}
    added = {p for p in new if p not in old and p not in skip}
    moves = match_fields({p: old[p] for p in removed}, {p: new[p] for p in added})
    for o_path, n_path in sorted(moves.items()):
        parent_o, parent_n = o_path.rsplit("/", 1)[0], n_path.rsplit("/", 1)[0]
        implied = moves.get(parent_o) == parent_n and o_path[len(parent_o):] == n_path[len(parent_n):]
        if not implied:  # the items of a moved array move with it: say it once
            how = "send it under the new name" if req else "read it from the new place"
            out.append(Change(B, _ptr(old_label, o_path), f"field moved or renamed; {how}",
                              _ptr(old_label, o_path), _ptr(new_label, n_path)))
        out.extend(compare_nodes(old[o_path], new[n_path], direction,
                                 _ptr(new_label, n_path), describe=False))
    for p in _unmatched(removed - set(moves), set(moves)):
        out.append(Change(B, _ptr(old_label, p), "no longer accepted; stop sending it" if req
                          else "no longer sent; stop reading it", "|".join(sorted(old[p].types)),
                          None))
    for p in _unmatched(added - set(moves.values()), set(moves.values())):
        node, ptr = new[p], _ptr(new_label, p)
        if req:
            out.append(Change(B, ptr, "new required field; send it", None, "required")
                       if node.required else
                       Change(A, ptr, "new optional field; may send it", None, "optional"))
        else:
            out.append(Change(A, ptr, "new field, always sent" if node.required
                              else "new optional field; may read it", None,
                              "|".join(sorted(node.types)) or "any"))
    for p in sorted(set(old) & set(new) - skip):
        out.extend(compare_nodes(old[p], new[p], direction, _ptr(new_label, p)))
    return out
