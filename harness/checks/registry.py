"""The check registry: small named functions that yield findings.

Two kinds, as in schemathesis: *exchange* checks look at every request/response the suite
makes (schema conformance, documented status, content type, error shape), *scenario* checks
drive their own requests through a :class:`~harness.checks.exchange.Probe` (auth enforced,
stream equals non-stream, job lifecycle, realtime session, media limits). A check declares the
capability it exercises (a column of the report's matrix) and the protocols it applies to.
Users register their own with the same decorator; duplicate names are refused.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from harness.checks.exchange import Exchange, Probe
from harness.errors import UnknownNameError, UsageError
from harness.findings import UPSTREAM_SIDE, Finding, Severity, Source
from harness.providers import Api, Profile
from harness.schemas import schema_node
from harness.secrets import Scrubber
from harness.targets.base import Target


class Skip(Exception):
    """Raised by a scenario check that cannot run here; the reason is reported, not a pass."""


@dataclass
class CheckContext:
    """What a check gets: the provider API under test, a probe for requests, the scrubber."""

    target: Target
    profile: Profile
    api: Api
    probe: Probe
    scrubber: Scrubber
    check: str = ""
    seed: int = 0
    options: dict[str, Any] = field(default_factory=dict)

    def finding(self, message: str, *, severity: Severity = Severity.ERROR,
                exchange: Exchange | None = None, schema: str | None = None,
                schema_pointer: str = "", instance_pointer: str = "",
                source: Source | None = None, **extra: str) -> Finding:
        if source is None and schema:
            source = _source_for(schema, schema_pointer)
        if exchange is not None and exchange.upstream:  # the gateway target: both sides
            extra.setdefault(UPSTREAM_SIDE, self.scrubber.text(
                "\n\n".join(e.excerpt() for e in exchange.upstream[-2:])))
        return Finding(
            check=self.check, severity=severity, message=self.scrubber.text(message),
            provider=self.profile.name,
            endpoint=exchange.endpoint if exchange else "",
            request_id=exchange.request_id if exchange else "",
            schema_pointer=f"{schema}#{schema_pointer}" if schema else schema_pointer,
            instance_pointer=instance_pointer, source=source or self.api.source,
            excerpt=exchange.excerpt(self.scrubber) if exchange else "",
            extra=tuple(sorted(extra.items())))


def _source_for(schema: str, pointer: str) -> Source | None:
    """The nearest ``x-source`` at or above ``pointer`` inside ``schema``."""
    parts = [p for p in pointer.split("/") if p]
    for depth in range(len(parts), -1, -1):
        try:
            found = Source.from_schema(schema_node(schema, "/" + "/".join(parts[:depth])))
        except Exception:  # a pointer into inlined refs may not exist in the raw file
            found = None
        if found:
            return found
    return None


ExchangeFn = Callable[[Exchange, CheckContext], Iterable[Finding]]
ScenarioFn = Callable[[CheckContext], Iterable[Finding]]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    fn: Callable[..., Iterable[Finding]]
    kind: str  # "exchange" | "scenario"
    capability: str
    protocols: frozenset[str] | None  # None: every protocol
    description: str

    def applies(self, api: Api) -> bool:
        return self.protocols is None or api.protocol.name in self.protocols


_REGISTRY: dict[str, CheckSpec] = {}


def check(*, capability: str, protocols: Iterable[str] | None = None, kind: str = "scenario",
          name: str | None = None) -> Callable[[Callable[..., Iterator[Finding]]], Any]:
    """Register a check function under ``name`` (default: the function name, dashes)."""
    if kind not in ("exchange", "scenario"):
        raise UsageError(f"check kind must be 'exchange' or 'scenario', got {kind!r}")

    def register(fn: Callable[..., Iterator[Finding]]) -> Callable[..., Iterator[Finding]]:
        key = name or fn.__name__.replace("_", "-")
        if key in _REGISTRY:
            raise UsageError(f"check {key!r} is already registered")
        doc = (fn.__doc__ or "").strip().splitlines()
        _REGISTRY[key] = CheckSpec(key, fn, kind, capability,
                                   frozenset(protocols) if protocols else None,
                                   doc[0] if doc else "")
        return fn

    return register


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def registered() -> dict[str, CheckSpec]:
    from harness import checks  # noqa: F401  (importing the package registers the built-ins)

    return dict(_REGISTRY)


def select(spec: str | None) -> list[CheckSpec]:
    """``None``/``all`` or a comma list of check names; unknown names list the known ones."""
    known = registered()
    if not spec or spec == "all":
        return list(known.values())
    chosen = []
    for raw in spec.split(","):
        key = raw.strip()
        if key not in known:
            raise UnknownNameError("check", key, known)
        chosen.append(known[key])
    return chosen
