"""Reader for a single-file JSON Schema bundle whose ``oneOf`` branches are the message kinds.

MiniCPM-o publishes its realtime protocol this way: ``definitions/client/*`` and
``definitions/server/*``, shared definitions beside them, and a top-level ``oneOf`` of
``client_event`` and ``server_event``, each a ``oneOf`` of ``$ref``. The reader follows the
unions from the top: a branch that is itself a union of refs names a group (its name says the
direction: ``client_event`` is sent, ``server_event`` received), any other branch is a message,
named by the ``const`` of its ``type`` property or else by its definition name. Facts come from
the document's description and from every description inside each message.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.drift.schema_diff import Direction, direction_of
from harness.drift.schema_walk import Resolver, event_type, flatten
from harness.specs.facts import Fact, extract
from harness.specs.model import Message, Spec, reader

MIN_MESSAGES = 2


def union_refs(node: Any) -> list[str] | None:
    """The local ``$ref`` targets of a ``oneOf``/``anyOf`` made only of refs."""
    branches = node.get("oneOf") or node.get("anyOf") if isinstance(node, dict) else None
    if not isinstance(branches, list) or not branches:
        return None
    refs = [r for b in branches if isinstance(b, dict) and isinstance(r := b.get("$ref"), str)]
    return refs if len(refs) == len(branches) and all(r.startswith("#/") for r in refs) else None


def at(doc: Any, pointer: str) -> Any:
    node = doc
    for part in [p for p in pointer.split("/") if p]:
        part = part.replace("~1", "/").replace("~0", "~")
        node = node.get(part) if isinstance(node, dict) else None
    return node


def message_pointers(doc: Any) -> dict[str, str]:
    """Pointer of each message definition → the name of the union group that lists it."""
    found: dict[str, str] = {}
    seen: set[str] = set()

    def walk(node: Any, group: str) -> None:
        for ref in union_refs(node) or ():
            pointer = ref[1:]
            if pointer in seen:
                continue
            seen.add(pointer)
            target = at(doc, pointer)
            if union_refs(target) is not None:
                walk(target, pointer.rsplit("/", 1)[-1])
            elif isinstance(target, dict):
                found[pointer] = group
    walk(doc, "")
    return found


def flow(pointer: str, group: str) -> Direction:
    """Direction from the group's name, else from a ``client``/``server`` folder in the pointer."""
    for word in (group, *reversed(pointer.split("/")[:-1])):
        if word.split("_")[0] in ("client", "server"):
            return direction_of(word)
    return direction_of(pointer.rsplit("/", 1)[-1])


def message_facts(message: Message) -> set[Fact]:
    out: set[Fact] = set()
    for path, node in message.nodes.items():
        out |= extract(node.description, f"{message.key}#{path}")
    for path, node in message.params.items():
        out |= extract(node.description, f"{message.key}#{path}")
    return out


def _accepts(path: Path, doc: Any) -> bool:
    return (isinstance(doc, dict) and "openapi" not in doc
            and len(message_pointers(doc)) >= MIN_MESSAGES)


@reader("schema-bundle", _accepts)
def read_bundle(path: Path, doc: Any) -> Spec:
    resolver = Resolver()
    resolver.docs[path.resolve()] = doc
    messages: dict[str, Message] = {}
    for pointer, group in message_pointers(doc).items():
        definition = at(doc, pointer)
        key = event_type(definition) or pointer.rsplit("/", 1)[-1]
        messages[key] = Message(key, flow(pointer, group), flatten(definition, path, resolver),
                                f"#{pointer}")
    description = str(doc.get("description", "")).strip()
    facts = extract(description, "")
    for message in messages.values():
        facts |= message_facts(message)
    return Spec("schema-bundle", path, messages, description, str(doc.get("$id", "")),
                frozenset(facts), doc)
