"""Bounded, expiring stores for the mock's state: by count, by bytes, by age, per provider.

Long runs (a nightly soak of the served mock, a property test posting thousands of jobs, a
flood of 100 MB uploads) must not grow memory without bound, so every stateful object lives
here. A :class:`BoundedStore` evicts its least-recently-written items past ``max_items`` or
past ``max_bytes`` (each value's size is measured once, when it is put), and anything older
than ``ttl_s`` is gone, on access and on :meth:`sweep`, which the app's background
:class:`Sweeper` runs every few seconds so that expired bytes are freed even when nothing new
arrives. A value bigger than the whole byte budget is kept alone (it was accepted by the
provider's own size limit). :class:`Partition` gives each provider its own stores, so one
provider's flood never evicts another's jobs. :class:`Journal` is a log bounded the same way.
The clock is injectable so tests can expire entries without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from harness.mock.allocator import release_freed_memory
from harness.mock.shared_store import DiskStore

V = TypeVar("V")
T = TypeVar("T")
Clock = Callable[[], float]


class BoundedStore(Generic[V]):
    def __init__(self, max_items: int, ttl_s: float, clock: Clock = time.monotonic, *,
                 max_bytes: int | None = None, size: Callable[[V], int] = lambda v: 0) -> None:
        if max_items < 1 or ttl_s <= 0 or (max_bytes is not None and max_bytes < 1):
            raise ValueError("BoundedStore needs max_items >= 1, ttl_s > 0 and max_bytes >= 1")
        self.max_items, self.ttl_s, self.max_bytes, self._clock = max_items, ttl_s, max_bytes, clock
        self._size = size
        self._items: OrderedDict[str, tuple[float, int, V]] = OrderedDict()
        self.bytes = 0
        self.evicted = 0

    def put(self, key: str, value: V) -> None:
        self._drop(key)
        n = self._size(value)
        self._items[key] = (self._clock(), n, value)
        self.bytes += n
        self._evict()

    def get(self, key: str) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if self._clock() - entry[0] > self.ttl_s:
            self._drop(key)
            self.evicted += 1
            return None
        return entry[2]

    def pop(self, key: str) -> V | None:
        value = self.get(key)
        self._drop(key)
        return value

    def sweep(self) -> int:
        """Drop every expired item now; how many went."""
        before = self.evicted
        self._evict()
        return self.evicted - before

    def _drop(self, key: str) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self.bytes -= entry[1]

    def _evict(self) -> None:
        now = self._clock()
        while self._items:
            key, (born, _, _) = next(iter(self._items.items()))
            over_bytes = (self.max_bytes is not None and self.bytes > self.max_bytes
                          and len(self._items) > 1)
            if len(self._items) <= self.max_items and not over_bytes and now - born <= self.ttl_s:
                break
            self._drop(key)
            self.evicted += 1

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))


class Journal(Generic[T]):
    """An append-only log keeping its newest entries within a count and a byte budget."""

    def __init__(self, max_items: int, max_bytes: int, size: Callable[[T], int]) -> None:
        self.max_items, self.max_bytes, self._size = max_items, max_bytes, size
        self._entries: deque[tuple[int, T]] = deque()
        self.bytes = 0

    def append(self, entry: T) -> None:
        n = self._size(entry)
        self._entries.append((n, entry))
        self.bytes += n
        while len(self._entries) > 1 and (len(self._entries) > self.max_items
                                          or self.bytes > self.max_bytes):
            self.bytes -= self._entries.popleft()[0]

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[T]:
        return iter([e for _, e in self._entries])

    def __getitem__(self, index: int) -> T:
        return self._entries[index][1]


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits of one kind of store, per provider (``MockConfig`` holds the defaults)."""

    max_items: int
    ttl_s: float
    max_bytes: int


@dataclass(frozen=True, slots=True)
class Partition:
    """One provider's state: its jobs (and their results), uploads and realtime sessions."""

    jobs: BoundedStore[Any] | DiskStore[Any]
    uploads: BoundedStore[bytes] | DiskStore[bytes]
    sessions: BoundedStore[Any]

    @classmethod
    def create(cls, jobs: Budget, uploads: Budget, sessions: Budget,
               sizes: Callable[[Any], int], clock: Clock = time.monotonic,
               shared: Path | None = None) -> Partition:
        """In memory; with ``shared`` (``serve --workers N``) jobs and uploads on disk there."""
        def store(b: Budget, size: Callable[[Any], int], name: str = "") -> Any:
            if shared is not None and name:
                return DiskStore(shared / name, b.max_items, b.ttl_s, max_bytes=b.max_bytes)
            return BoundedStore(b.max_items, b.ttl_s, clock, max_bytes=b.max_bytes, size=size)

        return cls(store(jobs, sizes, "jobs"), store(uploads, len, "uploads"),
                   store(sessions, sizes))

    @property
    def stores(self) -> tuple[BoundedStore[Any] | DiskStore[Any], ...]:
        return self.jobs, self.uploads, self.sessions


class Sweeper:
    """Runs ``sweep`` every ``interval_s`` on the loop that serves the app, started lazily by
    the first request (the in-process transports run no lifespan) and stopped by :meth:`stop`."""

    def __init__(self, sweep: Callable[[], Any], interval_s: float) -> None:
        self.sweep, self.interval_s = sweep, interval_s
        self._task: asyncio.Task[None] | None = None

    def ensure_running(self) -> None:
        """Start the sweep on the running loop unless it runs already. Called on every request,
        so the common case asks only the task: on Python 3.11 ``asyncio.get_running_loop()``
        makes a ``getpid`` system call (it checks for a fork), a quarter of a small chat's
        system calls. A task whose loop no longer runs (a test's loop, closed) sweeps nothing:
        the sweep starts again on this one."""
        task = self._task
        if task is None or task.done() or not task.get_loop().is_running():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_s)
            if self.sweep():
                release_freed_memory()

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None and task.get_loop() is asyncio.get_running_loop():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
