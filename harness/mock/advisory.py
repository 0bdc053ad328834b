"""Advisory limits: what the mock accepts but tells the client it would refuse if strict.

A limit no source document states (a profile's ``x-advisory`` media limit, a schema's
``x-advisory`` keyword) must not make the mock stricter than the provider, yet a client team
wants to know its request leans on one. Handlers call :func:`advise` while deciding; the
:class:`AdvisoryMiddleware` adds every message of the request to the response as one
``x-harness-advisory`` header, which the ``advisory-limits`` exchange check turns into a warning
finding. ``serve --strict`` (``MockConfig.strict``) enforces these limits as errors instead.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable
from contextvars import ContextVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

HEADER = "x-harness-advisory"
_UNSAFE = re.compile(r"[^\x20-\x7e]")  # what an HTTP header value may not hold
MAX_HEADER = 1024  # characters: several messages fit, a pathological request cannot bloat it

_current: ContextVar[list[str] | None] = ContextVar("vlm_harness_advisories", default=None)


def advise(message: str) -> None:
    """Record an advisory for the request being handled (a no-op outside one)."""
    found = _current.get()
    if found is not None and message not in found:
        found.append(message)


def header_value(messages: list[str]) -> str:
    """The messages as one header value: printable ASCII, ``; ``-separated, bounded. A message
    may quote the client (a ``fal_webhook`` URL with a newline in it): anything a header
    cannot carry becomes ``?``, or the server would fail on sending it (a 500)."""
    text = _UNSAFE.sub("?", "; ".join(messages))
    return text if len(text) <= MAX_HEADER else f"{text[:MAX_HEADER - 3]}..."


class AdvisoryMiddleware:
    """Collects the advisories of each HTTP request and sends them as a response header."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found: list[str] = []
        token = _current.set(found)

        def send_with_header(message: Message) -> Awaitable[None]:
            # Not a coroutine: the caller awaits what send returns, one frame fewer per message.
            if message["type"] == "http.response.start" and found:
                headers = list(message.get("headers", []))
                headers.append((HEADER.encode(), header_value(found).encode("ascii")))
                message = {**message, "headers": headers}
            return send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _current.reset(token)
