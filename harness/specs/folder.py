"""Readers for the project's own layout: a protocol folder, or one plain JSON Schema file.

A folder holds one schema per message, matched by the ``type`` const it declares, else by its
path. A file that is only a ``oneOf`` of ``$ref`` (``client-event.json``) is not a message: it
says which way each message it lists flows. A file of shared definitions (``common.json``) is
not a message either; its description is the folder's document-level text (where an import
puts the published document's description), so prose facts survive the round trip. A single
schema file is a spec of one message named after the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.drift.schema_diff import Direction, direction_of
from harness.drift.schema_walk import (
    Resolver,
    event_type,
    flatten,
    is_definitions_only,
    is_union,
)
from harness.errors import UsageError
from harness.specs.bundle import message_facts
from harness.specs.facts import Fact, extract
from harness.specs.model import Message, Spec, reader

SUFFIXES = (".json", ".yaml", ".yml")
SCHEMA_WORDS = frozenset({"$schema", "$ref", "$id", "type", "properties", "items", "allOf",
                          "anyOf", "oneOf", "not", "enum", "const", "required",
                          "additionalProperties", "if", "definitions", "format", "pattern"})


def _text(doc: Any) -> str:
    return str(doc.get("description", "")).strip() if isinstance(doc, dict) else ""


@reader("folder", lambda path, doc: path.is_dir())
def read_folder(folder: Path, _doc: Any = None) -> Spec:
    resolver = Resolver()
    files = sorted(p for p in folder.rglob("*") if p.suffix in SUFFIXES and p.is_file())
    if not files:  # two empty folders would otherwise diff as "no changes"
        raise UsageError(f"{folder}: no .json or .yaml schema in this folder")
    docs = {p.resolve(): resolver.doc(p) for p in files}
    flows: dict[Path, Direction] = {}
    for path, doc in docs.items():
        for ref in is_union(doc) or ():
            target = (path.parent / ref.split("#", 1)[0]).resolve()
            flows.setdefault(target, direction_of(path.stem))
    messages: dict[str, Message] = {}
    shared: list[str] = []
    facts: set[Fact] = set()
    for path, doc in docs.items():
        if is_definitions_only(doc):
            shared.append(_text(doc))
        if is_union(doc) is not None or is_definitions_only(doc):
            facts |= extract(_text(doc), "")
            continue
        key = event_type(doc) or path.relative_to(folder.resolve()).with_suffix("").as_posix()
        messages[key] = Message(key, flows.get(path) or direction_of(path.stem),
                                flatten(doc, path, resolver), path.name)
    for message in messages.values():
        facts |= message_facts(message)
    return Spec("folder", folder, messages, "\n".join(t for t in shared if t), "",
                frozenset(facts))


def _is_schema(path: Path, doc: Any) -> bool:
    return isinstance(doc, dict) and "openapi" not in doc and "swagger" not in doc and (
        not doc or bool(SCHEMA_WORDS & doc.keys()))


@reader("schema", _is_schema)
def read_schema(path: Path, doc: Any) -> Spec:
    message = Message(path.stem, direction_of(path.stem), flatten(doc, path), "#")
    return Spec("schema", path, {path.stem: message}, "", str(doc.get("$id", "")),
                frozenset(message_facts(message)), doc)
