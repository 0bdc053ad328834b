"""Flatten a JSON Schema into the instance fields it promises, for document-to-document diffs.

:func:`flatten` walks a schema (following local and relative-file ``$ref``, merging
``allOf``/``oneOf``/``anyOf`` branches) and returns one :class:`Node` per instance pointer
(``/payload/voice/ref_audio_base64``; array items as ``/*``) with the constraints a client
cares about: types, required-ness, enum/const, format, bounds, default, closed-ness and
description. Comparing two flattened schemas is then a comparison of two dictionaries, which is
what :mod:`~harness.drift.schema_diff` does; this module knows nothing about classification.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

import yaml

from harness.drift.shape import ITEM, escape, json_type
from harness.errors import UsageError

BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength",
          "maxLength", "minItems", "maxItems", "pattern", "multipleOf")
MAX_DEPTH = 24


@dataclass(frozen=True, slots=True)
class Node:
    """What a schema says about one instance pointer (``const``/``default``: () when absent)."""

    path: str
    types: frozenset[str] = frozenset()
    required: bool = False
    enum: tuple[Any, ...] | None = None
    const: tuple[Any, ...] = ()
    format: str = ""
    bounds: tuple[tuple[str, Any], ...] = ()
    default: tuple[Any, ...] = ()
    closed: bool = False
    description: str = ""
    leaf: bool = True

    @property
    def name(self) -> str:
        """The last key of the path, skipping array-item markers."""
        parts = [p for p in self.path.split("/") if p and p != ITEM]
        return parts[-1] if parts else ""


def read_document(path: Path) -> Any:
    """A JSON or YAML document, or a :class:`UsageError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
        return yaml.safe_load(text) if path.suffix in (".yaml", ".yml") else json.loads(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        raise UsageError(f"{path}: cannot read schema document: {exc}") from exc


@dataclass(slots=True)
class Resolver:
    """Resolves ``$ref`` relative to the file that holds it; caches loaded files."""

    docs: dict[Path, Any] = field(default_factory=dict)

    def doc(self, path: Path) -> Any:
        path = path.resolve()
        if path not in self.docs:
            self.docs[path] = read_document(path)
        return self.docs[path]

    def follow(self, ref: str, where: Path) -> tuple[Any, Path]:
        target, fragment = urldefrag(ref)
        file = (where.parent / target).resolve() if target and "://" not in target else where
        if "://" in target or not file.is_file():
            return {"x-unresolved": ref}, where  # outside the compared tree: keep it opaque
        node = self.doc(file)
        for part in [p for p in fragment.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            elif isinstance(node, dict) and part in node:
                node = node[part]
            else:
                raise UsageError(f"{where}: $ref {ref!r} does not resolve")
        return node, file


def _deref(node: Any, where: Path, resolver: Resolver, depth: int) -> tuple[dict[str, Any], Path]:
    """Follow ``$ref`` chains, keeping sibling keywords (annotations override the target)."""
    while isinstance(node, dict) and "$ref" in node and depth < MAX_DEPTH:
        target, where = resolver.follow(node["$ref"], where)
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        node = {**target, **siblings} if isinstance(target, dict) else target
        depth += 1
    return (node if isinstance(node, dict) else {}), where


def _branches(node: dict[str, Any]) -> list[tuple[dict[str, Any], bool]]:
    """The node and its combinator branches; the flag says if a branch's ``required`` counts."""
    out = [(node, True)]
    out += [(b, True) for b in node.get("allOf", []) if isinstance(b, dict)]
    for key in ("oneOf", "anyOf"):
        out += [(b, False) for b in node.get(key, []) if isinstance(b, dict)]
    return out


def _types(parts: list[dict[str, Any]]) -> frozenset[str]:
    types: set[str] = set()
    for part in parts:
        declared = part.get("type")
        if isinstance(declared, str):
            types.add(declared)
        elif isinstance(declared, list):
            types.update(declared)
        elif "const" in part:
            types.add(json_type(part["const"]))
        elif "properties" in part:
            types.add("object")
        elif "items" in part:
            types.add("array")
    return frozenset(types)


def flatten(schema: Any, where: Path, resolver: Resolver | None = None) -> dict[str, Node]:
    """Every instance pointer ``schema`` (read from file ``where``) describes, root ``""``."""
    out: dict[str, Node] = {}
    _visit(schema, where, resolver or Resolver(), "", True, out, 0)
    return out


def _visit(raw: Any, where: Path, resolver: Resolver, path: str, required: bool,
           out: dict[str, Node], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    node, where = _deref(raw, where, resolver, depth)
    parts: list[tuple[dict[str, Any], Path]] = []
    must: set[str] = set()
    queue = [(node, where, True)]
    while queue:  # gather branches of branches, each with the file its refs are relative to
        part, at, counts = queue.pop(0)
        part, at = _deref(part, at, resolver, depth)
        parts.append((part, at))
        if counts:
            must.update(r for r in part.get("required", []) if isinstance(r, str))
        queue += [(b, at, counts and c) for b, c in _branches(part)[1:]]
    dicts = [p for p, _ in parts]
    enum: set[Any] | None = None
    consts = [p["const"] for p in dicts if "const" in p]
    for p in dicts:
        if isinstance(p.get("enum"), list):
            enum = (enum or set()) | {json.dumps(v, sort_keys=True) for v in p["enum"]}
    if len(consts) > 1:  # a oneOf of consts is an enum
        enum = (enum or set()) | {json.dumps(v, sort_keys=True) for v in consts}
        consts = []
    props: dict[str, tuple[Any, Path]] = {}
    items: list[tuple[Any, Path]] = []
    for p, at in parts:
        for key, sub in (p.get("properties") or {}).items():
            props.setdefault(key, (sub, at))
        if isinstance(p.get("items"), dict):
            items.append((p["items"], at))
    out[path] = Node(
        path=path, types=_types(dicts), required=required,
        enum=tuple(json.loads(v) for v in sorted(enum)) if enum and not consts else None,
        const=(consts[0],) if len(consts) == 1 else (),
        format=next((p["format"] for p in dicts if isinstance(p.get("format"), str)), ""),
        bounds=tuple(sorted({(k, json.dumps(p[k])) for p in dicts for k in BOUNDS if k in p})),
        default=next(((p["default"],) for p in dicts if "default" in p), ()),
        closed=any(p.get("additionalProperties") is False for p in dicts),
        description=str(node.get("description", "")).strip(),
        leaf=not props and not items)
    for key, (sub, at) in props.items():
        _visit(sub, at, resolver, f"{path}/{escape(key)}", key in must, out, depth + 1)
    if items:
        _visit({"allOf": [i for i, _ in items]} if len(items) > 1 else items[0][0],
               items[0][1], resolver, f"{path}/{ITEM}", True, out, depth + 1)


def is_union(doc: Any) -> list[str] | None:
    """The ``$ref`` targets of a document that is only a ``oneOf``/``anyOf`` of refs."""
    if not isinstance(doc, dict) or "properties" in doc or "type" in doc:
        return None
    branches = doc.get("oneOf") or doc.get("anyOf")
    if not isinstance(branches, list) or not branches:
        return None
    refs = [r for b in branches if isinstance(b, dict) and isinstance(r := b.get("$ref"), str)]
    return refs if len(refs) == len(branches) else None


def is_definitions_only(doc: Any) -> bool:
    """A shared-definitions file (``common.json``): describes no instance by itself."""
    keys = {"type", "properties", "items", "oneOf", "anyOf", "allOf", "$ref", "enum", "const"}
    return isinstance(doc, dict) and not keys & set(doc)


def event_type(doc: Any) -> str | None:
    """The ``type`` const that names an event schema, if it has one."""
    props = doc.get("properties") if isinstance(doc, dict) else None
    const = props.get("type", {}).get("const") if isinstance(props, dict) else None
    return const if isinstance(const, str) else None
