"""The one seam between in-process clients and the mock: httpx and httpx2 transports for an ASGI app.

Every in-process use of the mock goes through here: our engine's ``httpx.Client``, the openai
and anthropic SDKs (which run on ``httpx2``, so respx cannot see them) via ``http_client=``,
and respx-mocked code via :func:`respx_route`. Nothing else in the project talks to the app
without a socket. The stock ``ASGITransport`` of both libraries waits for the whole response,
so here each request runs the app as a task and the response is handed back as soon as its
head is sent, its body following chunk by chunk (SSE streams arrive as they are paced, and
closing a response early tells the app the client went away). Sync transports run the app on
one event loop in a daemon thread, so a client nobody closes can never hang interpreter exit.
An app that ends a response without finishing it raises the library's ``RemoteProtocolError``,
as a dropped connection would; the request's read timeout applies to every wait.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Awaitable, Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from functools import cache
from types import ModuleType
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

import httpx
import httpx2
from starlette.types import ASGIApp, Message

T = TypeVar("T")
_END = object()  # the app returned


class _Exchange:
    """One request/response with the app; lives on the event loop that runs the app."""

    def __init__(self, app: ASGIApp, scope: dict[str, Any], body: AsyncIterator[bytes],
                 lib: ModuleType) -> None:
        self.scope, self.body, self.lib = scope, body, lib
        self.outbox: asyncio.Queue[Any] = asyncio.Queue(maxsize=8)  # backpressure on the app
        self.gone = asyncio.Event()  # the client closed the response
        self.complete = False
        self.task = asyncio.ensure_future(self._run(app))

    async def _run(self, app: ASGIApp) -> None:
        try:
            await app(self.scope, self._receive, self.outbox.put)
        except Exception as exc:  # handed to the client, as raise_app_exceptions=True does
            await self.outbox.put(exc)
        else:
            await self.outbox.put(_END)

    async def _receive(self) -> Message:
        if self.body is not None:
            try:
                return {"type": "http.request", "body": await anext(self.body), "more_body": True}
            except StopAsyncIteration:
                self.body = None  # type: ignore[assignment]
                return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def _next(self) -> Message:
        item = await self.outbox.get()
        if isinstance(item, Exception):
            raise item
        if item is _END:
            raise self.lib.RemoteProtocolError(
                "the app ended the response without completing it (peer closed connection "
                "without sending complete message body)")
        return item  # type: ignore[no-any-return]

    async def start(self) -> tuple[int, list[tuple[bytes, bytes]]]:
        message = await self._next()
        if message["type"] != "http.response.start":
            raise self.lib.RemoteProtocolError(f"ASGI app sent {message['type']!r} before "
                                               "http.response.start")
        return message["status"], list(message.get("headers", []))

    async def chunk(self) -> bytes | None:
        """The next piece of the body, or None once the response is complete."""
        while not self.complete:
            message = await self._next()
            if message["type"] != "http.response.body":
                continue
            self.complete = not message.get("more_body", False)
            if message.get("body") and self.scope["method"] != "HEAD":
                return bytes(message["body"])
        return None

    async def aclose(self) -> None:
        self.gone.set()
        if not self.complete:
            self.task.cancel()  # stop a stream nobody reads; a finished app may still run tasks


def _scope(request: Any, prefix: tuple[str, str] | None) -> dict[str, Any]:
    url = request.url
    path, raw_path = url.path, url.raw_path.split(b"?")[0]
    if prefix and path.startswith(prefix[0]):
        path = prefix[1] + path[len(prefix[0]):]
        raw_path = prefix[1].encode() + raw_path[len(prefix[0].encode()):]
    port = url.port or {"https": 443, "wss": 443}.get(url.scheme, 80)
    return {"type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": request.method, "scheme": url.scheme,
            "path": path, "raw_path": raw_path, "root_path": "", "query_string": url.query,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "server": (url.host, port), "client": ("127.0.0.1", 123)}


def _read_timeout(request: Any) -> float | None:
    return (request.extensions.get("timeout") or {}).get("read")


async def _within(aw: Awaitable[T], timeout: float | None, lib: ModuleType) -> T:
    try:
        return await asyncio.wait_for(aw, timeout)
    except TimeoutError:
        raise lib.ReadTimeout(f"the app sent nothing for {timeout} s") from None


async def _aiter(chunks: Any) -> AsyncIterator[bytes]:
    if hasattr(chunks, "__aiter__"):
        async for chunk in chunks:
            yield chunk
    else:
        for chunk in chunks:
            yield chunk


@cache
def _bodies(lib: ModuleType) -> tuple[type, type]:
    """Async and sync response-body streams of ``lib`` (each library checks its own types)."""

    class AsyncBody(lib.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, exchange: _Exchange, timeout: float | None) -> None:
            self.exchange, self.timeout = exchange, timeout

        async def __aiter__(self) -> AsyncIterator[bytes]:
            while (piece := await _within(self.exchange.chunk(), self.timeout, lib)) is not None:
                yield piece

        async def aclose(self) -> None:
            await self.exchange.aclose()

    class SyncBody(lib.SyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, exchange: _Exchange, timeout: float | None) -> None:
            self.exchange, self.timeout = exchange, timeout

        def __iter__(self) -> Iterator[bytes]:
            while (piece := _Loop.run(self.exchange.chunk(), self.timeout, lib)) is not None:
                yield piece

        def close(self) -> None:
            _Loop.run(self.exchange.aclose(), self.timeout, lib)

    return AsyncBody, SyncBody


class _AsyncASGI:
    lib: ClassVar[ModuleType]

    def __init__(self, app: ASGIApp, prefix: tuple[str, str] | None = None) -> None:
        self.app, self.prefix = app, prefix

    async def handle_async_request(self, request: Any) -> Any:
        lib, timeout = self.lib, _read_timeout(request)
        exchange = _Exchange(self.app, _scope(request, self.prefix), _aiter(request.stream), lib)
        try:
            status, headers = await _within(exchange.start(), timeout, lib)
        except BaseException:
            await exchange.aclose()
            raise
        body = _bodies(lib)[0](exchange, timeout)
        return lib.Response(status, headers=headers, stream=body,
                            extensions={"http_version": b"HTTP/1.1"})


class _Loop:
    """One event loop in a daemon thread that runs the app for every sync transport."""

    _lock = threading.Lock()
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def run(cls, aw: Awaitable[T], timeout: float | None, lib: ModuleType) -> T:
        with cls._lock:
            if cls._loop is None:
                cls._loop = asyncio.new_event_loop()
                threading.Thread(target=cls._loop.run_forever, name="vlm-harness-asgi",
                                 daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(_awaited(aw), cls._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise lib.ReadTimeout(f"the app sent nothing for {timeout} s") from None


async def _awaited(aw: Awaitable[T]) -> T:
    return await aw


class _SyncASGI:
    lib: ClassVar[ModuleType]

    def __init__(self, app: ASGIApp, prefix: tuple[str, str] | None = None) -> None:
        self.app, self.prefix = app, prefix

    def handle_request(self, request: Any) -> Any:
        lib, timeout = self.lib, _read_timeout(request)
        content = b"".join(request.stream)  # read here: the sync stream belongs to this thread
        scope = _scope(request, self.prefix)

        async def open_exchange() -> _Exchange:
            return _Exchange(self.app, scope, _aiter([content]), lib)

        exchange = _Loop.run(open_exchange(), timeout, lib)
        try:
            status, headers = _Loop.run(exchange.start(), timeout, lib)
        except BaseException:
            _Loop.run(exchange.aclose(), timeout, lib)
            raise
        body = _bodies(lib)[1](exchange, timeout)
        return lib.Response(status, headers=headers, stream=body,
                            extensions={"http_version": b"HTTP/1.1"})


class AsyncASGITransport(_AsyncASGI, httpx.AsyncBaseTransport):
    """Streaming in-process transport for ``httpx.AsyncClient``."""

    lib: ClassVar[ModuleType] = httpx


class SyncASGITransport(_SyncASGI, httpx.BaseTransport):
    """Streaming in-process transport for ``httpx.Client`` (the app runs on a loop thread)."""

    lib: ClassVar[ModuleType] = httpx


class AsyncASGITransport2(_AsyncASGI, httpx2.AsyncBaseTransport):
    """The same for ``httpx2.AsyncClient`` (the openai and anthropic SDKs' async clients)."""

    lib: ClassVar[ModuleType] = httpx2


class SyncASGITransport2(_SyncASGI, httpx2.BaseTransport):
    """The same for ``httpx2.Client`` (the openai and anthropic SDKs' sync clients)."""

    lib: ClassVar[ModuleType] = httpx2


def httpx_transport(app: ASGIApp) -> httpx.AsyncBaseTransport:
    return AsyncASGITransport(app)


def httpx_sync_transport(app: ASGIApp) -> httpx.BaseTransport:
    return SyncASGITransport(app)


def httpx2_transport(app: ASGIApp) -> httpx2.BaseTransport:
    return SyncASGITransport2(app)


def httpx2_async_transport(app: ASGIApp) -> httpx2.AsyncBaseTransport:
    return AsyncASGITransport2(app)


def respx_route(router: Any, app: ASGIApp, base_url: str, app_prefix: str | None = None,
                *, asynchronous: bool | None = None) -> Any:
    """Route ``router``'s (a respx mock's) requests under ``base_url`` to ``app``.

    The path after ``base_url`` is kept and put under ``app_prefix`` (default: ``base_url``'s
    own path), so ``respx_route(mock, app, "https://api.modelbest.cn/v1", "/modelbest/v1")``
    sends the real provider URL to the mock. respx cannot tell a sync client from an async
    one, so by default the route answers asynchronously when an event loop runs in the
    calling thread; pass ``asynchronous`` to force either.
    """
    base = base_url.rstrip("/")
    prefix = (urlsplit(base).path, (app_prefix if app_prefix is not None else urlsplit(base).path))
    sync, async_ = SyncASGITransport(app, prefix), AsyncASGITransport(app, prefix)

    def side_effect(request: httpx.Request) -> Any:
        use_async = asynchronous
        if use_async is None:
            try:
                asyncio.get_running_loop()
                use_async = True
            except RuntimeError:
                use_async = False
        return async_.handle_async_request(request) if use_async else sync.handle_request(request)

    return router.route(url__startswith=base).mock(side_effect=side_effect)
