"""``vlm-harness import SPEC --protocol NAME``: a published spec in our layout.

:mod:`~harness.specs.layout` decides the files (one per message or component schema, each
with its ``$id`` and an ``x-source`` naming the spec's URL or file, version and pointer).
Files are written to a scratch folder first, so the migration guide against the schemas
they replace (``schemas/<protocol>[/<revision>]``) is computed before anything is touched. A
file there that was not derived from the same spec (a hand-made overlay, a dialect) is never
overwritten, and a provider dialect overlay that constrains a field the import no longer has is
listed: both are conflicts, and the exit status says so.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness.drift.classify import Change
from harness.specs.layout import layout
from harness.specs.read import read_spec


@dataclass(slots=True)
class Imported:
    """What an import wrote, what it left alone and why, and the guide against the old files."""

    written: list[Path] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)


def derived_from(path: Path, document: str) -> bool:
    """Whether the file at ``path`` was made from the same published document (by file name)."""
    try:
        source = json.loads(path.read_text(encoding="utf-8")).get("x-source") or {}
    except (OSError, ValueError, AttributeError):
        return False
    theirs = str(source.get("document", "")) if isinstance(source, dict) else ""

    def name(doc: str) -> tuple[str, str]:  # fal's per-app documents differ by query only
        parts = urlsplit(doc)
        return Path(parts.path).name, parts.query
    return bool(theirs) and name(theirs) == name(document)


def dialect_conflicts(name: str, files: dict[str, dict[str, Any]]) -> list[str]:
    from harness import providers

    out = []
    for profile in providers.all_profiles():
        for schema, overlay in profile.dialect.items():
            file = f"{schema.removeprefix(name + '/')}.json"
            if not schema.startswith(f"{name}/") or file not in files:
                continue
            known = set(files[file].get("properties") or {})
            for prop in sorted(set((overlay or {}).get("properties") or {}) - known):
                out.append(f"harness/providers/{profile.name}.yaml: dialect overlay of {schema} "
                           f"constrains {prop!r}, which the imported schema no longer has")
    return out


def import_spec(spec_path: Path, name: str, dest: Path, replaced: Path,
                document: str) -> Imported:
    """Import the bundle at ``spec_path`` as schemas ``name`` into ``dest``."""
    from harness.specs.migration import diff_specs

    files = layout(read_spec(spec_path), name, document)
    result = Imported(conflicts=dialect_conflicts(name, files))
    with tempfile.TemporaryDirectory(prefix="vlm-import-") as scratch:
        for file, schema in files.items():
            (Path(scratch) / file).write_text(json.dumps(schema, indent=2, ensure_ascii=False)
                                              + "\n", encoding="utf-8")
        if replaced.is_dir():
            result.changes = diff_specs(read_spec(replaced), read_spec(Path(scratch)),
                                        provenance=False)
        dest.mkdir(parents=True, exist_ok=True)
        for file in sorted(files):
            target = dest / file
            if target.exists() and not derived_from(target, document):
                result.conflicts.append(f"{target}: not derived from {document} (hand-made "
                                        "overlay or dialect?); left as it is")
                continue
            shutil.copyfile(Path(scratch) / file, target)
            result.written.append(target)
    return result


def markdown(changes: list[Change], title: str) -> str:
    """The migration guide as Markdown, grouped like the terminal guide."""
    from harness.drift.guide import GROUPS, line, summary

    lines = [f"# {title}", "", ", ".join(f"{n} {k}" for k, n in summary(changes).items()), ""]
    if not changes:
        lines.append("No changes: nothing to migrate.")
    for kind, heading, _, _ in GROUPS:
        group = [c for c in changes if c.kind is kind]
        if group:
            lines += [f"## {heading}: {len(group)}", "", *(f"- {line(c)}" for c in group), ""]
    return "\n".join(lines).rstrip() + "\n"


def command(spec: str, protocol: str, revision: str | None, output: Path | None,
            reports_dir: Path, schemas_dir: Path | None = None) -> int:
    """The body of ``vlm-harness import``: 0 when everything was written, 1 on conflicts."""
    from rich.console import Console

    from harness import protocols, schemas
    from harness.drift import guide
    from harness.errors import UnknownNameError
    from harness.specs.docs import fetch_to

    if protocol not in protocols.known():
        raise UnknownNameError("protocol (--protocol)", protocol, protocols.known())
    known_revisions = sorted(protocols.load(protocol).revisions)
    if revision is not None and known_revisions and revision not in known_revisions:
        raise UnknownNameError(f"revision of {protocol} (--revision)", revision, known_revisions)
    name = f"{protocol}/{revision}" if revision else protocol
    replaced = (schemas_dir or schemas.schema_root()) / name
    with tempfile.TemporaryDirectory(prefix="vlm-spec-") as tmp:
        path, document = fetch_to(spec, Path(tmp))
        result = import_spec(path, name, output or replaced, replaced, document)
    title = f"Import of {document} as {name}: changes against {replaced}"
    reports_dir.mkdir(parents=True, exist_ok=True)
    report = reports_dir / f"import-{name.replace('/', '-')}.md"
    report.write_text(markdown(result.changes, title), encoding="utf-8")
    console = Console(soft_wrap=True, highlight=False)
    guide.render(result.changes, console, title)
    console.print(f"\nwrote {len(result.written)} file(s) to {output or replaced}; "
                  f"guide in {report}")
    for conflict in result.conflicts:
        console.print(f"[bold yellow]conflict:[/] {conflict}")
    return 1 if result.conflicts else 0
