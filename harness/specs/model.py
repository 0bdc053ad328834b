"""The one model every spec reader yields, and the registry that picks a reader for a path.

A :class:`Spec` is a set of :class:`Message` values by name (an event's ``type`` const, an
OpenAPI ``METHOD /path``), each with its flattened schema (:class:`~harness.drift.schema_walk.
Node` per instance pointer), which way it flows, and where in the source it was read; plus the
document's own description and every :class:`~harness.specs.facts.Fact` found in its prose.
Readers register by kind with :func:`reader` and claim a path with their ``accepts`` test;
:func:`harness.specs.read.read_spec` picks one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.drift.schema_diff import Direction
from harness.drift.schema_walk import Node
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
