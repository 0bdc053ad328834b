"""Provider profiles: each provider is data (``harness/providers/<name>.yaml``).

A profile names the protocols the provider speaks and, for each, its documented base URLs,
auth scheme and key variable, models (with their own input schemas where the protocol is
per-model, as on WaveSpeed and fal), media limits, an error catalogue and its *dialect*: JSON
Schema overlays that narrow a shared protocol schema (allowed models...), and the *flavours* of
servers behind it (:mod:`harness.providers.flavours`). Profiles are validated
against ``schemas/harness/profile.json`` when loaded; adding a provider means adding one file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

import yaml

from harness import protocols, schemas
from harness.errors import ProfileError, UnknownNameError
from harness.findings import Source
from harness.media import MediaLimits
from harness.providers.flavours import Flavour, parse_all, served_as
from harness.providers.limits import MediaPolicy, policy
from harness.providers.problems import profile_problems as profile_problems  # re-exported

HERE = Path(__file__).parent


@dataclass(frozen=True, slots=True)
class AuthStyle:
    header: str
    prefix: str

    def value(self, key: str) -> str:
        return f"{self.prefix}{key}"


@dataclass(frozen=True, slots=True)
class Auth:
    """How a key is sent: the first style is what clients should send, all are accepted."""

    env: str
    styles: tuple[AuthStyle, ...]
    optional: bool = False
    versions: tuple[str, ...] = ()
    source: Source | None = None
    # each style's header as a request head names it (lower case, latin-1 bytes), and prefix
    _wanted: tuple[tuple[bytes, str], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_wanted", tuple(
            (s.header.lower().encode("latin-1"), s.prefix) for s in self.styles))

    def headers(self, key: str, style: int = 0) -> dict[str, str]:
        chosen = self.styles[style]
        out = {chosen.header: chosen.value(key)}
        if self.versions:
            out["anthropic-version"] = self.versions[0]
        return out

    def presented_key(self, head: Sequence[tuple[bytes, bytes]]) -> str | None:
        """The key a request carries in any accepted style, read from its ASGI head (names in
        lower case), each header's first occurrence as Starlette's ``Headers`` reads it."""
        for name, prefix in self._wanted:
            for key, raw in head:
                if key == name:
                    value = raw.decode("latin-1")
                    if value.startswith(prefix):
                        return value[len(prefix):].strip()
                    break
        return None

    def key_from_env(self) -> str | None:
        return os.environ.get(self.env) or None


@dataclass(frozen=True, slots=True)
class Model:
    id: str
    input: str | None = None
    capabilities: tuple[str, ...] = ()
    reasoning: bool = False
    source: Source | None = None

    @property
    def root(self) -> str:
        """fal's owner/app without sub-path (status URLs drop it, providers.md §2)."""
        return "/".join(self.id.split("/")[:2])


@dataclass(frozen=True, slots=True)
class Operation:
    """An endpoint made concrete for one API (and one model, for per-model endpoints)."""

    api: Api
    endpoint: protocols.Endpoint
    model: Model | None
    path: str
    request: str | None

    @property
    def key(self) -> str:
        return f"{self.endpoint.name}:{self.model.id}" if self.model else self.endpoint.name


@dataclass(frozen=True, slots=True)
class Api:
    """One protocol as one provider serves it."""

    provider: str
    protocol: protocols.Protocol
    base_urls: Mapping[str, str]
    auth: Auth
    models: Mapping[str, Model]
    limits: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    base_url_env: str | None = None
    model_env: str | None = None
    source: Source | None = None

    def base_url(self, host: str = "default") -> str:
        if self.base_url_env and os.environ.get(self.base_url_env) and host == "default":
            return os.environ[self.base_url_env].rstrip("/")
        return self.base_urls[host].rstrip("/")

    def mock_prefix(self, host: str = "default") -> str:
        """Where the reference mock serves this API: ``/{provider}[/{host}]{documented path}``."""
        role = "" if host == "default" else f"/{host}"
        return f"/{self.provider}{role}{urlsplit(self.base_urls[host]).path.rstrip('/')}"

    def default_model(self) -> str:
        if self.model_env and os.environ.get(self.model_env):
            return os.environ[self.model_env]
        return next(iter(self.models))

    def operations(self) -> Iterator[Operation]:
        for ep in self.protocol.endpoints:
            if not ep.per_model:
                yield Operation(self, ep, None, ep.path, ep.request)
                continue
            for model in self.models.values():
                path = ep.path.replace("{model}", model.id).replace("{model_root}", model.root)
                request = model.input if ep.request == protocols.MODEL_INPUT else ep.request
                yield Operation(self, ep, model, path, request)


@dataclass(frozen=True, slots=True)
class PublishedSpec:
    """A machine-readable spec the provider publishes (watched by ``drift --docs``)."""

    name: str
    url: str
    compare: str = ""  # the project schemas derived from it (a schemas/ name), if any
    source: Source | None = None


