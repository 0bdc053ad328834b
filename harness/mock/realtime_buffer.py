"""The MiniCPM-o Realtime input buffer: audio is heard in real time, old chunks are dropped.

The service listens to a duplex session's audio at the speed it was spoken; a client that
sends faster than real time "has old chunks silently dropped" (providers.md 3). The mock models
that on the session's clock: each chunk takes its duration (times the clock's scale) to be
heard, a chunk that arrives while another is being heard waits in a bounded buffer, and when
the buffer is full the oldest waiting chunk is dropped without a word. A client sending at the
pace of speech never waits and never loses a chunk, so it sees what it saw before: an answer
per chunk, at once. How much may wait is not documented; :data:`DEFAULT_WAITING_S` is the
harness's choice, generous enough that a client only slightly ahead of real time loses nothing,
and ``MockConfig.realtime_buffer_s`` changes it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

DEFAULT_WAITING_S = 8.0  # seconds of speech that may wait to be heard (MockConfig.realtime_buffer_s)

T = TypeVar("T")


@dataclass
class InputBuffer(Generic[T]):
    """Chunks waiting to be heard, each with its spoken duration; times are the loop's clock."""

    scale: float  # wall seconds per second of speech (the session's time scale)
    capacity_s: float = DEFAULT_WAITING_S  # seconds of speech allowed to wait
    free_at: float = 0.0  # when the chunk being heard has been heard
    _waiting: deque[tuple[T, float]] = field(default_factory=deque)

    def add(self, item: T, seconds: float) -> int:
        """Queue ``item`` (``seconds`` of speech); returns how many old chunks it pushed out."""
        self._waiting.append((item, seconds))
        pushed = 0
        while len(self._waiting) > 1 and self.waiting_s > self.capacity_s:
            self._waiting.popleft()
            pushed += 1
        return pushed

    @property
    def waiting_s(self) -> float:
        return sum(seconds for _, seconds in self._waiting)

    def due(self, now: float) -> Iterator[T]:
        """The chunks whose turn to be heard has come by ``now``, oldest first."""
        while self._waiting and now >= self.free_at:
            item, seconds = self._waiting.popleft()
            self.free_at = max(now, self.free_at) + seconds * self.scale
            yield item

    def next_due_in(self, now: float) -> float | None:
        """Seconds until the next waiting chunk is heard; None when nothing waits."""
        return max(0.0, self.free_at - now) if self._waiting else None
