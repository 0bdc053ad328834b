"""The journal's store: a bounded, thread-safe log of the mock's exchanges.

Entries go out oldest first when the log passes its bounds in entries or in bytes (counted as
dropped, so a reader knows it missed some). What no one reads is not worked out, since most
entries never are (a load test's): a small request keeps one raw record and becomes an entry
when first read (*deferred*); a larger one is summed up at once but *holds* its body's chunks,
whose SHA-256 that first reader takes. A 10 MB image's body costs ~8 ms to hash, as much as
receiving it. Held bodies are bounded in bytes too (the hold budget), and one let go before its
entry was read has no digest (``body_sha256`` None); a gateway check reads its entries as soon
as the answer is back, well within that budget. :mod:`harness.mock.journaling` decides which
kind an exchange makes, and serves the log over HTTP.
"""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import replace
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


def sha256_of(parts: Iterable[bytes]) -> Any:
    """The SHA-256 (a hashlib object) of a body's chunks, taken chunk by chunk: a 13 MB body
    is not joined to be hashed."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part)
    return digest


_PUBLISH = threading.Lock()  # a held entry's readers publish what they made under it


class _Held:
    """An entry made at once whose body's digest its first reader takes, from the chunks the
    journal holds until then (or lets go of, past its hold budget: then the digest is None)."""

    __slots__ = ("_entry", "_parts", "seq", "size")

    def __init__(self, entry: journal.Entry, parts: list[bytes]) -> None:
        self._entry = entry
        self._parts: list[bytes] | None = parts
        self.seq, self.size = entry.seq, entry.body_bytes

    def release(self) -> None:
        self._parts = None

    def get(self) -> journal.Entry:
        parts, entry = self._parts, self._entry
        if entry.body_sha256 != "":  # taken, or known to be lost
            return entry
        if parts is None:
            made = replace(entry, body_sha256=None)
        else:
            made = replace(entry, body_sha256=sha256_of(parts).hexdigest())
        with _PUBLISH:  # a digest once taken stands, whichever reader finishes last
            if self._entry.body_sha256 == "" or made.body_sha256:
                self._entry = made
            self._parts = None
            return self._entry


class Journal:
    """A bounded, thread-safe log of :class:`~harness.journal.Entry`, oldest dropped first."""

    def __init__(self, max_entries: int, max_bytes: int, max_held_bytes: int = 64 << 20) -> None:
        if max_entries < 1 or max_bytes < 1 or max_held_bytes < 0:
            raise UsageError("journal bounds must be positive (entries and bytes), its hold "
                             "budget not negative")
        self.max_entries, self.max_bytes, self.max_held_bytes = max_entries, max_bytes, max_held_bytes
        self.run = uuid.uuid4().hex[:12]
        self._lock = threading.Lock()
        self._items: deque[tuple[int, journal.Entry | _Deferred | _Held, int]] = deque()
        self._held: deque[_Held] = deque()  # entries holding their bodies, oldest first
        self._bytes = self._seq = self.dropped = self.in_flight = self.held_bytes = 0

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

    def append(self, entry: journal.Entry, body: list[bytes] | None = None) -> None:
        """Entry made at once; with ``body`` (its chunks) and ``body_sha256`` "", the digest
        is taken by the entry's first reader, if the body is still held by then."""
        size = _size(entry.to_dict())
        if body is None:
            self._add(entry.seq, entry, size)
        else:  # the hex digest fills in the empty body_sha256: 64 more bytes
            held = _Held(entry, body)
            if held.size > self.max_held_bytes:  # held, it would only push the others out
                held.release()
            else:
                with self._lock:
                    self._held.append(held)
                    self.held_bytes += held.size
                    self._let_go(0)
            self._add(entry.seq, held, size + 64)

    def defer(self, seq: int, build: Callable[[Any], journal.Entry], facts: Any,
              size: int) -> None:
        """Entry ``seq``, made by ``build(facts)`` when first read; ``size``: what the facts
        hold."""
        self._add(seq, _Deferred(build, facts), size)

    def _add(self, seq: int, item: journal.Entry | _Deferred | _Held, size: int) -> None:
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
        items, seq = self._items, 0
        while items and (len(items) > self.max_entries or self._bytes > self.max_bytes):
            seq, _, size = items.popleft()
            self._bytes -= size
            self.dropped += 1
        self._let_go(seq)

    def _let_go(self, dropped: int) -> None:
        """Let go of held bodies, oldest first, past the hold budget or of entries up to seq
        ``dropped`` (lock held). One already read was let go of by its reader; it is counted
        until here, which only makes the budget err on the safe side."""
        held = self._held
        while held and (self.held_bytes > self.max_held_bytes or held[0].seq <= dropped):
            oldest = held.popleft()
            oldest.release()
            self.held_bytes -= oldest.size

    def entries(self, since: int = 0) -> list[journal.Entry]:
        """Entries with ``seq > since``, oldest first. They are made outside the lock: one may
        hash a held body (~8 ms for a 10 MB image's), and the event loop takes the lock for
        every request."""
        with self._lock:
            items = [item for seq, item, _ in self._items if seq > since]
        return [item if isinstance(item, journal.Entry) else item.get() for item in items]

    def clear(self) -> int:
        with self._lock:
            n = len(self._items)
            self._items.clear()
            self._bytes = 0
            self._let_go(self._seq)
            return n

    def snapshot(self, since: int = 0) -> dict[str, Any]:
        items = self.entries(since)
        with self._lock:
            return {"run": self.run, "next": self._seq, "dropped": self.dropped,
                    "bytes": self._bytes, "in_flight": self.in_flight,
                    "entries": [e.to_dict() for e in items]}


def _size(entry: dict[str, Any]) -> int:
    """Bytes of ``entry`` as JSON, for the byte budget: orjson measures a small chat's entry
    several times faster than json (this ran on every request); json takes what orjson
    refuses (an integer past 64 bits among the echoed parameters)."""
    try:
        return len(orjson.dumps(entry))
    except orjson.JSONEncodeError:
        return len(json.dumps(entry, ensure_ascii=False).encode())