@dataclass(frozen=True, slots=True)
class Profile:
    name: str
    title: str
    apis: tuple[Api, ...]
    media: MediaPolicy  # the limits by provenance; ``limits`` is what is enforced by default
    dialect: Mapping[str, dict[str, Any]]
    errors: Mapping[str, Mapping[str, Any]]
    notes: tuple[str, ...] = ()
    source: Source | None = None
    specs: tuple[PublishedSpec, ...] = ()
    flavours: Mapping[str, Flavour] = field(default_factory=lambda: MappingProxyType({}))
    flavour: str | None = None  # the flavour applied (``flavoured``), None for the plain profile

    @property
    def limits(self) -> Mapping[str, MediaLimits]:
        """The media limits a document states (enforced unless the mock is strict)."""
        return self.media.lenient

    def api(self, protocol: str) -> Api:
        for api in self.apis:
            if api.protocol.name == protocol:
                return api
        raise UnknownNameError(f"{self.name} protocol", protocol,
                               [a.protocol.name for a in self.apis])

    def speaks(self, protocol: str) -> bool:
        return any(a.protocol.name == protocol for a in self.apis)

    def overlay(self, schema: str) -> dict[str, Any] | None:
        return self.dialect.get(schema)

    @property
    def served_as(self) -> Flavour | None:
        """The flavour applied to this profile, if any."""
        return self.flavours.get(self.flavour) if self.flavour else None

    def flavoured(self, name: str | None) -> Profile:
        """This profile as the flavour ``name`` serves it (None: as it is)."""
        if name is None or name == self.flavour:
            return self
        if name not in self.flavours:
            raise UnknownNameError(f"{self.name} flavour", name, list(self.flavours))
        return self.flavours[name].apply(self)

    def capabilities(self) -> frozenset[str]:
        caps: set[str] = set()
        for api in self.apis:
            for model in api.models.values():
                caps.update(model.capabilities)
            caps.update(c for ep in api.protocol.endpoints for c in ep.capabilities)
        return frozenset(caps | {"errors", "auth", "limits"})


def _api(provider: str, raw: dict[str, Any], fallback: Source | None) -> Api:
    auth = raw["auth"]
    return Api(
        provider=provider, protocol=protocols.load(raw["protocol"]),
        base_urls=MappingProxyType(dict(raw["base_urls"])),
        auth=Auth(env=auth["env"], optional=auth.get("optional", False),
                  styles=tuple(AuthStyle(s["header"], s["prefix"]) for s in auth["styles"]),
                  versions=tuple(auth.get("versions", ())),
                  source=Source.from_schema(auth) or fallback),
        models=MappingProxyType({
            mid: Model(mid, m.get("input"), tuple(m.get("capabilities", ())),
                       m.get("reasoning", False), Source.from_schema(m) or fallback)
            for mid, m in raw["models"].items()}),
        limits=MappingProxyType(dict(raw.get("limits", {}))),
        base_url_env=raw.get("base_url_env"), model_env=raw.get("model_env"),
        source=Source.from_schema(raw) or fallback)


def parse(raw: Any, where: str) -> Profile:
    """Validate ``raw`` (a loaded YAML document) against the profile schema and build it."""
    errors = sorted(schemas.validator("harness/profile").iter_errors(raw), key=lambda e: e.path)
    if errors:
        first = errors[0]
        at = "/" + "/".join(str(p) for p in first.absolute_path)
        raise ProfileError(f"{where}: {at}: {first.message}")
    src = Source.from_schema(raw)
    dialect = dict(raw.get("dialect", {}))
    notes = tuple(dialect.pop("notes", ()))
    return Profile(
        flavours=parse_all(raw.get("flavours", {}), dialect, where),
        name=raw["name"], title=raw["title"], source=src, notes=notes,
        apis=tuple(_api(raw["name"], a, src) for a in raw["apis"]),
        media=policy(raw.get("limits", {})),
        dialect=MappingProxyType(dialect),
        errors=MappingProxyType({k: v for k, v in raw.get("errors", {}).items()
                                 if not k.startswith("x-")}),
        specs=tuple(PublishedSpec(s["name"], s["url"], s.get("compare", ""),
                                  Source.from_schema(s)) for s in raw.get("specs", ())))


def load_file(path: Path) -> Profile:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ProfileError(f"{path}: cannot read profile: {exc}") from exc
    return parse(raw, str(path))


def known() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.yaml"))


@cache
def get(name: str) -> Profile:
    path = HERE / f"{name}.yaml"
    if not path.is_file():
        raise UnknownNameError("provider", name, known())
    return load_file(path)


def all_profiles() -> list[Profile]:
    return [get(n) for n in known()]


def select(spec: str, flavour: str | None = None) -> list[Profile]:
    """``all`` or a comma-separated list of provider names; ``flavour`` (``--local-flavour``)
    is applied to the profiles that have it, and must be one of a selected profile's."""
    if spec in ("", "all"):
        chosen = all_profiles()
    else:
        chosen = [get(n.strip()) for n in spec.split(",") if n.strip()]
    if not chosen:  # "," or " ": an empty selection would run nothing and pass
        raise UnknownNameError("provider", spec, ["all", *known()])
    return chosen if flavour is None else served_as(chosen, flavour, all_profiles)
