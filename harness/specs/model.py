"""The one model every spec reader yields, and the registry that picks a reader for a path.

A :class:`Spec` is a set of :class:`Message` values by name (an event's ``type`` const, an
OpenAPI ``METHOD /path``), each with its flattened schema (:class:`~harness.drift.schema_walk.
Node` per instance pointer), which way it flows, and where in the source it was read; plus the
document's own description and every :class:`~harness.specs.facts.Fact` found in its prose.
Readers register by kind with :func:`reader` and claim a path with their ``accepts`` test;
:func:`read_spec` tries them in registration order, so the most specific comes first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.drift.schema_diff import Direction
from harness.drift.schema_walk import Node
from harness.errors import UsageError
from harness.specs.facts import Fact

PARAMS = "parameters"  # the part of an operation that holds its parameters, as nodes /{in}/{name}


@dataclass(frozen=True, slots=True)
class Message:
    """One message kind (event) or operation; ``nodes`` is what the client sends or receives.

    An operation also has ``params`` (``/query/name`` nodes, required-ness kept) and
    ``responses`` (status → flattened schema, ``None`` when the status has no JSON body).
    """

    key: str
    direction: Direction
    nodes: dict[str, Node]
    pointer: str = ""
    params: dict[str, Node] = field(default_factory=dict)
    responses: dict[str, dict[str, Node] | None] = field(default_factory=dict)

    @property
    def is_operation(self) -> bool:
        return " " in self.key and self.key.split(" ", 1)[0].isupper()


@dataclass(frozen=True, slots=True)
class Spec:
    """A published or project spec, whatever its format."""

    kind: str
    source: Path
    messages: dict[str, Message]
    description: str = ""
    version: str = ""
    facts: frozenset[Fact] = frozenset()
    raw: Any = None  # the parsed document, for the importer


@dataclass(frozen=True, slots=True)
class Reader:
    kind: str
    accepts: Callable[[Path, Any], bool]
    read: Callable[[Path, Any], Spec]


READERS: list[Reader] = []


def reader(kind: str, accepts: Callable[[Path, Any], bool]) -> Callable[
        [Callable[[Path, Any], Spec]], Callable[[Path, Any], Spec]]:
    """Register ``read(path, document)`` for documents ``accepts(path, document)`` claims."""
    def register(fn: Callable[[Path, Any], Spec]) -> Callable[[Path, Any], Spec]:
        if any(r.kind == kind for r in READERS):
            raise ValueError(f"spec reader {kind!r} registered twice")
        READERS.append(Reader(kind, accepts, fn))
        return fn
    return register


def kinds() -> list[str]:
    _load()
    return [r.kind for r in READERS]


def _load() -> None:
    # The readers register themselves on import; importing them here keeps callers to one name.
    from harness.specs import bundle, folder, openapi  # noqa: F401


def read_spec(path: Path, kind: str | None = None) -> Spec:
    """The spec at ``path`` (a file or a folder), read by ``kind`` or by the first that fits."""
    from harness.drift.schema_walk import read_document

    _load()
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    doc = None if path.is_dir() else read_document(path)
    if kind is not None:
        chosen = next((r for r in READERS if r.kind == kind), None)
        if chosen is None:
            from harness.errors import UnknownNameError

            raise UnknownNameError("spec kind", kind, kinds())
        return chosen.read(path, doc)
    for candidate in READERS:
        if candidate.accepts(path, doc):
            return candidate.read(path, doc)
    what = type(doc).__name__ if not isinstance(doc, dict) else (
        f"an object with keys {', '.join(sorted(doc)[:6])}")
    raise UsageError(f"{path}: not a JSON Schema, schema bundle or OpenAPI document ({what})")
