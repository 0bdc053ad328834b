"""Documented examples as fixtures, and how to get a JSON instance out of each one.

Every example printed in a source document is kept verbatim in ``schemas/_examples/*.yaml``
with its provenance (document, section), the schema it claims to follow and, where a provider
speaks that schema in its own dialect, the provider. The raw text stays as published
(placeholders such as ``<BASE64_IMAGE>`` or ``{MIME_TYPE}`` included) so lint can tell whether
the example itself would work. ``extract`` says how to read the instance: ``json`` (the raw is
JSON), ``json-body`` (the ``-d``/``--data-raw`` body of a curl command), ``python-call`` (the
literal keyword arguments of the call named ``target``), ``python-value`` (the literal assigned
to ``target``) or ``transcribed`` (a hand transcription in ``json``, with a ``note`` saying why).
A ``json`` beside another extractor is the fallback checked when the raw does not parse.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from harness.errors import UsageError
from harness.findings import Severity, Source

EXTRACTORS = ("json", "json-body", "python-call", "python-value", "transcribed")
REQUIRED = ("document", "section", "schema", "kind", "raw")
CONTRADICTIONS = "contradictions.yaml"
DOCUMENTS = "documents.yaml"  # how each source document is named to a reader (title, URL)
_CURL_BODY = re.compile(r"(?:--data-raw|--data-binary|--data|-d)\s+'([^']*)'")
_CURL_START = re.compile(r"^\s*curl\s", re.MULTILINE)
_MISSING = object()


@dataclass(frozen=True, slots=True)
class Example:
    """One documented example (a request or response body) with its provenance."""

    file: str
    document: str
    section: str
    schema: str
    kind: str
    raw: str
    provider: str = ""
    extract: str = "json"
    target: str = ""
    note: str = ""
    transcription: Any = None

    @property
    def source(self) -> Source:
        return Source(self.document, self.section)

    @classmethod
    def from_mapping(cls, raw: Any, file: str) -> Example:
        if not isinstance(raw, dict):
            raise UsageError(f"{file}: an example is a mapping of {', '.join(REQUIRED)}...")
        if missing := [k for k in REQUIRED if k not in raw]:
            raise UsageError(f"{file}: missing {', '.join(missing)}")
        if raw.get("extract", "json") not in EXTRACTORS:
            raise UsageError(f"{file}: extract {raw['extract']!r} is not one of {EXTRACTORS}")
        if raw.get("kind") not in ("request", "response"):
            raise UsageError(f"{file}: kind must be request or response")
        if raw.get("extract") == "transcribed" and ("json" not in raw or "note" not in raw):
            raise UsageError(f"{file}: a transcribed example needs `json` and a `note`")
        if raw.get("extract", "").startswith("python") and not raw.get("target"):
            raise UsageError(f"{file}: a python example needs the `target` to read")
        return cls(file=file, **{k: str(raw[k]) for k in REQUIRED},
                   provider=str(raw.get("provider", "")), extract=raw.get("extract", "json"),
                   target=str(raw.get("target", "")), note=str(raw.get("note", "")),
                   transcription=raw.get("json"))


@dataclass(frozen=True, slots=True)
class Extracted:
    """What reading an example's raw text gave: the instance (if any) and what was wrong."""

    instance: Any = _MISSING
    problems: tuple[tuple[Severity, str], ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.instance is not _MISSING


def load_examples(folder: Path) -> list[Example | UsageError]:
    """Every fixture in ``folder``; a malformed one is returned as its error, not raised."""
    out: list[Example | UsageError] = []
    for path in sorted(folder.glob("*.yaml")):
        if path.name in (CONTRADICTIONS, DOCUMENTS):
            continue
        try:
            out.append(Example.from_mapping(yaml.safe_load(path.read_text("utf-8")), path.name))
        except (yaml.YAMLError, UsageError) as exc:
            out.append(exc if isinstance(exc, UsageError) else UsageError(f"{path.name}: {exc}"))
    return out


def extract(example: Example) -> Extracted:
    """Read the instance out of ``example.raw`` as its ``extract`` says."""
    if example.extract == "transcribed":
        return Extracted(example.transcription)
    if example.extract == "json":
        return _json(example.raw, example.raw)
    if example.extract == "json-body":
        return _curl(example.raw)
    return _python(example.raw, example.target, call=example.extract == "python-call")


def _json(text: str, raw: str, what: str = "the example") -> Extracted:
    try:
        return Extracted(json.loads(text))
    except json.JSONDecodeError as exc:
        # Report the line within the whole example, which is what a reader has in front of them.
        line = raw[:raw.find(text)].count("\n") + exc.lineno if text in raw else exc.lineno
        return Extracted(problems=((Severity.ERROR, f"{what} is not valid JSON: {exc.msg} "
                                    f"(line {line} of the example, column {exc.colno})"),))


def _curl(raw: str) -> Extracted:
    bodies = _CURL_BODY.findall(raw)
    if len(bodies) != 1:
        return Extracted(problems=((Severity.ERROR, f"expected one curl -d/--data-raw body, "
                                    f"found {len(bodies)}"),))
    found = _json(bodies[0], raw, "the curl body")
    if not _CURL_START.search(raw):
        return Extracted(found.instance, (*found.problems, (
            Severity.WARNING, "the curl example is truncated: no `curl <URL>` line, so it names "
                              "neither the command nor the endpoint")))
    return found


def _python(raw: str, target: str, call: bool) -> Extracted:
    try:
        tree = ast.parse(raw)
    except SyntaxError as exc:
        return Extracted(problems=((Severity.ERROR, f"the example is not valid Python: {exc.msg} "
                                    f"(line {exc.lineno}, column {exc.offset})"),))
    problems = [(Severity.WARNING, f"uses `{name}` without importing or defining it "
                                   "(NameError when run)") for name in _unbound(tree)]
    for node in ast.walk(tree):
        try:
            if call and isinstance(node, ast.Call) and ast.unparse(node.func) == target:
                args = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
                return Extracted(args, tuple(problems))
            if not call and isinstance(node, ast.Assign) and any(
                    ast.unparse(t) == target for t in node.targets):
                return Extracted(ast.literal_eval(node.value), tuple(problems))
        except ValueError as exc:
            problems.append((Severity.ERROR, f"{target} is given a non-literal value ({exc})"))
            return Extracted(problems=tuple(problems))
    problems.append((Severity.ERROR, f"the example has no {'call to' if call else 'assignment to'}"
                                     f" {target}"))
    return Extracted(problems=tuple(problems))


def _unbound(tree: ast.Module) -> list[str]:
    """Names read but never imported, assigned or built in (a snippet that cannot run)."""
    bound = set(dir(builtins))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            bound.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.FunctionDef | ast.ClassDef):
            bound.add(node.name)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    used = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)]
    return sorted(set(used) - bound)


def document_names(folder: Path) -> dict[str, str]:
    """Source document -> its title. The documents themselves are not in the repository, so
    their capture file names mean nothing to a reader."""
    path = folder / DOCUMENTS
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text("utf-8")) or {}
    return {doc: entry["title"] for doc, entry in data.items()}
