"""Request deadlines that cover the whole exchange, not only the gap between two bytes.

httpx's timeouts bound each wait separately, so a server that sends one byte a second keeps a
request alive forever. :class:`DeadlineTransport` (every target's clients go through it) gives
each request one :class:`~harness.deadlines.Deadline`, ``--timeout`` seconds from its start,
and makes it the earliest of that and whatever is left of the check's and the run's budgets:
httpx's own timeouts are set to the time left, the response body is read inside the request's
deadline scope, and a wait that ends because time is up raises
:class:`~harness.deadlines.DeadlineExceeded` naming the request and the budget. For sockets,
:func:`bounded_backend` caps every single socket read and write at the time left, so even a
read that starts a moment before the deadline cannot outlive it.
"""

from __future__ import annotations

import ssl
import time
import typing
from collections.abc import Iterable, Iterator

import httpcore
import httpx

from harness import deadlines
from harness.deadlines import Deadline, DeadlineExceeded


def _cap(timeout: float | None) -> float | None:
    """The socket timeout httpcore asked for, shortened to the active deadline."""
    first = deadlines.earliest()
    if first is None:
        return timeout
    left = max(first.remaining(), 0.001)
    return left if timeout is None else min(timeout, left)


class _BoundedStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self.inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self.inner.read(max_bytes, _cap(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self.inner.write(buffer, _cap(timeout))

    def close(self) -> None:
        self.inner.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        return _BoundedStream(self.inner.start_tls(ssl_context, server_hostname, _cap(timeout)))

    def get_extra_info(self, info: str) -> typing.Any:
        return self.inner.get_extra_info(info)


class _BoundedBackend(httpcore.NetworkBackend):
    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self.inner = inner

    def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                    local_address: str | None = None,
                    socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                    ) -> httpcore.NetworkStream:
        return _BoundedStream(self.inner.connect_tcp(host, port, _cap(timeout), local_address,
                                                     socket_options))

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
                            ) -> httpcore.NetworkStream:
        return _BoundedStream(self.inner.connect_unix_socket(path, _cap(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self.inner.sleep(seconds)


def bounded_backend(transport: httpx.HTTPTransport) -> httpx.HTTPTransport:
    """``transport`` with every socket wait capped at the active deadline.

    httpx builds its connection pool without a way to pass httpcore's ``network_backend``, so
    the pool's backend is wrapped in place (tests/unit/test_timed.py pins that it takes effect).
    """
    pool = transport._pool
    pool._network_backend = _BoundedBackend(pool._network_backend)  # type: ignore[attr-defined]
    return transport


class _TimedBody(httpx.SyncByteStream):
    """A response body read inside its request's deadline, checked before every chunk."""

    def __init__(self, inner: httpx.SyncByteStream, own: Deadline, what: str,
                 started: float) -> None:
        self.inner, self.own, self.what, self.started = inner, own, what, started

    def __iter__(self) -> Iterator[bytes]:
        chunks = iter(self.inner)
        while True:
            with deadlines.scope(self.own):
                deadlines.check(f"the body of {self.what}", self.started)
                try:
                    chunk = next(chunks)
                except StopIteration:
                    return
                except httpx.TimeoutException as exc:
                    raise _exceeded(f"the body of {self.what}", self.started) from exc
            yield chunk

    def close(self) -> None:
        self.inner.close()


def _exceeded(what: str, started: float) -> DeadlineExceeded:
    first = deadlines.earliest()
    budget = first.budget if first is not None else "the request timeout"
    return DeadlineExceeded(what, time.monotonic() - started, budget)


class DeadlineTransport(httpx.BaseTransport):
    """Gives every request through ``inner`` one deadline for the whole exchange."""

    def __init__(self, inner: httpx.BaseTransport, timeout_s: float) -> None:
        self.inner, self.timeout_s = inner, timeout_s

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Only method and path go into messages: a query string could carry a credential.
        what = f"{request.method} {request.url.path}"
        started = time.monotonic()
        own = Deadline(started + self.timeout_s,
                       f"the request timeout ({self.timeout_s:g} s, --timeout)")
        with deadlines.scope(own):
            deadlines.check(f"the answer to {what}", started)
            left = _cap(self.timeout_s)
            request.extensions["timeout"] = dict.fromkeys(("connect", "read", "write", "pool"),
                                                          left)
            try:
                response = self.inner.handle_request(request)
            except httpx.TimeoutException as exc:
                raise _exceeded(f"the answer to {what}", started) from exc
        if isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _TimedBody(response.stream, own, what, started)
        return response

    def close(self) -> None:
        self.inner.close()
