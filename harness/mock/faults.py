"""Fault injection for the mock, per server (``--faults``) or per request (a header).

A fault spec is a comma-separated list of ``name=value`` items, e.g.
``status=429,retry-after=1`` or ``error=quota,rate=0.25,latency=40``. The same spec is accepted
in the ``x-harness-fault`` request header, which wins over the server's. Whether a
probabilistic fault fires is decided by hashing (seed, request number), so a failing client
test can be replayed exactly. Errors are rendered in the protocol's own shape; streaming and
realtime handlers read the pacing and cut-off fields from the request's scope.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from harness.errors import UsageError
from harness.mock import catalogue as catalogue_
from harness.mock.errors import answer_shape, error_response

HEADER = "x-harness-fault"
_HEADER_BYTES = HEADER.encode()


@dataclass(frozen=True, slots=True)
class Fault:
    status: int | None = None  # answer this HTTP status instead of the real response
    error: str | None = None  # a named error from the provider's catalogue (quota...)
    retry_after: float | None = None
    rate: float = 1.0  # probability that status/error fires
    latency: float = 0.0  # ms added before answering
    ttft: float = 0.0  # ms before the first stream chunk
    tps: float = 0.0  # stream tokens per second (0 = unpaced)
    cut: int | None = None  # end the stream abruptly after this many chunks
    ws_drop: int | None = None  # drop the WebSocket after this many server events

    @property
    def fails(self) -> bool:
        return self.status is not None or self.error is not None


@dataclass(frozen=True, slots=True)
class RuntimeFault:
    """A fault set while the mock runs (``PUT /_harness/fault``), with the spec it came from."""

    spec: str
    fault: Fault


_NAMES = {f.name.replace("_", "-"): f.name for f in fields(Fault)}


def parse(spec: str, where: str = "--faults") -> Fault:
    """Parse a fault spec; an unknown item or bad value names itself and the valid ones."""
    values: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        name, _, raw = item.partition("=")
        key = _NAMES.get(name.strip().lower().replace("_", "-"))
        if key is None:
            raise UsageError(f"{where}: unknown fault {name!r}; known: {', '.join(sorted(_NAMES))}")
        try:
            values[key] = raw.strip() if key == "error" else (
                int(raw) if key in ("status", "cut", "ws_drop") else float(raw))
        except ValueError:
            raise UsageError(f"{where}: fault {name!r} needs a number, got {raw!r}") from None
    for key, value in values.items():  # "nan", "inf" and "-5" parse as floats too
        if isinstance(value, (int, float)) and not 0 <= value < math.inf:
            raise UsageError(f"{where}: fault {key.replace('_', '-')!r} must be a finite "
                             f"number >= 0, got {value!r}")
    fault = Fault(**values)
    if fault.status is not None and not 400 <= fault.status <= 599:
        raise UsageError(f"{where}: status must be 400..599, got {fault.status}")
    if not 0.0 <= fault.rate <= 1.0:
        raise UsageError(f"{where}: rate must be within 0..1, got {fault.rate}")
    return fault


def fires(fault: Fault, seed: int, counter: int) -> bool:
    if fault.rate >= 1.0:
        return True
    h = hashlib.sha256(f"{seed}:{counter}".encode()).digest()
    return int.from_bytes(h[:8], "big") / 2**64 < fault.rate


def resolve_error(fault: Fault, catalogue: Mapping[str, Mapping[str, Any]],
                  protocol: str) -> catalogue_.Answer:
    """What a failing fault answers on ``protocol``: a catalogue or generic error, or its status."""
    if fault.error:
        return catalogue_.resolve(fault.error, catalogue, protocol, fault.status)
    status = int(fault.status or 500)
    return catalogue_.Answer(status, f"injected fault: HTTP {status}")


class FaultMiddleware:
    """Wraps one provider API's routes; applies the server's or the request's fault."""

    def __init__(self, app: ASGIApp, *, protocol: str, server: Fault, seed: int,
                 catalogue: Mapping[str, Mapping[str, Any]],
                 runtime: Callable[[], RuntimeFault | None] = lambda: None,
                 shape: str = "protocol") -> None:
        self.app, self.protocol, self.server, self.seed = app, protocol, server, seed
        self.shape = shape  # the errors' shape (harness.mock.errors.error_shape)
        self.catalogue, self.counter, self.runtime = catalogue, 0, runtime

    def request_id(self) -> str:
        # Injected errors carry an id like real ones: clients surface it, schemas require it.
        return f"req_fault_{self.seed}_{self.counter:06d}"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        asked = None
        for name, value in scope["headers"]:  # a loop, not a generator: every request runs it
            if name == _HEADER_BYTES:  # ASGI header names are lower-case
                asked = value.decode("latin-1")
                break
        try:
            runtime = self.runtime()
            fault = parse(asked, HEADER) if asked is not None else (
                runtime.fault if runtime else self.server)
        except UsageError as exc:
            if scope["type"] == "http":
                await error_response(self.protocol, 400, str(exc), request_id=self.request_id(),
                                     shape=self.shape)(scope, receive, send)
            else:  # closing before accept rejects the handshake (HTTP 403), never leaves it hanging
                await send({"type": "websocket.close", "code": 1008, "reason": str(exc)[:120]})
            return
        self.counter += 1
        scope.setdefault("state", {})["fault"] = fault
        if fault.latency:
            await asyncio.sleep(fault.latency / 1000)
        if scope["type"] == "http" and fault.fails and fires(fault, self.seed, self.counter):
            try:
                answer = resolve_error(fault, self.catalogue, self.protocol)
            except UsageError as exc:
                answer = catalogue_.Answer(400, str(exc))
            catalogue_.note_choice(answer)
            extra = {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            await error_response(self.protocol, answer.status, answer.message, headers=extra,
                                 request_id=self.request_id(),
                                 shape=answer_shape(answer.shape, self.shape),
                                 )(scope, receive, send)
            return
        await self.app(scope, receive, send)


def fault_of(scope: Scope) -> Fault:
    return scope.get("state", {}).get("fault") or Fault()
