"""Adapters between schemathesis and the harness: cases out through a target, answers back in.

:func:`_send` puts a generated case on the wire through a :class:`~harness.checks.exchange.Probe`
(the target adds its own key; headers a negative case made unsendable are refused, and
:func:`_still_negative` tells whether a negative case still breaks its schema once the key is in)
and hands schemathesis a response it can judge. :func:`exchange_of` turns that response into the
:class:`~harness.checks.exchange.Exchange` our checks read, and :func:`adapter` registers each of
our exchange checks with schemathesis as ``vlm_<name>``; while a fuzz run is in progress
(:func:`_running`) the adapters find its target, routes and scrubber in a context variable and
stash their findings there at full fidelity, outside a run they stay silent. :class:`_Check`
pairs a report row's name with a schemathesis built-in or one of our adapted checks.
"""

from __future__ import annotations

import http
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import jsonschema
import requests
import schemathesis
from schemathesis import GenerationMode
from schemathesis.core.transport import Response

from harness.checks.exchange import Exchange, Probe, parse_sse
from harness.checks.registry import CheckContext, CheckSpec
from harness.findings import Finding
from harness.fuzz.document import Route
from harness.secrets import Scrubber
from harness.targets.base import Target

_BASE = "http://fuzz.invalid"  # where schemathesis is told the API lives; only the path is used
_AUTH_HEADERS = frozenset({"authorization", "api-key", "x-api-key"})
_CLIENT_HEADERS = frozenset({"user-agent", "accept-encoding", "connection", "content-length"})


@dataclass
class _Run:
    """What the registered adapters need while a fuzz run is in progress."""

    target: Target
    scrubber: Scrubber
    routes: dict[tuple[str, str], Route]
    stash: list[Finding] = field(default_factory=list)  # our findings, full fidelity


_RUN: ContextVar[_Run | None] = ContextVar("vlm_harness_fuzz_run", default=None)


def exchange_of(route: Route, case: schemathesis.Case, response: Response) -> Exchange:
    """A schemathesis response as the exchange our checks read."""
    headers = {k: ", ".join(v) for k, v in response.headers.items()}
    is_sse = headers.get("content-type", "").startswith("text/event-stream")
    body = case.body if isinstance(case.body, dict | list) else None
    ep = route.op.endpoint
    return Exchange(
        provider=route.profile.name, protocol=route.api.protocol.name, endpoint=route.op.key,
        method=ep.method, url=str(response.request.url), request_json=body,
        status=response.status_code, headers=headers, body=response.content,
        latency_ms=response.elapsed * 1000, streamed=is_sse,
        events=parse_sse(response.content) if is_sse else (),
        response_schema=ep.responses.get(response.status_code), stream_schema=ep.stream,
        documented=tuple(sorted(ep.responses)))


_ADAPTERS: dict[str, Callable[..., bool | None]] = {}


def adapter(spec: CheckSpec) -> Callable[..., bool | None]:
    """Our exchange check ``spec`` as a registered schemathesis check (made once per name)."""
    if spec.name in _ADAPTERS:
        return _ADAPTERS[spec.name]

    def check(ctx: schemathesis.CheckContext, response: Response, case: schemathesis.Case,
              ) -> bool | None:
        run = _RUN.get()
        route = run.routes.get((case.method.upper(), case.path)) if run else None
        if run is None or route is None or not spec.applies(route.api):
            return None  # not in a harness run: no provider to judge against
        ex = exchange_of(route, case, response)
        cctx = CheckContext(run.target, route.profile, route.api,
                            Probe(run.target, route.profile, route.api), run.scrubber,
                            check=spec.name)
        found = list(spec.fn(ex, cctx))
        run.stash.extend(found)
        errors = [f.message for f in found if f.is_error]
        if errors:
            raise AssertionError(f"{spec.name}: " + "; ".join(errors))
        return True

    check.__name__ = "vlm_" + spec.name.replace("-", "_")
    check.__doc__ = spec.description
    _ADAPTERS[spec.name] = schemathesis.check(check)
    return check


def _builtin(name: str) -> Callable[..., bool | None]:
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    found = next(c for c in CHECKS.get_all() if getattr(c, "__name__", "") == name)
    return found  # type: ignore[return-value]  # the registry also types check classes


def _still_negative(case: schemathesis.Case, operation: Any) -> bool:
    """Whether a negative case still breaks its schema once the target has put its own key in:
    a case whose only broken part is its headers counts only if a documented non-auth header
    (``anthropic-version``) is what is broken."""
    meta = case.meta
    broken = {str(loc.value) for loc, info in (meta.components.items() if meta else ())
              if info.mode is GenerationMode.NEGATIVE}
    if broken - {"header"}:
        return True
    sent = {k.lower(): v for k, v in (case.headers or {}).items()}
    for param in operation.definition.raw.get("parameters", []):
        if param.get("in") != "header" or param["name"].lower() in _AUTH_HEADERS:
            continue
        value = sent.get(param["name"].lower())
        if value is None:
            if param.get("required"):
                return True
        elif not jsonschema.Draft202012Validator(param.get("schema", {})).is_valid(value):
            return True
    return False


def _sendable(headers: dict[str, str]) -> bool:
    """Whether every header could go on the wire (negative cases may break header syntax)."""
    for name, value in headers.items():
        if not name or not name.isascii() or "\r" in value or "\n" in value:
            return False
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return False
    return True


def _send(probe: Probe, route: Route, case: schemathesis.Case) -> tuple[Exchange, Response] | None:
    """Send ``case`` through the target; None when the case cannot be put on the wire."""
    kw = case.as_transport_kwargs(base_url=_BASE)
    path = str(kw["url"])[len(_BASE):]
    headers = {k: str(v) for k, v in kw.get("headers", {}).items()
               if k.lower() not in _AUTH_HEADERS | _CLIENT_HEADERS}  # the target sends its own
    if not path.startswith(route.prefix) or not _sendable(headers):
        return None
    body: Any = kw.get("json")
    raw = json.dumps(body).encode() if "json" in kw else kw.get("data")
    if isinstance(raw, str):
        raw = raw.encode()
    model = route.op.model.id if route.op.model else None
    ex = probe.call(route.op.endpoint.name, model=model, url=path[len(route.prefix):] or "/",
                    params=kw.get("params") or None, headers=headers, content=raw)
    ex = replace(ex, request_json=body if isinstance(body, dict | list) else None)
    request = requests.Request(ex.method, ex.url, headers=headers, data=raw).prepare()
    try:
        phrase = http.HTTPStatus(ex.status).phrase
    except ValueError:
        phrase = ""
    return ex, Response(ex.status, {k: [v] for k, v in ex.headers.items()}, ex.body, request,
                        ex.latency_ms / 1000, True, message=phrase)


@dataclass(frozen=True, slots=True)
class _Check:
    name: str  # the row's check name: schemathesis:<check>
    capability: str
    fn: Callable[..., bool | None]
    spec: CheckSpec | None = None  # ours; None for a schemathesis built-in


@contextmanager
def _running(run: _Run) -> Iterator[None]:
    token = _RUN.set(run)
    try:
        yield
    finally:
        _RUN.reset(token)
