"""Validate one documented example and turn each error into a finding that points somewhere real.

jsonschema reports an error's keyword path through every ``$ref`` it followed, without the
``$ref`` hops, so ``/properties/messages/items/oneOf/1/...`` is not a place in any file.
:func:`locate` replays that path over the schema files and answers the schema file and JSON
pointer where the failing keyword is actually written. :func:`leaves` replaces an ambiguous
anyOf/oneOf error, whose message quotes the whole instance, by the specific errors of the
alternative the example's author evidently meant.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin

from jsonschema.exceptions import ValidationError, relevance

from harness import providers, schemas
from harness.errors import HarnessError
from harness.findings import Finding, Severity
from harness.lint.base import EXAMPLES, SchemaSet, pointer
from harness.lint.examples import Example


def where(file: str) -> tuple[tuple[str, str], ...]:
    """The ``extra`` that names a fixture file."""
    return (("file", f"schemas/{EXAMPLES}/{file}"),)


def overlay_of(example: Example) -> dict[str, Any] | None:
    try:
        return providers.get(example.provider).overlay(example.schema) if example.provider else None
    except HarnessError:  # an unknown provider is example-fixture's finding
        return None


def locate(ss: SchemaSet, name: str, path: list[Any]) -> tuple[str, str]:
    """(schema name, JSON pointer) where the keyword at ``path`` inside ``name`` is written."""
    uri, parts = schemas.uri_of(name), []
    node: Any = ss.documents[name]
    try:
        for part in path:
            while isinstance(node, dict) and part not in node and isinstance(node.get("$ref"),
                                                                             str):
                uri, fragment = urldefrag(urljoin(uri, node["$ref"]))
                node = ss.documents[schemas.name_of(uri)]
                parts = [p.replace("~1", "/").replace("~0", "~") for p in fragment.split("/")[1:]]
                for p in parts:
                    node = node[int(p)] if isinstance(node, list) else node[p]
            node = node[part]
            parts.append(part)
    except (KeyError, IndexError, TypeError, ValueError, HarnessError):
        pass  # a dangling $ref is schema-refs' finding: keep the deepest location found
    return schemas.name_of(uri), pointer(parts)


def leaves(error: ValidationError) -> list[ValidationError]:
    """The specific errors behind ``error``: for anyOf/oneOf, those of the closest alternative.

    The closest alternative is the one whose errors sit deepest in the instance: a branch that
    failed on ``role`` or ``type`` (a discriminator) gives up near the top, the branch the
    author meant fails further in, on the field that is actually wrong. When alternatives tie
    at the error's own location (a URL matching neither pattern), the error itself is kept.
    """
    if not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    depth = {key: min(len(leaf.absolute_path) for sub in subs for leaf in leaves(sub))
             for key, subs in branches.items()}
    best = max(depth.values())
    closest = [key for key, d in depth.items() if d == best]
    if len(closest) > 1 and best == len(error.absolute_path):
        return [error]
    return [leaf for sub in branches[closest[0]] for leaf in leaves(sub)]


def explain(error: ValidationError, limit: int = 300) -> str:
    message = error.message
    if error.context:  # a kept anyOf/oneOf error: say what each alternative wanted
        prefix = f"{error.instance!r} "
        reasons = dict.fromkeys(c.message.removeprefix(prefix) for c in error.context)
        message += f" ({'; '.join(reasons)})"
    return message if len(message) <= limit else message[:limit - 1] + "…"


def findings(ss: SchemaSet, example: Example, instance: Any, note: str = "") -> Iterator[Finding]:
    """One finding per specific validation error of ``instance`` against the example's schema."""
    overlay = overlay_of(example)
    validator = schemas.validator(example.schema, overlay, using=ss.registry)
    for error in sorted(validator.iter_errors(instance), key=relevance):
        for leaf in leaves(error):
            path = list(leaf.absolute_schema_path)
            if overlay and path[:2] == ["allOf", 1]:  # validator() puts the dialect second
                label, at = f"{example.provider} dialect of {example.schema}", pointer(path[2:])
            else:
                label, at = locate(ss, example.schema, path[2:] if overlay else path)
            message = f"{label}: {explain(leaf)}"
            if leaf is not error:  # say which alternative was judged closest
                message += (f" (closest {error.validator} alternative at "
                            f"{pointer(error.absolute_path) or '/'})")
            yield Finding("doc-example", Severity.ERROR, message + note,
                          provider=example.provider, schema_pointer=at,
                          instance_pointer=pointer(leaf.absolute_path), source=example.source,
                          excerpt=example.raw[:200], extra=(*where(example.file), ("schema", label)))
