"""Fixtures for the check tests: the reference mock as a target, and the mock with one thing broken.

A check must be able to fail, so each family's tests run it twice: on the reference mock (it
passes) and on the same mock behind :class:`Rewrite`, an ASGI middleware that buffers one
exchange and lets a test edit the request before the app sees it or the response before the
client does (drop ``data: [DONE]``, answer 500 to bad JSON, echo the key...). ``run_check``
runs one scenario on one provider API and returns its findings, without the engine around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness import providers
from harness.checks.exchange import Probe
from harness.checks.registry import CheckContext, registered
from harness.findings import Finding
from harness.secrets import Scrubber
from harness.targets import TargetOptions, make_target
from harness.targets.base import Target
from harness.targets.mock import MockTarget


@dataclass
class Wire:
    """The request as the middleware saw it (headers lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


RequestEdit = Callable[[Wire], Wire]
ResponseEdit = Callable[[Wire, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


class Rewrite:
    """Buffers each HTTP exchange so a test can corrupt one thing in it."""

    def __init__(self, app: ASGIApp, *, request: RequestEdit | None = None,
                 response: ResponseEdit | None = None) -> None:
        self.app, self.request, self.response = app, request, response

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        wire = Wire(scope["method"], scope["path"],
                    {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]},
                    body)
        if self.request:
            wire = self.request(wire)
            wire.headers["content-length"] = str(len(wire.body))
        scope = {**scope, "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                      for k, v in wire.headers.items()]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # later reads wait for the client's disconnect, as they would
                return await receive()
            replayed = True
            return {"type": "http.request", "body": wire.body, "more_body": False}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        status = start["status"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in start.get("headers", [])}
        out = b"".join(chunks)
        if self.response:
            status, headers, out = self.response(wire, status, headers, out)
        headers.pop("transfer-encoding", None)
        headers["content-length"] = str(len(out))
        await send({"type": "http.response.start", "status": status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]})
        await send({"type": "http.response.body", "body": out})


@pytest.fixture
def mock_target() -> Iterator[Target]:
    target = make_target(TargetOptions())
    yield target
    target.close()


@pytest.fixture
def broken_target() -> Iterator[Callable[..., Target]]:
    """``broken_target(request=..., response=...)``: the mock behind a :class:`Rewrite`."""
    made: list[MockTarget] = []

    def make(*, request: RequestEdit | None = None, response: ResponseEdit | None = None) -> Target:
        target = MockTarget()
        target.app = Rewrite(target.app, request=request, response=response)  # type: ignore[assignment]
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


RunCheck = Callable[..., list[Finding]]


@pytest.fixture
def run_check() -> RunCheck:
    """``run_check(target, "mimo", "openai-chat", "sse-framing")`` -> the scenario's findings."""

    def run(target: Target, provider: str, protocol: str, name: str, *,
            options: dict[str, Any] | None = None, probe_out: list[Probe] | None = None
            ) -> list[Finding]:
        profile = providers.get(provider)
        api = profile.api(protocol)
        probe = Probe(target, profile, api)
        if probe_out is not None:
            probe_out.append(probe)
        ctx = CheckContext(target, profile, api, probe, Scrubber(()), check=name,
                           options=dict(options or {}))
        return list(registered()[name].fn(ctx))

    return run
