"""The two WebSocket sessions behind :class:`~harness.targets.base.WebSocketSession`.

Realtime checks talk to the in-process mock through Starlette's test session and to everything
else (a served mock, a gateway, the live API) through a ``websockets`` client connection. Both
are adapted here to the same small surface with the same failure semantics: a receive that
waits too long raises :class:`TimeoutError`, and a close by the server (or a refused handshake)
raises :class:`WebSocketClosed` with the close code (or HTTP status), so a check can assert on
how a session ends without knowing which kind of connection it holds.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import anyio
from starlette.testclient import TestClient, WebSocketDenialResponse, WebSocketTestSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketDisconnect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, reconnect
from websockets.uri import parse_uri

from harness import deadlines
from harness.deadlines import DeadlineExceeded
from harness.secrets import Scrubber
from harness.targets.base import WebSocketClosed
from harness.targets.clients import RedirectRefused

# Realtime frames carry base64 audio and video frames: allow far more than websockets' 1 MiB.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# ASGI messages that answer a WebSocket handshake (accept, close before accept, denial).
_ANSWERS = frozenset({"websocket.accept", "websocket.close", "websocket.http.response.start"})


def ws_url(base: str, path: str, query: Mapping[str, str]) -> str:
    """``base`` + ``path`` + ``query`` with http(s) turned into ws(s); ws(s) bases stay as given."""
    if base.startswith("http"):
        base = "ws" + base[len("http"):]
    return f"{base.rstrip('/')}{path}" + (f"?{urlencode(query)}" if query else "")


def _excerpt(body: bytes | bytearray | None) -> str:
    """The start of a refusal's body for the error message (a provider's error names the cause),
    scrubbed: a gateway that echoes the key it rejected must not put it in an exception."""
    return Scrubber.from_env().text(bytes(body or b"").decode("utf-8", "replace"))[:200]


@contextmanager
def _budgeted(cut: deadlines.Deadline | None, waited: float) -> Iterator[None]:
    """A receive timeout caused by the check's or the run's budget (``cut``) rather than by the
    check's own wait is the end of that budget, which a check must not take for silence."""
    try:
        yield
    except TimeoutError:
        if cut is None:
            raise
        raise DeadlineExceeded("a WebSocket message", waited, cut.budget) from None


class InProcessSession:
    """A Starlette test session; its receive gains the timeout Starlette's own lacks."""

    def __init__(self, session: WebSocketTestSession) -> None:
        self._session = session
        self._code: int | None = None

    def send_json(self, data: Any) -> None:
        self.send_text(json.dumps(data, ensure_ascii=False))

    def send_text(self, data: str) -> None:
        self._session.send_text(data)

    def receive_json(self, timeout: float = 5.0) -> Any:
        if self._code is not None:
            raise WebSocketClosed(self._code)
        # Starlette's receive() blocks forever; waiting on its stream inside the session's own
        # portal under fail_after bounds it without a helper thread and without losing a message.
        stream = self._session._send_rx
        wait, cut = deadlines.capped(timeout)

        async def one() -> Any:
            with anyio.fail_after(wait):
                return await stream.receive()

        with _budgeted(cut, wait):
            message = self._session.portal.call(one)
        if message["type"] == "websocket.close":
            self._code = message.get("code", 1000)
            raise WebSocketClosed(self._code, message.get("reason") or "")
        return json.loads(message["text"] if message.get("text") is not None else message["bytes"])

    def close(self, code: int = 1000) -> None:
        if self._code is None:
            self._session.close(code)
            self._code = code

    @property
    def close_code(self) -> int | None:
        return self._code


def answered_handshakes(app: ASGIApp, timeout_s: float) -> ASGIApp:
    """``app`` made to answer every WebSocket handshake, as a real server does.

    Starlette's test session waits forever for an app that returns (or stalls) without
    accepting or refusing; uvicorn answers HTTP 500 to the first and a client's open timeout
    ends the second. The wrapper refuses both the same way (500, or 504 after ``timeout_s``),
    so one broken handshake cannot hang a whole contract run.
    """

    async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await app(scope, receive, send)
            return
        answered, settled = False, anyio.Event()

        async def watch(message: Message) -> None:
            nonlocal answered
            if message["type"] in _ANSWERS:
                answered = True
                settled.set()
            await send(message)

        async def run() -> None:
            try:
                await app(scope, receive, watch)
            finally:
                settled.set()

        async with anyio.create_task_group() as group:
            group.start_soon(run)
            with anyio.move_on_after(timeout_s) as waited:
                await settled.wait()
            if not answered:
                group.cancel_scope.cancel()
        if not answered:
            status, text = ((504, f"no answer to the WebSocket handshake within {timeout_s} s")
                            if waited.cancelled_caught else
                            (500, "the app returned without completing the WebSocket handshake"))
            await send({"type": "websocket.http.response.start", "status": status,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "websocket.http.response.body", "body": text.encode()})

    return guarded


