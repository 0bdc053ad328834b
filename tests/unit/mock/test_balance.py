"""Connections spread over workers (harness/mock/balance.py), with workers as event loops in
threads of this process sharing one board and one listening socket, as processes would."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import threading
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import pytest

from harness.mock import balance
from harness.mock.balance import Acceptor, Board, Slot


class _Held(asyncio.Protocol):
    """A connection that counts itself open until the client closes it, as uvicorn's do."""

    def __init__(self, state: Any) -> None:
        self.state = state

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self.state.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.state.connections.discard(self)

    def data_received(self, data: bytes) -> None:
        if data == b"upgrade":  # as uvicorn's HTTP protocol hands over to its WebSocket one
            self.state.connections.discard(self)
            upgraded = _Held(self.state)
            upgraded.connection_made(self.transport)
            self.transport.set_protocol(upgraded)
            self.transport.write(b"upgraded")


class _Worker:
    """An event loop in a thread, taking connections through an Acceptor on its slot."""

    def __init__(self, sock: socket.socket, board: Board) -> None:
        self.state = SimpleNamespace(connections=set())
        self.slot = board.assign(self)
        self.exitcode: int | None = None
        self.loop = asyncio.new_event_loop()
        self.acceptor: Acceptor | None = None
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)

            def start() -> None:
                self.acceptor = Acceptor(sock, lambda: _Held(self.state), None, self.state,
                                         Slot(board.cells, self.slot))
                ready.set()

            self.loop.call_soon(start)
            self.loop.run_forever()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(5)

    def open(self) -> int:
        return len(self.state.connections)

    def stop(self) -> None:
        def close() -> None:
            assert self.acceptor is not None
            self.acceptor.close()
            for held in list(self.state.connections):
                held.transport.close()
            self.loop.call_soon(self.loop.stop)  # after the closes have run

        self.loop.call_soon_threadsafe(close)
        self.thread.join(5)
        self.loop.close()
        self.exitcode = 0


@pytest.fixture
def listening() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    sock.setblocking(False)
    yield sock
    sock.close()


def _connect_at_once(sock: socket.socket, n: int) -> list[socket.socket]:
    clients = [socket.socket() for _ in range(n)]
    gate = threading.Barrier(n)

    def go(client: socket.socket) -> None:
        gate.wait()
        client.connect(sock.getsockname())

    threads = [threading.Thread(target=go, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    return clients


def _settled(workers: list[_Worker], total: int, within: float = 2.0) -> list[int]:
    deadline = time.monotonic() + within
    while sum(w.open() for w in workers) < total and time.monotonic() < deadline:
        time.sleep(0.005)
    return sorted(w.open() for w in workers)


def test_connections_opened_at_once_split_evenly(listening: socket.socket) -> None:
    board = Board(2)
    workers = [_Worker(listening, board) for _ in range(2)]
    try:
        for n in (4, 4, 8, 16):  # each round closes its connections before the next
            clients = _connect_at_once(listening, n)
            assert _settled(workers, n) == [n // 2, n // 2]
            for c in clients:
                c.close()
            deadline = time.monotonic() + 2
            while any(w.open() for w in workers) and time.monotonic() < deadline:
                time.sleep(0.005)
            assert [w.open() for w in workers] == [0, 0]
    finally:
        for w in workers:
            w.stop()


def test_a_busier_worker_takes_what_a_stuck_sibling_leaves(listening: socket.socket) -> None:
    board = Board(2)
    stuck = Slot(board.cells, board.assign(SimpleNamespace(exitcode=None)))
    stuck.join()  # a live sibling with no connections that never accepts
    worker = _Worker(listening, board)
    try:
        first = socket.create_connection(listening.getsockname())
        assert _settled([worker], 1) == [1]  # as loaded as it may be: 1 against 0
        started = time.monotonic()
        second = socket.create_connection(listening.getsockname())
        assert _settled([worker], 2) == [2]
        waited = time.monotonic() - started
        assert 2 * balance.HOLD_S * 0.8 <= waited < 2 * balance.HOLD_S + 1.0
        first.close()
        second.close()
    finally:
        worker.stop()


def test_a_slot_is_cleared_for_the_next_worker_once_its_own_has_exited() -> None:
    board = Board(1)  # two slots: a restart overlaps the old worker with its replacement
    old, new = SimpleNamespace(exitcode=None), SimpleNamespace(exitcode=None)
    first = Slot(board.cells, board.assign(old))
    first.join()
    first.publish(7)
    assert board.assign(new) != first.index  # the old one still runs
    with pytest.raises(RuntimeError):
        board.assign(SimpleNamespace(exitcode=None))
    old.exitcode = 0
    again = board.assign(SimpleNamespace(exitcode=None))
    assert again == first.index and board.cells[2 * again] == board.cells[2 * again + 1] == 0


def test_only_live_siblings_count() -> None:
    board = Board(2)
    me, gone, idle = (Slot(board.cells, board.assign(SimpleNamespace(exitcode=None)))
                      for _ in range(3))
    me.join()
    gone.publish(0)  # never joined (or left): pid 0, its count means nothing
    assert me.least_loaded(5)
    idle.join()
    assert not me.least_loaded(5) and me.least_loaded(0)
    idle.publish(5)
    assert me.least_loaded(5)
    idle.leave()
    assert me.least_loaded(9)


class _Exhausted(socket.socket):
    """A listening socket out of descriptors: accept fails with EMFILE until told otherwise."""

    exhausted = True

    def accept(self) -> tuple[socket.socket, Any]:
        if self.exhausted:
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        return super().accept()


def test_out_of_descriptors_pauses_accepting_then_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(balance, "PAUSE_S", 0.2)
    sock = _Exhausted(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    worker = _Worker(sock, Board(1))
    try:
        client = socket.create_connection(sock.getsockname())
        time.sleep(0.05)
        assert worker.open() == 0  # paused, not spinning on the readable socket
        type(sock).exhausted = False
        assert _settled([worker], 1) == [1]
        client.close()
    finally:
        worker.stop()
        sock.close()


def test_an_upgraded_connection_still_counts_once(listening: socket.socket) -> None:
    worker = _Worker(listening, Board(1))
    try:
        client = socket.create_connection(listening.getsockname())
        assert _settled([worker], 1) == [1]
        client.sendall(b"upgrade")
        client.settimeout(5)
        assert client.recv(16) == b"upgraded"
        assert worker.acceptor is not None
        assert (worker.acceptor.load(), worker.acceptor.opening) == (1, 0)
        client.close()
        deadline = time.monotonic() + 2
        while worker.open() and time.monotonic() < deadline:
            time.sleep(0.005)
        assert (worker.acceptor.load(), worker.acceptor.opening) == (0, 0)
    finally:
        worker.stop()
