"""The lint rule registry and the folder of schemas a lint run looks at.

Rules are small named functions that *yield* findings, registered by name the way schemathesis
registers checks (a duplicate name is refused). Each rule also says whom its findings blame:
the project (its own schemas, profiles and fixtures: an error there fails ``vlm-harness lint``)
or an upstream document (reported, never fatal). :class:`SchemaSet` reads a schemas folder once,
keeps files that do not parse aside instead of raising, and builds its own reference registry,
so lint can run on any copy of the folder, not only on the cached project schemas.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from types import MappingProxyType
from typing import Any

import referencing

from harness import schemas
from harness.findings import Finding

EXAMPLES = "_examples"


class Origin(str, Enum):
    """Whose fault a finding is: the project's files, or a provider's documentation."""

    PROJECT = "project"
    UPSTREAM = "upstream"


@dataclass(frozen=True, slots=True)
class SchemaSet:
    """Every schema file under ``root``: parsed documents, unreadable files, one registry."""

    root: Path
    documents: Mapping[str, Any]
    unreadable: Mapping[str, json.JSONDecodeError]
    registry: referencing.Registry

    @classmethod
    def read(cls, root: Path) -> SchemaSet:
        documents: dict[str, Any] = {}
        unreadable: dict[str, json.JSONDecodeError] = {}
        for name in schemas.names(True, root):
            if name.startswith(f"{EXAMPLES}/"):  # fixtures, not schemas
                continue
            try:
                documents[name] = json.loads(cls.file(root, name).read_text(encoding="utf-8"))
            except json.JSONDecodeError as exc:
                unreadable[name] = exc
        return cls(root, MappingProxyType(documents), MappingProxyType(unreadable),
                   schemas.registry_of(documents))

    @staticmethod
    def file(root: Path, name: str) -> Path:
        return root / f"{name}.json"

    def path(self, name: str) -> Path:
        return self.file(self.root, name)

    def display(self, name: str) -> str:
        """The file of ``name`` as a reader would type it (relative to the cwd when inside)."""
        path = self.path(name).resolve()
        try:
            return path.relative_to(Path.cwd()).as_posix()
        except ValueError:
            return path.as_posix()

    def __contains__(self, name: object) -> bool:
        return name in self.documents or name in self.unreadable

    @property
    def examples(self) -> Path:
        return self.root / EXAMPLES


RuleFn = Callable[[SchemaSet], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    origin: Origin
    run: RuleFn
    summary: str


RULES: dict[str, Rule] = {}


def rule(name: str, origin: Origin) -> Callable[[RuleFn], RuleFn]:
    """Register ``fn`` as lint rule ``name``; its docstring's first line is its summary."""

    def register(fn: RuleFn) -> RuleFn:
        if name in RULES:
            raise ValueError(f"lint rule {name!r} is already registered")
        summary = (fn.__doc__ or name).strip().splitlines()[0]
        RULES[name] = Rule(name, origin, fn, summary)
        return fn

    return register


def origin_of(finding: Finding) -> Origin:
    return RULES[finding.check].origin


def pointer(parts: Iterable[Any]) -> str:
    """A JSON pointer (RFC 6901) from path parts; ``""`` is the whole document."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def walk(node: Any, parts: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
    """Every (path, node) pair of a JSON document, depth first, the root included."""
    yield parts, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*parts, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*parts, index))
