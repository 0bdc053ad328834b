"""Time budgets: defaults per target, nesting scopes, sleeps that end with the budget."""

from __future__ import annotations

import time

import pytest

from harness import deadlines
from harness.deadlines import Deadline, DeadlineExceeded, TimeBudgets


def test_defaults_per_target_and_overrides() -> None:
    assert TimeBudgets.for_target("mock") == deadlines.DEFAULTS["mock"]
    local = TimeBudgets.for_target("local", check_s=5)
    assert local.request_s > deadlines.DEFAULTS["mock"].request_s  # a GPU server may load a model
    assert (local.check_s, local.run_s) == (5, deadlines.DEFAULTS["local"].run_s)
    assert TimeBudgets.for_target("a-registered-kind") == deadlines.DEFAULTS["url"]


def test_the_earliest_of_nested_scopes_wins() -> None:
    assert deadlines.earliest() is None
    assert deadlines.capped(7.0) == (7.0, None)
    run = Deadline.after(100, "run")
    with deadlines.scope(run), deadlines.scope(Deadline.after(0.5, "check")) as check:
        assert deadlines.earliest() is check
        wait, cut = deadlines.capped(7.0)
        assert cut is check and 0.4 < wait <= 0.5
        assert deadlines.capped(0.1) == (0.1, None)
    assert deadlines.earliest() is None


def test_a_sleep_ends_with_the_budget_and_names_it() -> None:
    started = time.monotonic()
    with deadlines.scope(Deadline.after(0.2, "the check budget (0.2 s, --check-timeout)")), \
            pytest.raises(DeadlineExceeded, match=r"gave up waiting for the next poll after 0\.2 s: "
                          r"the check budget \(0\.2 s, --check-timeout\) ran out"):
        deadlines.sleep(30, "the next poll")
    assert time.monotonic() - started < 1.0
    deadlines.sleep(0.01)  # no budget: an ordinary pause


def test_a_passed_deadline_is_reported_and_never_blocks() -> None:
    with deadlines.scope(Deadline.after(-1, "the run budget")):
        wait, cut = deadlines.capped(5)
        assert wait == 0.001 and cut is not None  # 0 would mean "do not block" to a socket
        with pytest.raises(DeadlineExceeded, match="the run budget ran out"):
            deadlines.check("anything", time.monotonic())
