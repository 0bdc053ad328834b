"""Shared wire protocols, as data: which endpoints a protocol has and which schema each uses.

A protocol (OpenAI chat, Anthropic messages, WaveSpeed v3, fal queue, MiniCPM-o realtime) is
described once in ``harness/protocols/<name>.yaml``; every provider that speaks it points at it
from its profile and only adds its base URLs, auth, models and dialect. Paths may hold
``{model}`` (the model or app id), ``{model_root}`` (fal's owner/app without sub-path) and
path parameters such as ``{id}``; a request of ``"{model.input}"`` means "the model's own input
schema". An endpoint's ``wire`` says what else its requests carry that no JSON Schema of ours
holds (query parameters, headers, a raw body, another credential), for the OpenAPI export; a
protocol's ``urls`` are the operations behind URLs its answers hand out (upload and download
URLs): exported and served by the mock, but never called by the suite as endpoints.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from harness.errors import ProfileError, UnknownNameError
from harness.findings import Source

HERE = Path(__file__).parent
MODEL_INPUT = "{model.input}"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One operation of a protocol: method, path template and the schemas it promises."""

    name: str
    method: str
    path: str
    host: str = "default"
    request: str | None = None
    responses: Mapping[int, str] = field(default_factory=lambda: MappingProxyType({}))
    stream: str | None = None
    capabilities: tuple[str, ...] = ()
    source: Source | None = None
    # query / headers: OpenAPI parameter objects; body: media type -> schema; auth: "api" (the
    # API's key, the default), "storage-token" (fal's CDN Bearer token) or "presigned" (none)
    wire: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def per_model(self) -> bool:
        return "{model" in self.path or self.request == MODEL_INPUT


@dataclass(frozen=True, slots=True)
class Revision:
    """A published revision of an event protocol (realtime): its client/server event unions."""

    name: str
    client: str
    server: str
    modes: tuple[str, ...]
    default_mode: str


@dataclass(frozen=True, slots=True)
class Protocol:
    name: str
    title: str
    endpoints: tuple[Endpoint, ...]
    error: str | None = None
    revisions: Mapping[str, Revision] = field(default_factory=lambda: MappingProxyType({}))
    source: Source | None = None
    urls: tuple[Endpoint, ...] = ()  # operations behind URLs the API's answers hand out

    def endpoint(self, name: str) -> Endpoint:
        for ep in self.endpoints:
            if ep.name == name:
                return ep
        raise UnknownNameError(f"{self.name} endpoint", name, [e.name for e in self.endpoints])


def _source(raw: Mapping[str, Any], fallback: Source | None = None) -> Source | None:
    return Source.from_schema(raw) or fallback


def _endpoint(raw: dict[str, Any], where: str, fallback: Source | None) -> Endpoint:
    try:
        return Endpoint(
            name=raw["name"], method=raw["method"].upper(), path=raw["path"],
            host=raw.get("host", "default"), request=raw.get("request"),
            responses=MappingProxyType({int(k): v for k, v in raw.get("responses", {}).items()}),
            stream=raw.get("stream"), capabilities=tuple(raw.get("capabilities", ())),
            source=_source(raw, fallback), wire=MappingProxyType(dict(raw.get("wire") or {})))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ProfileError(f"{where}: endpoint {raw!r} is malformed ({exc!r})") from exc


@cache
def load(name: str) -> Protocol:
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        raise UnknownNameError("protocol", name, known())
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    src = _source(raw)
    revisions = {
        rname: Revision(rname, r["client"], r["server"], tuple(r["modes"]), r["default_mode"])
        for rname, r in (raw.get("revisions") or {}).items()}
    return Protocol(
        name=raw["name"], title=raw["title"], error=raw.get("error"), source=src,
        endpoints=tuple(_endpoint(e, str(path), src) for e in raw["endpoints"]),
        urls=tuple(_endpoint(e, str(path), src) for e in raw.get("urls") or ()),
        revisions=MappingProxyType(revisions))


def known() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))
