"""A bounded, expiring store for the mock's jobs, sessions and uploads.

Long runs (a nightly soak of the served mock, a property test posting thousands of jobs) must
not grow memory without bound, so every stateful object lives here: least-recently-written
items are evicted past ``max_items`` and anything older than ``ttl_s`` is gone. The clock is
injectable so tests can expire entries without sleeping.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

V = TypeVar("V")


class BoundedStore(Generic[V]):
    def __init__(self, max_items: int, ttl_s: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_items < 1 or ttl_s <= 0:
            raise ValueError("BoundedStore needs max_items >= 1 and ttl_s > 0")
        self.max_items, self.ttl_s, self._clock = max_items, ttl_s, clock
        self._items: OrderedDict[str, tuple[float, V]] = OrderedDict()
        self.evicted = 0

    def put(self, key: str, value: V) -> None:
        self._items.pop(key, None)
        self._items[key] = (self._clock(), value)
        self._sweep()

    def get(self, key: str) -> V | None:
        entry = self._items.get(key)
        if entry is None:
            return None
        if self._clock() - entry[0] > self.ttl_s:
            del self._items[key]
            self.evicted += 1
            return None
        return entry[1]

    def pop(self, key: str) -> V | None:
        value = self.get(key)
        self._items.pop(key, None)
        return value

    def _sweep(self) -> None:
        now = self._clock()
        while self._items:
            key, (born, _) = next(iter(self._items.items()))
            if len(self._items) <= self.max_items and now - born <= self.ttl_s:
                break
            del self._items[key]
            self.evicted += 1

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items))
