"""``vlm-harness lint``: check the project's schemas and profiles, and the upstream documents.

A lint run applies every registered rule (:data:`RULES`, each a small function that yields
findings) to one schemas folder, the project's by default. Rules about the project's own files
(``schema-meta``, ``schema-refs``, ``profile``, ``example-fixture``) fail the run on any error;
rules about the providers' documentation (``doc-example``, ``doc-contradiction``) only report,
because a broken upstream example is a finding to show, not a bug of ours. The rules live in
:mod:`harness.lint.schema_rules` and :mod:`harness.lint.doc_rules`; this module runs them and
shows the result as a rich table (where: the file for the project's own files, ``document §
section`` for upstream ones) with a summary line, or as JSON (``Finding.to_dict()`` plus
``origin``).
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
from harness.lint.base import RULES, Origin, Rule, SchemaSet, origin_of

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


def exit_code(findings: list[Finding]) -> int:
    """1 when an error concerns the project's own files; upstream errors alone give 0."""
    return int(any(f.is_error and origin_of(f) is Origin.PROJECT for f in findings))


def command(as_json: bool, schemas_dir: Path | None) -> int:
    """The body of ``vlm-harness lint``: run, print (table or JSON), return the exit status."""
    findings = lint(schemas_dir)
    if as_json:
        data = [{**f.to_dict(), "origin": origin_of(f).value} for f in findings]
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    else:
        table(findings)
    return exit_code(findings)


STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "dim"}


def where(finding: Finding) -> str:
    extra = dict(finding.extra)
    if origin_of(finding) is Origin.PROJECT and "file" in extra:
        return extra["file"]
    return str(finding.source) if finding.source else extra.get("file", "")


def pointers(finding: Finding) -> str:
    parts = []
    if finding.instance_pointer or (finding.check == "doc-example" and finding.schema_pointer):
        parts.append(f"at {finding.instance_pointer or '/'}")
    if finding.schema_pointer:
        parts.append(f"schema {finding.schema_pointer}")
    return "\n".join(parts)


def summary(findings: list[Finding]) -> str:
    by_severity = Counter(f.severity for f in findings)
    by_rule = Counter(f.check for f in findings)
    fatal = sum(f.is_error and origin_of(f) is Origin.PROJECT for f in findings)
    counts = ", ".join(f"{by_severity[s]} {s.value}" for s in Severity)
    rules = ", ".join(f"{name} {n}" for name, n in sorted(by_rule.items()))
    verdict = (f"{fatal} error(s) in the project's own schemas/profiles" if fatal else
               "the project's own schemas and profiles are clean; the rest is upstream")
    return f"{len(findings)} findings ({counts}; {rules or 'none'}): {verdict}"


def table(findings: list[Finding], console: Console | None = None) -> None:
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
        grid.add_row(Text(f.severity.value, style=STYLE[f.severity]), Text(f.check),
                     Text(where(f)), Text(pointers(f)), Text(f.message))
    if findings:
        console.print(grid)
    console.print(Text(summary(findings)))
