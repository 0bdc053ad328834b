"""Media limits with provenance: which a document states, which are only advisory.

A profile's ``limits.<kind>`` mapping holds the limit values plus three annotations:
``x-source`` (limit -> the document section that states it), ``x-advisory`` (limit -> why no
document does) and ``x-units`` (limit -> the stated text, e.g. "10 MB", and its strict reading
in bytes). :func:`policy` splits them into what the mock enforces by default (sourced limits,
ambiguous units read leniently), what it only reports (advisory limits, and the strict reading
of an ambiguous unit) and what ``--strict`` enforces (everything, units read strictly). Lint
lists each advisory limit and each ambiguous unit from :attr:`MediaPolicy.notes`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from harness.findings import Source
from harness.media import MediaLimits

FIELDS = ("max_bytes", "max_base64_chars", "formats", "max_count")


@dataclass(frozen=True, slots=True)
class LimitNote:
    """One limit of one media kind, with where it comes from (or why nothing states it)."""

    kind: str
    name: str
    value: Any
    source: Source | None = None
    advisory: str | None = None  # why it is advisory; None when a document states it
    stated: str | None = None  # the document's ambiguous wording ("10 MB")
    strict: int | None = None  # the strict reading of ``stated``

    @property
    def unsourced(self) -> bool:
        return self.source is None and self.advisory is None


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    lenient: Mapping[str, MediaLimits]  # enforced by default
    advisory: Mapping[str, MediaLimits]  # reported (header, warning), never refused by default
    strict: Mapping[str, MediaLimits]  # enforced with --strict
    notes: tuple[LimitNote, ...]

    def enforced(self, strict: bool) -> Mapping[str, MediaLimits]:
        return self.strict if strict else self.lenient


def _notes(kind: str, raw: Mapping[str, Any]) -> list[LimitNote]:
    sources, advisory = raw.get("x-source") or {}, raw.get("x-advisory") or {}
    units = raw.get("x-units") or {}
    return [LimitNote(kind, name, raw[name], Source.from_schema({"x-source": sources.get(name)}),
                      advisory.get(name), (units.get(name) or {}).get("stated"),
                      (units.get(name) or {}).get("strict"))
            for name in FIELDS if raw.get(name) is not None]


def policy(raw_limits: Mapping[str, Mapping[str, Any]]) -> MediaPolicy:
    """Split a profile's ``limits`` mapping by provenance (see the module docstring)."""
    lenient: dict[str, MediaLimits] = {}
    advisory: dict[str, MediaLimits] = {}
    strict: dict[str, MediaLimits] = {}
    notes: list[LimitNote] = []
    for kind, raw in raw_limits.items():
        kind_notes = _notes(kind, raw)
        notes.extend(kind_notes)
        lenient[kind] = MediaLimits.from_mapping(
            {n.name: n.value for n in kind_notes if n.advisory is None})
        advisory[kind] = MediaLimits.from_mapping(
            {n.name: n.value if n.advisory else n.strict for n in kind_notes
             if n.advisory or n.strict is not None})
        strict[kind] = MediaLimits.from_mapping(
            {n.name: n.strict if n.strict is not None else n.value for n in kind_notes})
    return MediaPolicy(MappingProxyType(lenient), MappingProxyType(advisory),
                       MappingProxyType(strict), tuple(notes))
