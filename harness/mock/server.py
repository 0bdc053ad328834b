"""The uvicorn server the mock runs on: in ``serve``'s one process and in each of its workers.

uvicorn alone would close open realtime sessions with 1012 and no word, and re-raise the
signal that stopped it (``serve`` exited 143 and left its TLS key folder behind). This server
stops the way the mock's clients are promised: realtime sessions first get ``session.closed``
``server_shutdown``, open streams get :data:`GRACE_S` to finish, queued webhooks go out, and
a SIGTERM or SIGINT is a clean exit. :func:`config` gives every server the same uvicorn
settings (the shaped protocol of :mod:`harness.mock.shield`, the socket's caps); a worker of
``serve --workers N`` passes its :class:`~harness.mock.balance.Slot`, and then takes its
connections through an :class:`~harness.mock.balance.Acceptor` instead of uvicorn's listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable, Iterator
from typing import Any

import uvicorn

from harness.mock import shield
from harness.mock.balance import Acceptor, Slot
from harness.mock.context import MockState

GRACE_S = 2  # open streams get this many seconds to finish when the server stops


def config(app: Any, **settings: Any) -> uvicorn.Config:
    """uvicorn's settings for the mock (``app``: the app or a factory's import string)."""
    return uvicorn.Config(app, lifespan="off", timeout_graceful_shutdown=GRACE_S,
                          access_log=False, **shield.server_limits(), **settings)


class MockServer(uvicorn.Server):
    """uvicorn with the mock's way of stopping; ``state`` gives the app's state once it is
    built (a worker builds its app only when it starts serving)."""

    def __init__(self, config: uvicorn.Config, state: Callable[[], MockState],
                 slot: Slot | None = None) -> None:
        super().__init__(config)
        self.state, self.slot = state, slot
        self.acceptor: Acceptor | None = None

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        if self.slot is None or not sockets:
            await super().startup(sockets)
            return
        await super().startup([])  # uvicorn listens on nothing; the acceptor takes the socket
        if self.started:
            settings = self.config

            def protocol() -> asyncio.Protocol:  # what uvicorn's own listener would make
                return settings.http_protocol_class(  # type: ignore[call-arg]
                    config=settings, server_state=self.server_state, app_state=self.lifespan.state)

            self.acceptor = Acceptor(sockets[0], protocol, settings.ssl, self.server_state,
                                     self.slot)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.acceptor is not None:
            self.acceptor.close()
        await self.state().shutdown(GRACE_S)
        await super().shutdown(sockets)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # handled: stopping was what the signal asked for
