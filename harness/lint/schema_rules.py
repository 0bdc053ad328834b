"""Lint rules about the project's own files: schemas, references and provider profiles.

``schema-meta`` checks that each schema file parses, is a valid draft-07 schema and also a valid
2020-12 one (OpenAPI 3.1 embeds schemas in that dialect, so a draft-07-only construct would
break the generated documents), and carries its ``$id`` and ``x-source``. ``schema-refs``
resolves every ``$ref`` through the folder's own registry. ``profile`` loads every provider
profile and checks that each schema it or its protocols cite exists in the folder being linted.
Every finding names the file and the JSON pointer of the keyword at fault.
"""

from __future__ import annotations

from collections.abc import Iterator

import jsonschema
import referencing.exceptions
from jsonschema.exceptions import ValidationError, best_match

from harness import providers, schemas
from harness.errors import HarnessError
from harness.findings import Finding, Severity, Source
from harness.lint.base import Origin, SchemaSet, pointer, rule, walk

META = (("draft-07", jsonschema.Draft7Validator),
        ("2020-12 (OpenAPI 3.1)", jsonschema.Draft202012Validator))


def _finding(check: str, schemas_: SchemaSet, name: str, at: str, message: str,
             source: Source | None = None) -> Finding:
    file = schemas_.display(name)
    return Finding(check=check, severity=Severity.ERROR, message=f"{file}: {message}",
                   schema_pointer=at, source=source, extra=(("file", file),))


def _explain(error: ValidationError) -> str:
    """The error's message, plus why each alternative failed for anyOf/oneOf."""
    best = best_match([error])
    reasons = sorted({c.message for c in best.context})
    return best.message + (f" ({'; '.join(reasons)})" if reasons else "")


@rule("schema-meta", Origin.PROJECT)
def schema_meta(ss: SchemaSet) -> Iterator[Finding]:
    """Every schema parses, meta-validates, and carries its $id and x-source."""
    for name, exc in ss.unreadable.items():
        yield _finding("schema-meta", ss, name, "",
                       f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})")
    for name, doc in ss.documents.items():
        if not isinstance(doc, dict):
            yield _finding("schema-meta", ss, name, "", "a schema file must hold a JSON object")
            continue
        source = Source.from_schema(doc)
        seen: set[str] = set()
        for dialect, cls in META:
            for error in cls(cls.META_SCHEMA).iter_errors(doc):
                at = pointer(error.absolute_path)
                if at not in seen:  # one finding per bad keyword, not one per dialect
                    seen.add(at)
                    yield _finding("schema-meta", ss, name, at,
                                   f"invalid {dialect} schema at {at or '/'}: {_explain(error)}",
                                   source)
        if doc.get("$id") != schemas.uri_of(name):
            yield _finding("schema-meta", ss, name, "/$id",
                           f"$id is {doc.get('$id')!r}, expected {schemas.uri_of(name)!r} "
                           "(relative $ref resolve against it)", source)
        if source is None:
            yield _finding("schema-meta", ss, name, "/x-source",
                           "no x-source {document, section}: every promise needs its provenance")


@rule("schema-refs", Origin.PROJECT)
def schema_refs(ss: SchemaSet) -> Iterator[Finding]:
    """Every $ref resolves, within the file or across files of the same folder."""
    for name, doc in ss.documents.items():
        resolver = ss.registry.resolver(base_uri=schemas.uri_of(name))
        for parts, node in walk(doc):
            ref = node.get("$ref") if isinstance(node, dict) else None
            if not isinstance(ref, str):
                continue
            at = pointer((*parts, "$ref"))
            try:
                resolver.lookup(ref)
            except referencing.exceptions.Unresolvable as exc:
                yield _finding("schema-refs", ss, name, at,
                               f"$ref {ref!r} at {at} does not resolve ({type(exc).__name__})",
                               Source.from_schema(doc))


def _cited(profile: providers.Profile) -> Iterator[tuple[str, str]]:
    """(what, schema name) for every schema a profile relies on, its protocols' included."""
    for api in profile.apis:
        proto = api.protocol
        if proto.error:
            yield f"{proto.name} error body", proto.error
        for rev in proto.revisions.values():
            yield f"{proto.name} revision {rev.name}", rev.client
            yield f"{proto.name} revision {rev.name}", rev.server
        for op in api.operations():
            for ref in filter(None, (op.request, op.endpoint.stream,
                                     *op.endpoint.responses.values())):
                yield op.key, ref
    for ref in profile.dialect:
        yield "dialect", ref


@rule("profile", Origin.PROJECT)
def profile(ss: SchemaSet) -> Iterator[Finding]:
    """Every provider profile loads, passes its cross-checks and cites existing schemas."""
    for name in providers.known():
        where = Source(f"harness/providers/{name}.yaml")
        try:
            prof = providers.get(name)
        except HarnessError as exc:
            yield Finding("profile", Severity.ERROR, str(exc), provider=name, source=where)
            continue
        problems = dict.fromkeys(providers.profile_problems(prof))
        # profile_problems knows only the installed schemas (and not the protocols' error and
        # revision schemas): the folder being linted is checked here, same wording, deduplicated.
        for what, ref in _cited(prof):
            if ref not in ss:
                problems.setdefault(f"{name}: dialect overlays missing schema {ref!r}"
                                    if what == "dialect" else
                                    f"{name}: {what} cites missing schema {ref!r}")
        for message in problems:
            yield Finding("profile", Severity.ERROR, message, provider=name, source=where)