@contextmanager
def in_process(client: TestClient, url: str, headers: Mapping[str, str]) -> Iterator[InProcessSession]:
    """Open ``url`` on the app behind ``client`` (built on :func:`answered_handshakes`); a
    refusal becomes :class:`WebSocketClosed`."""
    session = client.websocket_connect(url, headers=dict(headers))
    try:
        session.__enter__()
    except WebSocketDenialResponse as exc:  # before WebSocketDisconnect: it subclasses it
        raise WebSocketClosed(None, _excerpt(exc.content), exc.status_code) from None
    except WebSocketDisconnect as exc:
        # A close before accept is a refused handshake: servers answer it with HTTP 403
        # (ASGI spec), so report it the way a socket client sees it.
        raise WebSocketClosed(None, exc.reason or "", 403) from None
    try:
        yield InProcessSession(session)
    finally:
        session.__exit__(None, None, None)


class SocketSession:
    """A ``websockets`` client connection over a real socket."""

    def __init__(self, conn: ClientConnection) -> None:
        self._conn = conn

    def send_json(self, data: Any) -> None:
        self.send_text(json.dumps(data, ensure_ascii=False))

    def send_text(self, data: str) -> None:
        # A server may close right after accepting (queue_full): the frame is then lost, but
        # what the server sent before its close is still queued here, and the next receive
        # must hand that out (error event first, then the close), as the in-process session
        # does. Raising here would hide the events behind a send error.
        with contextlib.suppress(ConnectionClosed):
            self._conn.send(data)

    def receive_json(self, timeout: float = 5.0) -> Any:
        wait, cut = deadlines.capped(timeout)
        try:
            with _budgeted(cut, wait):
                return json.loads(self._conn.recv(wait))
        except ConnectionClosed as exc:
            # A dropped socket has no close frame; websockets then reports 1006, as the
            # in-process session does, so both kinds of target end a drop the same way.
            raise WebSocketClosed(self._conn.close_code, exc.rcvd.reason if exc.rcvd else "") from None

    def close(self, code: int = 1000) -> None:
        self._conn.close(code)

    @property
    def close_code(self) -> int | None:
        return self._conn.close_code


class _SameOriginOnly(reconnect):
    """``websockets`` follows redirects, stripping only ``Authorization`` and cookies when one
    leaves the origin; a key sent as ``api-key`` would go along, so such a redirect is refused."""

    def process_redirect(self, exc: Exception) -> Exception | str:
        target = super().process_redirect(exc)
        if isinstance(target, str):
            new, old = parse_uri(target), self.ws_uri
            if (new.secure, new.host, new.port) != (old.secure, old.host, old.port):
                return RedirectRefused(
                    f"WebSocket handshake at {old.host}{old.path} redirected to another host "
                    f"({new.host}); not followed because the connection carries a provider key")
        return target


@contextmanager
def over_socket(url: str, headers: Mapping[str, str], timeout_s: float) -> Iterator[SocketSession]:
    """Connect to ``url``; a handshake answered with an HTTP status becomes :class:`WebSocketClosed`."""
    wait, cut = deadlines.capped(timeout_s)
    try:
        conn = _SameOriginOnly(url, additional_headers=dict(headers), open_timeout=wait,
                               close_timeout=wait, max_size=MAX_MESSAGE_BYTES).connect()
    except TimeoutError:
        raise DeadlineExceeded(f"the WebSocket handshake at {url.split('?')[0]}", wait,
                               cut.budget if cut else f"the request timeout ({timeout_s:g} s, "
                               "--timeout)") from None
    except InvalidStatus as exc:
        raise WebSocketClosed(None, _excerpt(exc.response.body), exc.response.status_code) from None
    with conn:
        yield SocketSession(conn)
