"""How lint findings are shown: a rich table for people, a JSON array for machines.

The table has one row per finding (severity, rule, where: the file for the project's own files
or ``document § section`` for upstream ones, pointers, message) and a summary line that
separates what fails the run (errors in the project's files) from what only describes the
documents. The JSON form is ``Finding.to_dict()`` plus an ``origin`` field.
"""

from __future__ import annotations

import json
import sys
from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from harness.findings import Finding, Severity
from harness.lint.base import Origin, origin_of

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


def as_json(findings: list[Finding]) -> None:
    data = [{**f.to_dict(), "origin": origin_of(f).value} for f in findings]
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")
