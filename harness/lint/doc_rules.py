"""Lint rules about the source documents: their examples and their contradictions.

``doc-example`` reads each documented example out of its fixture and validates it against the
schema it claims to follow, with the provider's dialect overlay applied; an example that does
not parse, or does not validate, is the document's fault, so these findings never fail a lint
run. ``doc-contradiction`` reports the curated list of contradictions that no single example
shows. ``example-fixture`` is the project-side counterpart: a malformed fixture, one citing an
unknown schema or provider, or a transcription that drifted from its raw text is our error.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import yaml

from harness import providers
from harness.errors import HarnessError, UsageError
from harness.findings import Finding, Severity, Source
from harness.lint import validate
from harness.lint.base import Origin, SchemaSet, rule
from harness.lint.examples import CONTRADICTIONS, Example, extract, load_examples

ENTRY_KEYS = {"document", "section", "message", "severity", "related"}


@rule("doc-example", Origin.UPSTREAM)
def doc_example(ss: SchemaSet) -> Iterator[Finding]:
    """Every documented example parses and validates against the schema it claims to follow."""
    for example in load_examples(ss.examples):
        if isinstance(example, UsageError) or example.schema not in ss.documents:
            continue  # example-fixture reports these
        got = extract(example)
        for severity, message in got.problems:
            yield Finding("doc-example", severity, message, provider=example.provider,
                          source=example.source, excerpt=example.raw[:200],
                          extra=validate.where(example.file))
        if got.ok:
            yield from validate.findings(ss, example, got.instance)
        elif example.transcription is not None:
            yield from validate.findings(ss, example, example.transcription,
                                         " [checked on the fixture's repaired transcription]")


@rule("example-fixture", Origin.PROJECT)
def example_fixture(ss: SchemaSet) -> Iterator[Finding]:
    """Every example fixture is well-formed, cites what exists and transcribes faithfully."""

    def bad(where: Example | str, message: str) -> Finding:
        file = where.file if isinstance(where, Example) else where
        return Finding("example-fixture", Severity.ERROR, message, extra=validate.where(file))

    for example in load_examples(ss.examples):
        if isinstance(example, UsageError):
            yield bad(str(example).split(":", 1)[0], str(example))
            continue
        if example.schema not in ss:
            yield bad(example, f"{example.file}: schema {example.schema!r} does not exist")
        if example.provider:
            try:
                prof = providers.get(example.provider)
            except HarnessError as exc:
                yield bad(example, f"{example.file}: {exc}")
            else:
                if not prof.speaks(example.schema.split("/", 1)[0]):
                    yield bad(example, f"{example.file}: {example.provider} does not speak "
                                       f"{example.schema.split('/', 1)[0]}")
        if example.extract != "transcribed" and example.transcription is not None:
            got = extract(example)
            if got.ok and got.instance != example.transcription:
                yield bad(example, f"{example.file}: `json` differs from what the raw text "
                                   "gives; it is only meant as a repair of unparseable raw")
    yield from _entry_problems(ss, bad)


def _entries(ss: SchemaSet) -> list[Any]:
    path = ss.examples / CONTRADICTIONS
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or []) if path.is_file() else []


def _entry_problems(ss: SchemaSet, bad: Any) -> Iterator[Finding]:
    try:
        entries = _entries(ss)
    except yaml.YAMLError as exc:
        yield bad(CONTRADICTIONS, f"{CONTRADICTIONS}: {exc}")
        return
    for index, entry in enumerate(entries if isinstance(entries, list) else [entries]):
        if (not isinstance(entry, dict) or not {"document", "message"} <= entry.keys()
                or not entry.keys() <= ENTRY_KEYS
                or entry.get("severity", "warning") not in {s.value for s in Severity}):
            yield bad(CONTRADICTIONS, f"{CONTRADICTIONS}: entry {index} needs document, "
                                      f"message and only {sorted(ENTRY_KEYS)}, with a severity "
                                      "of error, warning or info")


@rule("doc-contradiction", Origin.UPSTREAM)
def doc_contradiction(ss: SchemaSet) -> Iterator[Finding]:
    """The curated contradictions between (or inside) documents that no example shows."""
    try:
        entries = _entries(ss)
    except yaml.YAMLError:
        return  # example-fixture reports it
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or not {"document", "message"} <= entry.keys():
            continue
        try:
            severity = Severity(entry.get("severity", "warning"))
        except ValueError:
            continue
        related = Source.from_schema({"x-source": entry.get("related")})
        yield Finding("doc-contradiction", severity, str(entry["message"]).strip(),
                      source=Source(str(entry["document"]), str(entry.get("section", ""))),
                      extra=(("related", str(related)),) if related else ())
