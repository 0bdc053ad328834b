"""``vlm-harness lint``: check the project's schemas and profiles, and the upstream documents.

A lint run applies every registered rule (:data:`RULES`, each a small function that yields
findings) to one schemas folder, the project's by default. Rules about the project's own files
(``schema-meta``, ``schema-refs``, ``profile``, ``example-fixture``) fail the run on any error;
rules about the providers' documentation (``doc-example``, ``doc-contradiction``) only report,
because a broken upstream example is a finding to show, not a bug of ours. The rules live in
:mod:`harness.lint.schema_rules` and :mod:`harness.lint.doc_rules`, output in
:mod:`harness.lint.render`.
"""

from __future__ import annotations

from pathlib import Path

from harness import schemas
from harness.errors import UnknownNameError, UsageError
from harness.findings import Finding
from harness.lint import doc_rules, schema_rules  # noqa: F401  (importing registers the rules)
from harness.lint.base import RULES, Origin, Rule, SchemaSet, origin_of

__all__ = ["RULES", "Origin", "Rule", "SchemaSet", "command", "exit_code", "lint", "origin_of"]


def lint(schemas_dir: Path | None = None, rules: tuple[str, ...] = ()) -> list[Finding]:
    """Every finding of ``rules`` (default: all) on ``schemas_dir`` (default: the project's)."""
    root = schemas_dir or schemas.schema_root()
    if not root.is_dir():
        raise UsageError(f"--schemas-dir {root}: not a folder")
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
    from harness.lint import render

    findings = lint(schemas_dir)
    if as_json:
        render.as_json(findings)
    else:
        render.table(findings)
    return exit_code(findings)
