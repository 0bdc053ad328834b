"""Flavours: the servers behind one profile, each a small overlay on it (vLLM, SGLang, llama.cpp).

A profile such as ``local`` describes a *kind* of server (anything speaking OpenAI chat on a
GPU box), but the programs people run answer in their own dialects: SGLang's errors are a
top-level ``{"object": "error", ...}`` object, llama.cpp's ``/v1/models`` carries ``meta`` and
a second ``models`` list, vLLM's choices carry a ``stop_reason``. A flavour names one such
program and says, with provenance, how it differs: ``schemas`` *replaces* a protocol schema
with the flavour's own (an ``allOf`` overlay can only narrow, and an error of another shape is
not a narrowing), ``dialect`` adds overlays as a profile's own dialect does, ``error_body``
says which error shape the mock answers in (``openai``: ``{"error": {...}}``;
``status-code``: the same with the HTTP status as ``code``; ``object``: the top-level object)
and ``owned_by`` is what the server writes into ``/v1/models`` (how the ``model-list`` check
recognises it). :meth:`Flavour.apply` turns the profile into the flavoured one, so the checks,
the mock and the OpenAPI export see one consistent set of schemas.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from harness.errors import ProfileError, UnknownNameError, UsageError
from harness.findings import Source

if TYPE_CHECKING:  # the profile module imports this one
    from harness.protocols import Endpoint, Protocol
    from harness.providers import Api, Profile


@dataclass(frozen=True, slots=True)
class Flavour:
    """One server program behind a profile, and how it differs from the profile's protocols."""

    name: str
    title: str
    source: Source
    schemas: Mapping[str, str]  # protocol schema -> the flavour's replacement
    dialect: Mapping[str, dict[str, Any]]
    error_body: str = "openai"
    owned_by: str = ""
    notes: tuple[str, ...] = ()

    def swap(self, name: str | None) -> str | None:
        return self.schemas.get(name, name) if name else name

    def _endpoint(self, ep: Endpoint) -> Endpoint:
        return dataclasses.replace(
            ep, request=self.swap(ep.request), stream=self.swap(ep.stream),
            responses=MappingProxyType({s: self.swap(n) or n for s, n in ep.responses.items()}))

    def _protocol(self, protocol: Protocol) -> Protocol:
        return dataclasses.replace(
            protocol, error=self.swap(protocol.error),
            endpoints=tuple(self._endpoint(ep) for ep in protocol.endpoints),
            urls=tuple(self._endpoint(ep) for ep in protocol.urls))

    def _api(self, api: Api) -> Api:
        return dataclasses.replace(api, protocol=self._protocol(api.protocol))

    def apply(self, profile: Profile) -> Profile:
        """``profile`` as this flavour serves it: schemas swapped, overlays added, notes kept."""
        return dataclasses.replace(
            profile, title=f"{profile.title}: {self.title}", flavour=self.name,
            apis=tuple(self._api(api) for api in profile.apis),
            dialect=MappingProxyType({**profile.dialect, **self.dialect}),
            notes=(*profile.notes, *self.notes))


def parse_all(raw: Mapping[str, Any], profile_dialect: Mapping[str, Any],
              where: str) -> Mapping[str, Flavour]:
    """The ``flavours`` of a profile (already schema-checked); an overlay the profile itself
    also writes is refused, since two overlays of one schema would have to be merged by guess."""
    out: dict[str, Flavour] = {}
    for name, spec in raw.items():
        if name.startswith("x-"):
            continue
        dialect = {k: v for k, v in spec.get("dialect", {}).items() if k != "notes"}
        clash = sorted(set(dialect) & set(profile_dialect))
        if clash:
            raise ProfileError(f"{where}: /flavours/{name}/dialect: {clash[0]!r} is overlaid by "
                               "the profile already; write the overlay in one place")
        source = Source.from_schema(spec)
        if source is None:  # the profile schema requires it; data that skipped the schema
            raise ProfileError(f"{where}: /flavours/{name}: no x-source: a flavour must cite "
                               "the document that describes its server")
        out[name] = Flavour(
            name=name, title=spec["title"], source=source,
            schemas=MappingProxyType(dict(spec.get("schemas", {}))),
            dialect=MappingProxyType(dialect), error_body=spec.get("error_body", "openai"),
            owned_by=spec.get("owned_by", ""), notes=tuple(spec.get("notes", ())))
    return MappingProxyType(out)


def served_as(chosen: Sequence[Profile], flavour: str,
              everyone: Callable[[], Sequence[Profile]]) -> list[Profile]:
    """``chosen`` with ``flavour`` applied to the profiles that have flavours; the flavour must
    be one of theirs (``--local-flavour``, named so in the errors)."""
    having = [p for p in chosen if p.flavours]
    if not having:
        with_flavours = ", ".join(p.name for p in everyone() if p.flavours)
        raise UsageError(f"--local-flavour {flavour!r}: only {with_flavours} has flavours, "
                         "and it is not among the selected providers")
    if not any(flavour in p.flavours for p in having):
        raise UnknownNameError("--local-flavour", flavour, {f for p in having for f in p.flavours})
    return [p.flavoured(flavour) if p.flavours else p for p in chosen]
