"""Read any spec: the registered readers, tried in order, the most specific first.

Importing the reader modules here (not in :mod:`~harness.specs.model`, which they import to
register) keeps the package free of import cycles: model ← readers ← read.
"""

from __future__ import annotations

from pathlib import Path

from harness.drift.schema_walk import read_document
from harness.errors import UnknownNameError, UsageError

# Imported for their registrations; the order of registration is the order of trial (a bundle
# before a plain schema, which in turn refuses OpenAPI documents).
from harness.specs import bundle, folder, openapi  # noqa: F401
from harness.specs.model import READERS, Spec


def kinds() -> list[str]:
    return [r.kind for r in READERS]


def read_spec(path: Path, kind: str | None = None) -> Spec:
    """The spec at ``path`` (a file or a folder), read by ``kind`` or by the first that fits."""
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    doc = None if path.is_dir() else read_document(path)
    if kind is not None:
        chosen = next((r for r in READERS if r.kind == kind), None)
        if chosen is None:
            raise UnknownNameError("spec kind", kind, kinds())
        return chosen.read(path, doc)
    for candidate in READERS:
        if candidate.accepts(path, doc):
            return candidate.read(path, doc)
    what = type(doc).__name__ if not isinstance(doc, dict) else (
        f"an object with keys {', '.join(sorted(doc)[:6])}")
    raise UsageError(f"{path}: not a JSON Schema, schema bundle or OpenAPI document ({what})")
