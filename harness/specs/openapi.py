"""Reader for an OpenAPI 3.0/3.1 document: one message per operation.

An operation is keyed ``METHOD /path``. What the client sends is its JSON ``requestBody``
(the message's nodes); its parameters (path-level and operation-level, operation wins) become
nodes at ``/{in}/{name}`` so required-ness, type and enum compare like fields; each documented
response status keeps its JSON schema (``None`` when it has none, so a status that loses its
body still shows). Facts come from ``info.description``, operation summaries and descriptions,
parameter descriptions and every description inside the bodies.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from harness.drift.schema_diff import Direction
from harness.drift.schema_walk import Node, Resolver, flatten
from harness.drift.shape import escape
from harness.specs.bundle import message_facts
from harness.specs.facts import extract
from harness.specs.model import PARAMS, Message, Spec, reader

METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def json_schema(holder: Any) -> Any:
    """The JSON (else first) media type's schema of a requestBody or response."""
    content = holder.get("content") if isinstance(holder, dict) else None
    if not isinstance(content, dict) or not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    return media.get("schema") if isinstance(media, dict) else None


def _params(raw: list[Any], path: Path, resolver: Resolver) -> dict[str, Node]:
    out: dict[str, Node] = {}
    for param in raw:
        if isinstance(param, dict) and "$ref" in param:
            param, _ = resolver.follow(param["$ref"], path)
        if not isinstance(param, dict) or "name" not in param:
            continue
        where = f"/{PARAMS}/{param.get('in', 'query')}/{escape(str(param['name']))}"
        root = flatten(param.get("schema") or {}, path, resolver)[""]
        out[where] = replace(root, path=where, required=bool(param.get("required")),
                             description=str(param.get("description", "")).strip())
    return out


def _operation(key: str, item: dict[str, Any], op: dict[str, Any], pointer: str, path: Path,
               resolver: Resolver) -> Message:
    by_name = {(p.get("in"), p.get("name")): p for p in item.get("parameters", []) + list(
        op.get("parameters", [])) if isinstance(p, dict)}
    body = json_schema(op.get("requestBody"))
    responses: dict[str, dict[str, Node] | None] = {}
    for status, answer in (op.get("responses") or {}).items():
        schema = json_schema(answer)
        responses[str(status)] = None if schema is None else flatten(schema, path, resolver)
    nodes = flatten(body, path, resolver) if body is not None else {}
    text = " ".join(str(op.get(k, "")) for k in ("summary", "description")).strip()
    if text:
        nodes[""] = replace(nodes.get("", Node("")), description=text)
    return Message(key, Direction.REQUEST, nodes, pointer,
                   _params(list(by_name.values()), path, resolver), responses)


def _accepts(path: Path, doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("openapi"), str)


@reader("openapi", _accepts)
def read_openapi(path: Path, doc: Any) -> Spec:
    resolver = Resolver()
    resolver.docs[path.resolve()] = doc
    messages: dict[str, Message] = {}
    for route, item in (doc.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if method in METHODS and isinstance(op, dict):
                key = f"{method.upper()} {route}"
                pointer = f"#/paths/{escape(route)}/{method}"
                messages[key] = _operation(key, item, op, pointer, path, resolver)
    info = doc.get("info") or {}
    description = str(info.get("description", "")).strip()
    facts = extract(description, "")
    for message in messages.values():
        facts |= message_facts(message)
        for status, nodes in message.responses.items():
            for p, node in (nodes or {}).items():
                facts |= extract(node.description, f"{message.key} {status}#{p}")
    return Spec("openapi", path, messages, description, str(info.get("version", "")),
                frozenset(facts), doc)
