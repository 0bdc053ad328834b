"""Our layout for a published spec: file name → schema, each with its ``$id`` and provenance.

A JSON Schema bundle becomes one file per message (``<type>.json``), one per union of messages
(``client-event.json``) and ``common.json`` holding the shared definitions and the document's
description (so prose facts survive). An OpenAPI document becomes one file per component
schema (``QueueStatus`` → ``queue-status.json``) and one per inline request or response body
(``<operation>-request.json``, ``<operation>-response-<status>.json``). Local ``$ref`` are
rewritten across the files; ``x-source`` names the document (its URL or file), its version and
the pointer each file came from.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from harness.drift.schema_walk import event_type
from harness.drift.shape import escape
from harness.errors import UsageError
from harness.specs.bundle import at, message_pointers, union_refs
from harness.specs.model import Spec
from harness.specs.openapi import METHODS

DRAFT_07 = "http://json-schema.org/draft-07/schema#"
SHARED = "common"
Files = dict[str, dict[str, Any]]


def rewrite(node: Any, target: Callable[[str], str | None]) -> Any:
    """``node`` with each local ``$ref`` replaced by ``target(pointer)`` where it has one."""
    if isinstance(node, list):
        return [rewrite(v, target) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: rewrite(v, target) for k, v in node.items()}
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/") and (new := target(ref[1:])) is not None:
        out["$ref"] = new
    return out


def kebab(name: str) -> str:
    """``QueueStatus``, ``client_event``, ``post /x/{id}`` → ``queue-status``, ``client-event``,
    ``post-x-id``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", name)
    return re.sub(r"[^a-z0-9.]+", "-", spaced.lower()).strip("-")


def layout(spec: Spec, name: str, document: str) -> Files:
    """Files for ``spec`` under the schema name ``name`` (``protocol[/revision]``)."""
    from harness.schemas import uri_of

    if not isinstance(spec.raw, dict) or spec.kind not in BUILDERS:
        raise UsageError(f"{spec.source}: import reads a JSON Schema bundle whose oneOf lists "
                         f"the messages, or an OpenAPI document; this is {spec.kind}")
    doc, source = spec.raw, {"document": document, "version": spec.version}

    def head(file: str, title: str, pointer: str) -> dict[str, Any]:
        return {"$schema": doc.get("$schema", DRAFT_07),
                "$id": uri_of(f"{name}/{file.removesuffix('.json')}"), "title": title,
                "x-source": {**source, "section": f"#{pointer}"}}

    return BUILDERS[spec.kind](spec, head)


Head = Callable[[str, str, str], dict[str, Any]]


def _bundle(spec: Spec, head: Head) -> Files:
    doc = spec.raw
    messages = message_pointers(doc)
    unions = [ref[1:] for ref in union_refs(doc) or () if union_refs(at(doc, ref[1:]))]
    files = {p: f"{event_type(at(doc, p)) or p.rsplit('/', 1)[-1]}.json" for p in messages}
    files |= {p: f"{kebab(p.rsplit('/', 1)[-1])}.json" for p in unions}
    holders = {p.split("/")[2] for p in [*messages, *unions]}
    defs = doc.get("definitions") or {}
    shared = {k for k in defs if k not in holders}

    def target(pointer: str) -> str | None:
        if pointer in files:
            return files[pointer]
        return f"{SHARED}.json#{pointer}" if pointer.split("/")[2] in shared else None

    title, out = doc.get("title", "spec"), {}
    for pointer, group in messages.items():
        side = "client" if "client" in f"{group}/{pointer}" else "server"
        key = files[pointer].removesuffix(".json")
        out[files[pointer]] = {**head(files[pointer], f"{title}: {side} event {key}", pointer),
                               **rewrite(at(doc, pointer), target)}
    for pointer in unions:
        what = pointer.rsplit("/", 1)[-1].replace("_", " ")
        out[files[pointer]] = {**head(files[pointer], f"{title}: any {what}", pointer),
                               **rewrite(at(doc, pointer), target)}
    if shared:
        common = head(f"{SHARED}.json", f"{title}: shared definitions", "/definitions")
        if spec.description:
            common["description"] = spec.description
        out[f"{SHARED}.json"] = {**common, "definitions": {
            k: rewrite(defs[k], target) for k in sorted(shared)}}
    return out


def _openapi(spec: Spec, head: Head) -> Files:
    doc = spec.raw
    components = (doc.get("components") or {}).get("schemas") or {}
    files = {f"/components/schemas/{escape(k)}": f"{kebab(k)}.json" for k in components}

    def target(pointer: str) -> str | None:
        for prefix, file in files.items():
            if pointer == prefix or pointer.startswith(f"{prefix}/"):
                return file + (f"#{pointer[len(prefix):]}" if pointer != prefix else "")
        return None

    title = (doc.get("info") or {}).get("title", "API")
    out = {files[f"/components/schemas/{escape(k)}"]: {
        **head(f"{kebab(k)}.json", f"{title}: {k}", f"/components/schemas/{escape(k)}"),
        **rewrite(schema, target)} for k, schema in components.items()}
    for route, item in (doc.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if method not in METHODS or not isinstance(op, dict):
                continue
            slug = kebab(op.get("operationId") or f"{method} {route}")
            base = f"/paths/{escape(route)}/{method}"
            bodies = [("request", "/requestBody", op.get("requestBody"))] + [
                (f"response-{status}", f"/responses/{status}", answer)
                for status, answer in (op.get("responses") or {}).items()]
            for part, where, holder in bodies:
                content = (holder or {}).get("content") or {}
                media = content.get("application/json") or {}
                schema = media.get("schema") if isinstance(media, dict) else None
                if isinstance(schema, dict) and "$ref" not in schema:  # inline: its own file
                    file = f"{slug}-{part}.json"
                    pointer = f"{base}{where}/content/application~1json/schema"
                    out[file] = {**head(file, f"{title}: {slug} {part}", pointer),
                                 **rewrite(schema, target)}
    return out


BUILDERS: dict[str, Callable[[Spec, Head], Files]] = {"schema-bundle": _bundle,
                                                      "openapi": _openapi}
