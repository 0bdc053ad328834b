"""Progress of a long command (run, fuzz, record, drift), for a person or for a CI log.

The engine, the fuzz runner and the drift prober report each unit of work (a check on one
provider API, a fuzzed operation, a probe) to a :class:`Progress`: ``started(label)`` when it
begins and ``finished(label, outcome, seconds)`` when it ends. :class:`ConsoleProgress` shows
that on a terminal as one live status line (what is running, and for how long); anywhere else
(a CI log, a pipe, a file) it prints one plain line per finished unit, with the time since the
command started and the unit's own duration, so a slow or stuck provider is visible in the log
as it happens, not after the run. Lines go to stderr: stdout stays the command's result.
"""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Protocol

from rich.console import Console
from rich.status import Status

from harness import output


class Progress(Protocol):
    def started(self, label: str) -> None: ...

    def finished(self, label: str, outcome: str, seconds: float) -> None: ...


class ConsoleProgress:
    """A context manager: a live status on a terminal, plain lines elsewhere, nothing when
    ``quiet``."""

    def __init__(self, verb: str, *, console: Console | None = None, quiet: bool = False) -> None:
        self.verb = verb
        self.console = console or output.stderr()
        self.quiet = quiet
        self.t0 = time.perf_counter()
        self.done = 0
        self._running: dict[str, None] = {}  # insertion-ordered: cases in flight at once
        self._lock = threading.Lock()
        self._status: Status | None = None

    @property
    def live(self) -> bool:
        return self.console.is_terminal and not self.quiet

    def __enter__(self) -> ConsoleProgress:
        if self.live:
            self._status = self.console.status(f"{self.verb}: starting")
            self._status.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._status is not None:
            self._status.stop()

    def _show(self) -> None:
        if self._status is not None:
            running = ", ".join(self._running) or "finishing"
            self._status.update(f"{self.verb} ({self.done} done, "
                                f"{time.perf_counter() - self.t0:.0f} s): {running}")

    def started(self, label: str) -> None:
        with self._lock:
            self._running[label] = None
            self._show()

    def finished(self, label: str, outcome: str, seconds: float) -> None:
        with self._lock:
            self._running.pop(label, None)
            self.done += 1
            if self.live:
                self._show()
            elif not self.quiet:
                self.console.print(f"[{time.perf_counter() - self.t0:7.1f} s] {outcome:<11} "
                                   f"{label} ({seconds:.2f} s)", markup=False, highlight=False,
                                   soft_wrap=True)
