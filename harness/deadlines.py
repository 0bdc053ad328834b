"""Time budgets: nothing the harness does waits without a deadline.

Three budgets bound a run: the *request* timeout (``--timeout``: one whole exchange, from
connecting to the last byte of a stream), the *check* budget (``--check-timeout``: one check
and every request it makes) and the *run* budget (``--run-timeout``). They are cooperative, not
enforced by killing threads: the engine opens a :func:`scope` for the run and one per check,
and every blocking wait (a socket read, a WebSocket receive, a poll's sleep) asks
:func:`remaining` and waits at most that long. So each request's deadline is the earliest of
its own timeout and whatever is left of the check and the run, and running out raises one
:class:`DeadlineExceeded` that says what was being waited for, for how long, and which budget
ended it. Defaults depend on the target: a local GPU server gets longer than the mock.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from harness.errors import HarnessError


@dataclass(frozen=True, slots=True)
class Deadline:
    """A moment on the monotonic clock and the budget it belongs to (``--check-timeout 60 s``)."""

    at: float
    budget: str

    @classmethod
    def after(cls, seconds: float, budget: str) -> Deadline:
        return cls(time.monotonic() + seconds, budget)

    def remaining(self) -> float:
        return self.at - time.monotonic()


@dataclass(frozen=True, slots=True)
class TimeBudgets:
    """Seconds for one request, one check and the whole run; every one is finite."""

    request_s: float
    check_s: float
    run_s: float

    @classmethod
    def for_target(cls, kind: str, *, request_s: float | None = None,
                   check_s: float | None = None, run_s: float | None = None) -> TimeBudgets:
        """The target kind's defaults, each overridden by the value given (flag or config)."""
        base = DEFAULTS.get(kind, DEFAULTS["url"])
        return cls(base.request_s if request_s is None else request_s,
                   base.check_s if check_s is None else check_s,
                   base.run_s if run_s is None else run_s)


# The in-process mock answers in milliseconds; a served mock or gateway crosses a network; a
# live provider queues jobs; a local GPU server may load a model on its first request.
DEFAULTS = {
    "mock": TimeBudgets(30.0, 60.0, 900.0),
    "cassette": TimeBudgets(30.0, 60.0, 900.0),
    "url": TimeBudgets(30.0, 90.0, 1800.0),
    "live": TimeBudgets(120.0, 300.0, 3600.0),
    "local": TimeBudgets(120.0, 180.0, 1800.0),
}


class DeadlineExceeded(HarnessError):
    """A budget ran out while waiting; the message names the wait, its length and the budget.

    Deliberately not a :class:`TimeoutError` or an httpx error: checks that expect a timeout
    from the server (a realtime event that should not come) must not swallow the end of the
    harness's own budget.
    """

    def __init__(self, what: str, waited_s: float, budget: str) -> None:
        self.what, self.waited_s, self.budget = what, waited_s, budget
        super().__init__(f"gave up waiting for {what} after {waited_s:.1f} s: {budget} ran out")


_ACTIVE: ContextVar[tuple[Deadline, ...]] = ContextVar("vlm_harness_deadlines", default=())


@contextmanager
def scope(deadline: Deadline) -> Iterator[Deadline]:
    """Every wait inside the block ends by ``deadline`` too (scopes nest; the earliest wins)."""
    token = _ACTIVE.set((*_ACTIVE.get(), deadline))
    try:
        yield deadline
    finally:
        _ACTIVE.reset(token)


def earliest(*extra: Deadline) -> Deadline | None:
    """The first deadline to end among the active scopes and ``extra``."""
    found = (*_ACTIVE.get(), *extra)
    return min(found, key=lambda d: d.at) if found else None


def capped(cap: float) -> tuple[float, Deadline | None]:
    """How long a wait of up to ``cap`` seconds may block, and the deadline that cut it short
    (None when ``cap`` itself is the limit). Never 0, which sockets read as "do not block"."""
    first = earliest()
    if first is None or first.remaining() >= cap:
        return cap, None
    return max(first.remaining(), 0.001), first


def check(what: str, started: float) -> None:
    """Raise :class:`DeadlineExceeded` when the earliest active deadline has passed."""
    first = earliest()
    if first is not None and first.remaining() <= 0:
        raise DeadlineExceeded(what, time.monotonic() - started, first.budget)


def sleep(seconds: float, what: str = "a pause between requests") -> None:
    """``time.sleep`` that ends with the active budget (and then raises, naming it)."""
    started = time.monotonic()
    wait, cut = capped(seconds)
    time.sleep(wait)
    if cut is not None:
        raise DeadlineExceeded(what, time.monotonic() - started, cut.budget)
