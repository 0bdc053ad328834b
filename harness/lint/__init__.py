"""``vlm-harness lint``: check the project's schemas and profiles, and the upstream documents.

A lint run applies every registered rule (:data:`RULES`, each a small function that yields
findings) to one schemas folder, the project's by default. Rules about the project's own files
(``schema-meta``, ``schema-refs``, ``profile``, ``example-fixture``) fail the run on any error;
rules about the providers' documentation (``doc-example``, ``doc-contradiction``) only report,
because a broken upstream example is a finding to show, not a bug of ours. The rules live in
:mod:`harness.lint.schema_rules` and :mod:`harness.lint.doc_rules`; this module runs them and
shows the result as a rich table (where: the file for the project's own files, ``document §
section`` for upstream ones, the document named by title and URL from
``schemas/_examples/documents.yaml``) with a summary line, or as JSON (``Finding.to_dict()``
plus ``origin`` and ``where``). Upstream problems are labelled ``upstream-defect``, never
``error``: they cannot fail the run, and the labels match the exit status.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness import schemas
from harness.errors import UnknownNameError, UsageError
from harness.findings import Finding, Severity
from harness.lint import doc_rules, limit_rules, schema_rules  # noqa: F401  (importing registers the rules)
from harness.lint.base import EXAMPLES, RULES, Origin, Rule, SchemaSet, origin_of
from harness.lint.examples import document_names

__all__ = ["RULES", "Origin", "Rule", "SchemaSet", "command", "exit_code", "lint", "origin_of"]


def lint(schemas_dir: Path | None = None, rules: tuple[str, ...] = ()) -> list[Finding]:
    """Every finding of ``rules`` (default: all) on ``schemas_dir`` (default: the project's)."""
    root = schemas_dir or schemas.schema_root()
    if not root.is_dir():
        raise UsageError(f"--schemas-dir {root}: not a folder")
    if not any(root.glob("*/*.json")):  # a wrong folder, not 76 findings about missing schemas
        raise UsageError(f"--schemas-dir {root}: holds no <protocol>/<kind>.json schemas")
    for name in rules:
        if name not in RULES:
            raise UnknownNameError("lint rule", name, RULES)
    ss = SchemaSet.read(root)
    chosen = sorted(rules or RULES, key=lambda name: RULES[name].origin is not Origin.PROJECT)
    return [f for name in chosen for f in RULES[name].run(ss)]


# The words lint shows for a finding: an upstream document's problem never reads as "error",
# since it cannot fail the run (exit status 0); only the project's own errors are errors.
UPSTREAM_LABEL = {Severity.ERROR: "upstream-defect", Severity.WARNING: "warning",
                  Severity.INFO: "info"}


def label(finding: Finding) -> str:
    if origin_of(finding) is Origin.UPSTREAM:
        return UPSTREAM_LABEL[finding.severity]
    return finding.severity.value


def exit_code(findings: list[Finding]) -> int:
    """1 when an error concerns the project's own files; upstream errors alone give 0."""
    return int(any(f.is_error and origin_of(f) is Origin.PROJECT for f in findings))


def command(as_json: bool, schemas_dir: Path | None) -> int:
    """The body of ``vlm-harness lint``: run, print (table or JSON), return the exit status."""
    findings = lint(schemas_dir)
    names = document_names((schemas_dir or schemas.schema_root()) / EXAMPLES)
    if as_json:
        data = [{**f.to_dict(), "severity": label(f), "origin": origin_of(f).value,
                 "where": where(f, names)} for f in findings]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        table(findings, names=names)
    return exit_code(findings)


STYLE = {"error": "bold red", "upstream-defect": "magenta", "warning": "yellow", "info": "dim"}


def where(finding: Finding, names: dict[str, str] | None = None) -> str:
    """The project file at fault, or the upstream document § section (by title and URL)."""
    extra = dict(finding.extra)
    if origin_of(finding) is Origin.PROJECT and "file" in extra:
        return extra["file"]
    if finding.source:
        doc = (names or {}).get(finding.source.document, finding.source.document)
        if finding.source.public_url:
            doc += f" <{finding.source.public_url}>"
        return f"{doc} § {finding.source.section}" if finding.source.section else doc
    return extra.get("file", "")


def pointers(finding: Finding) -> str:
    parts = []
    if finding.instance_pointer or (finding.check == "doc-example" and finding.schema_pointer):
        parts.append(f"at {finding.instance_pointer or '/'}")
    if finding.schema_pointer:
        parts.append(f"schema {finding.schema_pointer}")
    return "\n".join(parts)


def summary(findings: list[Finding]) -> str:
    by_label = Counter(label(f) for f in findings)
    by_rule = Counter(f.check for f in findings)
    fatal = sum(f.is_error and origin_of(f) is Origin.PROJECT for f in findings)
    counts = ", ".join(f"{by_label[name]} {name}" for name in STYLE)
    rules = ", ".join(f"{name} {n}" for name, n in sorted(by_rule.items()))
    verdict = (f"{fatal} error(s) in the project's own schemas/profiles" if fatal else
               "the project's own schemas and profiles are clean; the rest is upstream")
    return f"{len(findings)} findings ({counts}; {rules or 'none'}): {verdict}"


def table(findings: list[Finding], console: Console | None = None,
          names: dict[str, str] | None = None) -> None:
    console = console or Console()
    grid = Table(expand=True)
    grid.add_column("severity", no_wrap=True)
    grid.add_column("rule", no_wrap=True)
    grid.add_column("document § section / file", ratio=2, overflow="fold")
    grid.add_column("pointer", ratio=2, overflow="fold")
    grid.add_column("message", ratio=5, overflow="fold")
    ordered = sorted(findings, key=lambda f: (origin_of(f) is not Origin.PROJECT,
                                             -f.severity.rank))
    for f in ordered:
        # Text, not markup: messages quote regexes such as [^\s/?#] that rich would parse.
        grid.add_row(Text(label(f), style=STYLE[label(f)]), Text(f.check),
                     Text(where(f, names)), Text(pointers(f)), Text(f.message))
    if findings:
        console.print(grid)
    console.print(Text(summary(findings)), soft_wrap=True)
