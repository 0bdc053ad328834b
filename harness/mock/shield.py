"""The mock's last line: whatever goes wrong, the client gets an answer in its provider's shape.

Two places answer a client without the mock's handlers. An exception in a handler would reach
Starlette's ``ServerErrorMiddleware``, which sends a plain-text 500 and *re-raises*, and uvicorn
then closes the keep-alive connection under the client's next request. :class:`Shield` is the
outermost layer instead (:class:`~harness.mock.routing.App` leaves Starlette's out) and ends
the exchange itself: a 500 in the protocol's error shape when nothing was
sent yet, the end of the body when a stream had started, close 1011 on a WebSocket; the
exception is logged, never raised on. A request h11 cannot parse (a head over
:data:`HEAD_LIMIT`, a malformed request line) is answered by uvicorn itself in plain text;
:func:`server_limits` gives uvicorn a protocol class (importable by name, for the workers of
``serve --workers N``) whose answer comes in the shape of the API
whose prefix the request line names (431 for an oversize head, 400 otherwise); a head over the
limit that the parser let through (llhttp has none) gets the same 431 from :class:`Shield`.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache
from itertools import chain
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

from harness.mock.errors import error_body
from harness.mock.realtime_wire import CLOSE_INTERNAL

log = logging.getLogger("harness.mock")
# Largest request head (request line and headers) the served mock reads: nginx's default
# large_client_header_buffers (4 x 8 KiB), the proxy most providers sit behind.
HEAD_LIMIT = 32 * 1024
# The socket's own cap on a WebSocket message, above MockConfig.realtime_max_frame_bytes: a frame
# between the two gets the mock's error event before its 1009 close; past this one, uvicorn
# closes with 1009 alone (it will not buffer more to say so).
WS_WIRE_MAX = 64 * 1024 * 1024
_STARTED = frozenset({"http.response.start", "websocket.accept", "websocket.close",
                      "websocket.http.response.start"})

ProtocolAt = Callable[[str], str]  # request path -> protocol whose error shape answers it


class Shield:
    """Ends every exchange whose handler raised, in the protocol's shape; logs the cause."""

    def __init__(self, app: ASGIApp, protocol_at: ProtocolAt) -> None:
        self.app, self.protocol_at = app, protocol_at

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if head_size(scope) > HEAD_LIMIT:  # a parser without a head limit let it through
            await self._refuse_head(scope, send)
            return
        started = False

        def watched(message: Message) -> Awaitable[None]:
            # Not a coroutine: the caller awaits what send returns, one frame fewer per message.
            nonlocal started
            started = started or message["type"] in _STARTED
            return send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unhandled error serving %s %s", scope.get("method", "WS"),
                          scope.get("path"))
            with contextlib.suppress(Exception):  # the client may be gone already
                await self._end(scope, send, started)

    async def _refuse_head(self, scope: Scope, send: Send) -> None:
        message = f"request head is over {HEAD_LIMIT} bytes (headers too large)"
        status, head, body = _error(self.protocol_at(scope.get("path", "/")), 431, message)
        if scope["type"] == "websocket":  # refused before accept: the client sees HTTP 403
            await send({"type": "websocket.close", "code": 1008, "reason": "headers too large"})
            return
        await send({"type": "http.response.start", "status": status, "headers": head})
        await send({"type": "http.response.body", "body": body})

    async def _end(self, scope: Scope, send: Send, started: bool) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": CLOSE_INTERNAL,
                        "reason": "internal error"})
        elif started:  # a stream was under way: end it, as a cut stream ends
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            status, head, body = _error(self.protocol_at(scope.get("path", "/")), 500,
                                        "internal error in the mock (logged by the server)")
            await send({"type": "http.response.start", "status": status, "headers": head})
            await send({"type": "http.response.body", "body": body})


def head_size(scope: Scope) -> int:
    """Bytes of the request's head (its target and headers), which the Shield holds to
    :data:`HEAD_LIMIT`."""
    headers = scope.get("headers", ())  # ": " and CRLF: 4 bytes a header beyond the two
    return (len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
            + sum(map(len, chain.from_iterable(headers))) + 4 * len(headers))


def _error(protocol: str, status: int, message: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps(error_body(protocol, status, message)).encode()
    return status, [(b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode())], body


class _Shaped:
    """uvicorn's own refusals of a request it cannot parse, in the shape of the API addressed
    (mixed into its h11 or httptools protocol class)."""

    transport: Any

    def _pending_path(self) -> str:
        raise NotImplementedError

    def _oversize(self) -> bool:
        raise NotImplementedError

    def send_400_response(self, msg: str) -> None:
        status = 431 if self._oversize() else 400
        message = (f"request head is over {HEAD_LIMIT} bytes (headers too large)"
                   if status == 431 else f"malformed HTTP request: {msg}")
        _, head, body = _error(default_protocol_at()(self._pending_path()), status, message)
        lines = [f"HTTP/1.1 {status} {'Request Header Fields Too Large' if status == 431 else 'Bad Request'}"
                 .encode(), *(k + b": " + v for k, v in head), b"connection: close", b"", body]
        self.transport.write(b"\r\n".join(lines))
        self.transport.close()


class ShapedH11(_Shaped, H11Protocol):
    def _pending_path(self) -> str:
        parts = self.conn.trailing_data[0][:4096].split(b" ", 2)  # the unparsed request line
        return parts[1].decode("latin-1") if len(parts) > 2 else "/"

    def _oversize(self) -> bool:
        return len(self.conn.trailing_data[0]) > HEAD_LIMIT


try:  # uvicorn's ``auto`` picks httptools when it is installed (uvicorn[standard]); so does this
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
except ImportError:  # pragma: no cover (a platform without httptools wheels)
    _FAST: type[Any] = ShapedH11
else:
    class ShapedHttpTools(_Shaped, HttpToolsProtocol):
        # At module level, as ShapedH11: ``serve --workers N`` hands the class to each spawned
        # worker by its importable name.
        def _pending_path(self) -> str:
            return (getattr(self, "url", b"") or b"/").decode("latin-1").split("?", 1)[0]

        def _oversize(self) -> bool:
            return False  # llhttp sets no head limit: an oversize head reaches the Shield

    _FAST = ShapedHttpTools


def server_limits() -> dict[str, Any]:
    """uvicorn settings of the served mock: the shaped protocol and the socket's caps."""
    return {"http": _FAST, "h11_max_incomplete_event_size": HEAD_LIMIT,
            "ws_max_size": WS_WIRE_MAX}


@lru_cache(maxsize=1)
def default_protocol_at() -> ProtocolAt:
    """:func:`protocol_lookup` over every provider's mount prefixes (the same in any app)."""
    from harness import providers

    return protocol_lookup({api.mock_prefix(host): api.protocol.name
                            for profile in providers.all_profiles() for api in profile.apis
                            for host in api.base_urls})


def protocol_lookup(prefixes: dict[str, str], default: str = "openai-chat") -> ProtocolAt:
    """The protocol whose mount prefix is the longest one ``path`` is under."""
    ordered = sorted(prefixes.items(), key=lambda kv: -len(kv[0]))

    def protocol_at(path: str) -> str:
        return next((proto for p, proto in ordered if path.startswith(f"{p}/")), default)

    return protocol_at
