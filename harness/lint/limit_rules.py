"""Lint rule ``limits``: every limit the mock enforces has a source; the rest are listed.

The mock must never be stricter than the provider, so each limit it refuses requests over (a
maximum, a maximum length or count, an enum, a closed object in a request schema; a media size,
format or count in a profile) must cite the document section that states it. ``limits``
reports, per limit: an *unsourced* one (enforced, nothing cited: the project's error), each
*advisory* one (no document states it: accepted, reported, enforced only by a strict mock) and
each *ambiguous unit* ("10 MB": read as MiB for acceptance, as 10^6 bytes by a strict mock), so
a lint run shows them instead of calling the profiles clean. A limit counts as sourced when
its own node carries ``x-source``; inheriting a prose document's citation from the top of the
file does not count, inheriting a machine-readable schema's does.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness import providers
from harness.errors import HarnessError
from harness.findings import Finding, Severity, Source
from harness.lint.base import Origin, SchemaSet, pointer, rule, walk

# Keywords that refuse a request the provider might accept: upper bounds and closed sets.
LIMIT_KEYWORDS = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "enum")
# A source whose every keyword is the document's own (a published JSON Schema), not prose.
MACHINE_READABLE = ("minicpm-o-realtime/",)


def request_schemas(ss: SchemaSet) -> list[str]:
    """Every schema the mock validates requests against, in the folder being linted."""
    names: set[str] = set()
    for name in providers.known():
        try:
            profile = providers.get(name)
        except HarnessError:
            continue  # the profile rule reports it
        for api in profile.apis:
            names.update(op.request for op in api.operations() if op.request)
            names.update(rev.client for rev in api.protocol.revisions.values())
    return sorted(n for n in names if n in ss.documents)


def _limits(node: dict[str, Any]) -> list[tuple[str, Any]]:
    found = [(k, node[k]) for k in LIMIT_KEYWORDS if k in node]
    if node.get("additionalProperties") is False:
        found.append(("additionalProperties", False))
    return found


def _finding(severity: Severity, message: str, file: str, at: str,
             source: Source | None = None, provider: str = "") -> Finding:
    # The file is a field, not part of the message: a copy of the folder lints alike.
    return Finding("limits", severity, message, provider=provider,
                   schema_pointer=at, source=source, extra=(("file", file),))


def _schema_limits(ss: SchemaSet, name: str) -> Iterator[Finding]:
    file = ss.display(name)
    doc = ss.documents[name]
    sources: dict[tuple[Any, ...], Source | None] = {}
    for parts, node in walk(doc):
        if not isinstance(node, dict):
            continue
        own = Source.from_schema(node)
        sources[parts] = own
        at = pointer(parts)
        advisory = node.get("x-advisory")
        if isinstance(advisory, dict):
            for keyword, bound in (advisory.get("limits") or {}).items():
                yield _finding(Severity.WARNING, f"advisory limit {keyword} {bound!r} at {at or '/'}"
                               f" (no document states it: {advisory.get('why', 'no reason given')});"
                               " accepted and reported, enforced only with --strict",
                               file, f"{at}/x-advisory/limits/{keyword}")
        if "x-advisory" in parts:
            continue  # the advisory's own limits, reported above
        for keyword, bound in _limits(node):
            inherited = next((sources[parts[:i]] for i in range(len(parts), -1, -1)
                              if sources.get(parts[:i])), None)
            if own is None and not (inherited and inherited.document.startswith(MACHINE_READABLE)):
                yield _finding(Severity.ERROR, f"unsourced limit {keyword} {bound!r} at {at or '/'}"
                               ": cite the document that states it (x-source on this node) or "
                               "make it advisory (x-advisory)", file, f"{at}/{keyword}", inherited)


def _profile_limits(name: str) -> Iterator[Finding]:
    file = f"harness/providers/{name}.yaml"
    try:
        profile = providers.get(name)
    except HarnessError:
        return  # the profile rule reports it
    for note in profile.media.notes:
        at = f"/limits/{note.kind}/{note.name}"
        what = f"{note.kind}.{note.name} {note.value!r}"
        if note.unsourced:
            yield _finding(Severity.ERROR, f"unsourced limit {what}: cite it under x-source or "
                           "explain it under x-advisory", file, at, provider=name)
        elif note.advisory:
            yield _finding(Severity.WARNING, f"advisory limit {what} ({note.advisory}); accepted "
                           "and reported, enforced only with --strict", file, at, provider=name)
        if note.stated is not None:
            yield _finding(Severity.WARNING, f"ambiguous unit: {what} is the document's "
                           f"{note.stated!r} read as binary megabytes; --strict reads it as "
                           f"{note.strict:,} bytes", file, at, note.source, provider=name)


@rule("limits", Origin.PROJECT)
def limits(ss: SchemaSet) -> Iterator[Finding]:
    """Every enforced limit cites its source; each advisory limit and ambiguous unit is listed."""
    for name in request_schemas(ss):
        yield from _schema_limits(ss, name)
    for name in providers.known():
        yield from _profile_limits(name)
