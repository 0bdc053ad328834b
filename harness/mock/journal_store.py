"""The journal's store: a bounded, thread-safe log of the mock's exchanges.

Entries go out oldest first when the log passes its bounds in entries or in bytes (counted as
dropped, so a reader knows it missed some). An entry is either made at once (a large request,
summed up before its body is let go; its body's digest may still be on its way from a worker
thread, and a reader waits for it) or *deferred*: a small request keeps one raw record and
becomes an :class:`~harness.journal.Entry` only when the log is read, since most never are
(:mod:`harness.mock.journaling` decides which, and serves the log over HTTP).
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import replace
from functools import partial
from typing import Any

import orjson

from harness import journal
from harness.errors import UsageError


class _Deferred:
    """An entry made by ``build(facts)`` when first read (a small request's raw record)."""

    __slots__ = ("_build", "_entry", "_facts")

    def __init__(self, build: Callable[[Any], journal.Entry], facts: Any) -> None:
        self._build: Callable[[Any], journal.Entry] | None = build
        self._facts: Any = facts
        self._entry: journal.Entry | None = None

    def get(self) -> journal.Entry:
        """The entry, made on the first call; two readers at once may both make it (the same
        value), so each takes what it needs before the other can let it go."""
        entry, build, facts = self._entry, self._build, self._facts
        if entry is not None:
            return entry
        if build is None:  # another reader made it between the two reads above
            assert self._entry is not None
            return self._entry
        entry = self._entry = build(facts)
        self._build = self._facts = None
        return entry


class Journal:
    """A bounded, thread-safe log of :class:`~harness.journal.Entry`, oldest dropped first."""

    def __init__(self, max_entries: int, max_bytes: int) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise UsageError("journal bounds must be positive (entries and bytes)")
        self.max_entries, self.max_bytes = max_entries, max_bytes
        self.run = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._items: deque[tuple[int, journal.Entry | _Deferred, int]] = deque()
        self._bytes = self._seq = self.dropped = self.in_flight = 0

    def next_seq(self) -> int:
        """The number of a request that just arrived (it is in flight until appended)."""
        with self._lock:
            self._seq += 1
            self.in_flight += 1
            return self._seq

    @property
    def last_seq(self) -> int:
        """The number of the newest request that arrived (journaled or still in flight)."""
        with self._lock:
            return self._seq

    def append(self, entry: journal.Entry, body_digest: Future[Any] | None = None) -> None:
        """Entry made at once; ``body_digest``: its body's SHA-256 (a hashlib object) still
        being taken on a worker thread, which the entry's first reader waits for."""
        size = _size(entry.to_dict())
        if body_digest is None:
            self._add(entry.seq, entry, size)
        else:  # the hex digest fills in the empty body_sha256: 64 more bytes
            self._add(entry.seq, _Deferred(partial(_digested, body_digest), entry), size + 64)

    def defer(self, seq: int, build: Callable[[Any], journal.Entry], facts: Any,
              size: int) -> None:
        """Entry ``seq``, made by ``build(facts)`` when first read; ``size``: what the facts
        hold."""
        self._add(seq, _Deferred(build, facts), size)

    def _add(self, seq: int, item: journal.Entry | _Deferred, size: int) -> None:
        items = self._items
        with self._lock:
            if self.in_flight:
                self.in_flight -= 1
            items.append((seq, item, size))
            self._bytes += size
            if len(items) > self.max_entries or self._bytes > self.max_bytes:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        """Drop entries, oldest first, until the log is within its bounds (lock held)."""
        items = self._items
        while items and (len(items) > self.max_entries or self._bytes > self.max_bytes):
            self._bytes -= items.popleft()[2]
            self.dropped += 1

    def entries(self, since: int = 0) -> list[journal.Entry]:
        """Entries with ``seq > since``, oldest first. They are made outside the lock: one may
        wait for its body's digest, and the event loop takes the lock for every request."""
        with self._lock:
            items = [item for seq, item, _ in self._items if seq > since]
        return [item if isinstance(item, journal.Entry) else item.get() for item in items]

    def clear(self) -> int:
        with self._lock:
            n = len(self._items)
            self._items.clear()
            self._bytes = 0
            return n

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        items = self.entries(since)
        with self._lock:
            return {"run": self.run, "next": self._seq, "dropped": self.dropped,
                    "bytes": self._bytes, "in_flight": self.in_flight,
                    "entries": [e.to_dict() for e in items]}


def _digested(body_digest: Future[Any], entry: journal.Entry) -> journal.Entry:
    return replace(entry, body_sha256=body_digest.result().hexdigest())


def _size(entry: dict[str, Any]) -> int:
    """Bytes of ``entry`` as JSON, for the byte budget: orjson measures a small chat's entry
    several times faster than json (this ran on every request); json takes what orjson
    refuses (an integer past 64 bits among the echoed parameters)."""
    try:
        return len(orjson.dumps(entry))
    except orjson.JSONEncodeError:
        return len(json.dumps(entry, ensure_ascii=False).encode())
