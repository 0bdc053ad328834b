"""Connections spread evenly over the workers of ``serve --workers N``.

The workers all wait on one listening socket, and libuv (under uvloop) accepts every connection
pending when its worker wakes. A load test opens its few keep-alive connections at once, so they
often all landed on one worker while the other idled, for the whole run: 4 connections sending
10 MB images ran at 36-41 req/s when one worker held all 4 and at 53 when they split 2/2
(measured). Here each worker takes connections itself (:class:`Acceptor`), one per wake-up, and
only while it holds no more open connections than its least loaded sibling. A busier worker
leaves a pending connection to the others for :data:`HOLD_S` and then takes it all the same (the
sibling may be deep in a long request, or gone), so balance never delays a connection longer
than that. The counts live in shared memory (:class:`Board`): the supervisor gives each worker a
slot, which only that worker writes; a dead worker's slot goes to its replacement.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import socket
import ssl
from collections.abc import Callable
from typing import Any

log = logging.getLogger("harness.mock")
HOLD_S = 0.05  # how long a busier worker leaves a pending connection to its siblings
PAUSE_S = 1.0  # out of descriptors or memory: stop accepting this long, as asyncio's servers do


class Board:
    """The supervisor's side: a slot per worker in shared memory, each (pid, open connections);
    pid 0 marks a slot nobody serves from yet (or any more)."""

    def __init__(self, workers: int) -> None:
        # Twice the workers: a restart (SIGHUP) brings each replacement up before the old
        # worker leaves, so both hold a slot for a while.
        self.cells = multiprocessing.get_context("spawn").RawArray("q", 4 * workers)
        self.holders: list[Any] = [None] * (2 * workers)

    def assign(self, holder: Any) -> int:
        """A free slot for ``holder`` (a worker process, not started yet), cleared; a slot is
        free when its holder has exited (uvicorn reaps a dead worker before replacing it)."""
        for i, held in enumerate(self.holders):
            if held is None or held.exitcode is not None:
                self.holders[i] = holder
                self.cells[2 * i] = self.cells[2 * i + 1] = 0
                return i
        raise RuntimeError("no free worker slot")  # more live workers than 2x: a supervisor bug


class Slot:
    """A worker's side of the board: writes its own slot, reads its siblings'."""

    def __init__(self, cells: Any, index: int) -> None:
        self.cells, self.index = cells, index

    def join(self) -> None:
        self.cells[2 * self.index + 1] = 0
        self.cells[2 * self.index] = os.getpid()

    def leave(self) -> None:
        self.cells[2 * self.index] = 0

    def publish(self, load: int) -> None:
        self.cells[2 * self.index + 1] = load

    def least_loaded(self, load: int) -> bool:
        """Publishes ``load`` and says whether no live sibling holds fewer connections."""
        self.publish(load)
        cells = self.cells[:]
        return all(load <= cells[i + 1] for i in range(0, len(cells), 2)
                   if cells[i] and i != 2 * self.index)


class _Tracked(set[Any]):
    """uvicorn's set of open connections (each protocol adds and discards itself), telling
    the acceptor at once: a count left stale after a close let one worker take 3 of 4."""

    def __init__(self, added: Callable[[Any], None], removed: Callable[[], None]) -> None:
        super().__init__()
        self.added, self.removed = added, removed

    def add(self, item: Any) -> None:
        super().add(item)
        self.added(item)

    def discard(self, item: Any) -> None:
        super().discard(item)
        self.removed()


class Acceptor:
    """Takes the connections of a listening socket for this worker's event loop, one per
    wake-up, under :class:`Slot`'s rule, and hands each to a new protocol from ``factory``
    (uvicorn's, as its own server would); ``server_state`` is uvicorn's, whose connection set
    it replaces with one that keeps the board up to date."""

    def __init__(self, sock: socket.socket, factory: Callable[[], asyncio.Protocol],
                 context: ssl.SSLContext | None, server_state: Any, slot: Slot) -> None:
        self.sock, self.factory, self.context, self.slot = sock, factory, context, slot
        self.connections = server_state.connections = _Tracked(self._added, self.publish)
        self.loop = asyncio.get_running_loop()
        self.opening = 0  # accepted, not yet among the connections: counted once, not twice
        self.fresh: set[Any] = set()  # protocols made for those, until they join the set
        self.tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        self._held: asyncio.TimerHandle | None = None
        slot.join()
        self.loop.add_reader(sock.fileno(), self._readable)

    def load(self) -> int:
        return len(self.connections) + self.opening

    def publish(self) -> None:
        self.slot.publish(self.load())

    def close(self) -> None:
        if self._held is not None:
            self._held.cancel()
        self.loop.remove_reader(self.sock.fileno())
        self.slot.leave()

    def _readable(self) -> None:
        if self.slot.least_loaded(self.load()):
            self._take()
        else:  # leave it to a less loaded sibling
            self._pause(HOLD_S, self._recheck)

    def _recheck(self) -> None:
        # Two holds started within a millisecond end together (libuv's timers count whole
        # milliseconds): the one now least loaded takes, the other waits once more.
        if self.slot.least_loaded(self.load()):
            self._listen()
            self._take()
        else:
            self._pause(HOLD_S, self._last_call)

    def _last_call(self) -> None:  # nobody less loaded took it: a sibling is busy, or gone
        self._listen()
        self._take()

    def _pause(self, seconds: float, then: Callable[[], None]) -> None:
        self.loop.remove_reader(self.sock.fileno())
        self._held = self.loop.call_later(seconds, then)

    def _listen(self) -> None:
        self._held = None
        self.loop.add_reader(self.sock.fileno(), self._readable)

    def _take(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return  # a sibling was quicker, or the client gave up
        except OSError as exc:  # EMFILE, ENFILE, ENOBUFS, ENOMEM
            log.warning("cannot accept connections for %g s: %s", PAUSE_S, exc)
            self._pause(PAUSE_S, self._listen)
            return
        conn.setblocking(False)
        self.opening += 1
        self.publish()
        task = self.loop.create_task(self._open(conn))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _added(self, protocol: Any) -> None:
        # Only a protocol made for an accepted socket ends its opening: a WebSocket upgrade
        # swaps the connection's HTTP protocol for a new one, which adds itself too.
        if protocol in self.fresh:
            self.fresh.discard(protocol)
            self.opening -= 1
        self.publish()

    async def _open(self, conn: socket.socket) -> None:
        made: list[asyncio.Protocol] = []

        def protocol() -> asyncio.Protocol:
            made.append(self.factory())
            self.fresh.add(made[0])
            return made[0]

        try:
            await self.loop.connect_accepted_socket(protocol, conn, ssl=self.context)
        except OSError as exc:  # a failed TLS handshake, a reset: that client's alone
            log.debug("connection dropped before it was served: %s", exc)
            conn.close()
        finally:
            if not made or made[0] in self.fresh:  # it never became a connection
                self.fresh.difference_update(made)
                self.opening -= 1
                self.publish()
