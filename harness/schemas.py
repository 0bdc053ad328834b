"""Load, resolve and overlay the JSON Schemas that are the single source of truth.

Schemas live in ``schemas/<protocol>/<kind>.json`` (``<protocol>/<kind>`` is how code names
them) and are written in the common subset of draft-07 and 2020-12, so the same file serves the
jsonschema validator, our request strategies and schemathesis (OpenAPI 3.1).
Cross-file ``$ref`` are relative paths; :func:`resolved` inlines them into one self-contained
schema for generators and OpenAPI assembly. A provider's dialect is an overlay combined with
``allOf``, never an edited copy.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag, urljoin

import jsonschema
import referencing
from referencing.jsonschema import DRAFT7

from harness.errors import SchemaError, UnknownNameError

BASE_ID = "https://vlm-contract-harness.dev/schemas/"
# Folders under schemas/ that hold data about the harness itself, not provider contracts.
NON_CONTRACT = ("harness", "_examples")


def schema_root() -> Path:
    """The schemas folder: packaged beside the code when installed, the repo's otherwise."""
    packaged = Path(__file__).parent / "_schemas"
    return packaged if packaged.is_dir() else Path(__file__).resolve().parent.parent / "schemas"


def ref_of(path: Path, root: Path | None = None) -> str:
    """``schemas/openai-chat/request.json`` -> ``openai-chat/request``."""
    return path.relative_to(root or schema_root()).with_suffix("").as_posix()


def names(include_harness: bool = False, root: Path | None = None) -> tuple[str, ...]:
    """Every contract schema name, sorted: the project's (cached), or those under ``root``
    (read afresh: lint looks at folders that change between calls)."""
    return _names(include_harness) if root is None else _scan(root, include_harness)


@cache
def _names(include_harness: bool) -> tuple[str, ...]:
    return _scan(schema_root(), include_harness)


def _scan(root: Path, include_harness: bool) -> tuple[str, ...]:
    found = []
    for path in root.rglob("*.json"):
        ref = ref_of(path, root)
        if include_harness or ref.split("/", 1)[0] not in NON_CONTRACT:
            found.append(ref)
    return tuple(sorted(found))


@cache
def load(name: str) -> dict[str, Any]:
    """The raw schema ``name`` as written on disk (shared: do not mutate)."""
    path = schema_root() / f"{name}.json"
    if not path.is_file():
        raise UnknownNameError("schema", name, names(include_harness=True))
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SchemaError(f"{path}: not valid JSON: {exc}") from exc


def uri_of(name: str) -> str:
    return f"{BASE_ID}{name}.json"


def name_of(uri: str) -> str:
    if not uri.startswith(BASE_ID):
        raise SchemaError(f"$ref {uri!r} points outside the project's schemas ({BASE_ID})")
    return uri[len(BASE_ID):].removesuffix(".json")


def registry_of(documents: Mapping[str, Any]) -> referencing.Registry:
    """A registry of ``{name: schema}`` keyed by URI (lint builds one over another folder)."""
    resources = [(uri_of(n), DRAFT7.create_resource(doc)) for n, doc in documents.items()]
    return referencing.Registry().with_resources(resources)


@cache
def registry() -> referencing.Registry:
    """A registry of every schema keyed by its URI, for the jsonschema validator."""
    return registry_of({n: load(n) for n in names(True)})


def _pointer(doc: Any, fragment: str, where: str) -> Any:
    node = doc
    for part in [p for p in fragment.lstrip("/").split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        try:
            node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError) as exc:
            raise SchemaError(f"{where}: $ref fragment #{fragment} does not resolve") from exc
    return node


def _inline(node: Any, base_uri: str, doc: dict[str, Any], seen: tuple[str, ...]) -> Any:
    if isinstance(node, list):
        return [_inline(item, base_uri, doc, seen) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        target = urljoin(base_uri, node["$ref"])
        if target in seen:
            raise SchemaError(f"{name_of(base_uri)}: recursive $ref {node['$ref']!r}")
        doc_uri, fragment = urldefrag(target)
        target_doc = doc if doc_uri == base_uri else load(name_of(doc_uri))
        sub = _pointer(target_doc, fragment, f"{name_of(base_uri)} $ref {node['$ref']!r}")
        out = _inline(sub, doc_uri, target_doc, (*seen, target))
        siblings = {k: v for k, v in node.items() if k != "$ref"}
        if siblings:  # draft-07 ignores siblings of $ref; we keep annotations only
            out = {**out, **{k: v for k, v in siblings.items() if k.startswith(("x-", "desc"))}}
        return out
    return {k: _inline(v, base_uri, doc, seen) for k, v in node.items() if k != "definitions"}


@cache
def _resolved(name: str) -> str:
    doc = load(name)
    out = _inline(doc, uri_of(name), doc, (uri_of(name),))
    out.pop("$id", None)
    out.pop("$schema", None)
    return json.dumps(out)


def resolved(name: str, overlay: dict[str, Any] | None = None) -> dict[str, Any]:
    """``name`` with every ``$ref`` inlined (a fresh copy), optionally narrowed by a dialect."""
    base = json.loads(_resolved(name))
    if not overlay:
        return base
    return {"allOf": [base, strip_annotations(overlay)], **{
        k: base[k] for k in ("title", "description", "x-source") if k in base}}


def with_advisories(node: Any) -> Any:
    """``node`` with each ``x-advisory`` node's limits made real keywords: the schema a strict
    mock enforces (and the one a request must pass to break no advisory limit at all)."""
    if isinstance(node, list):
        return [with_advisories(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: with_advisories(v) for k, v in node.items() if k != "x-advisory"}
    advisory = node.get("x-advisory")
    if isinstance(advisory, dict):
        out.update(advisory.get("limits") or {})
    return out


def strip_annotations(overlay: dict[str, Any]) -> dict[str, Any]:
    """A dialect overlay without its provenance keys (they annotate, they do not constrain)."""
    return {k: copy.deepcopy(v) for k, v in overlay.items() if not k.startswith("x-")}


def validator(name: str, overlay: dict[str, Any] | None = None,
              using: referencing.Registry | None = None) -> jsonschema.Draft7Validator:
    """A validator for ``name`` (and its dialect overlay) that resolves refs via ``using``
    (default: the registry of the project's schemas)."""
    schema: dict[str, Any] = {"$ref": uri_of(name)}
    if overlay:
        schema = {"allOf": [schema, strip_annotations(overlay)]}
    return jsonschema.Draft7Validator(schema, registry=using or registry(),
                                      format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def schema_node(name: str, pointer: str) -> Any:
    """The node at JSON ``pointer`` inside the raw schema ``name`` (for x-source lookup)."""
    return _pointer(load(name), pointer, name)
