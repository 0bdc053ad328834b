"""Fixtures for the check tests: the reference mock as a target, and the mock with one thing broken.

A check must be able to fail, so each family's tests run it twice: on the reference mock (it
passes) and on the same mock behind :class:`harness.mock.defects.Rewrite`, which buffers one
exchange and lets a test edit the request before the app sees it or the response before the
client does (drop ``data: [DONE]``, answer 500 to bad JSON, echo the key...). ``run_check``
runs one scenario on one provider API and returns its findings, without the engine around it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from harness import providers
from harness.checks.exchange import Probe
from harness.checks.registry import CheckContext, registered
from harness.findings import Finding
from harness.mock.defects import Answer, Rewrite, Wire
from harness.secrets import Scrubber
from harness.targets import TargetOptions, make_target
from harness.targets.base import Target
from harness.targets.mock import MockTarget

RequestEdit = Callable[[Wire], Wire]
ResponseEdit = Callable[[Wire, int, dict[str, str], bytes], tuple[int, dict[str, str], bytes]]


def _answer_edit(edit: ResponseEdit) -> Callable[[Wire, Answer], Answer]:
    """Adapts the tests' (status, headers, body) edits to the product's Answer edits."""

    def apply(wire: Wire, answer: Answer) -> Answer:
        answer.status, answer.headers, answer.body = edit(wire, answer.status, answer.headers,
                                                          answer.body)
        return answer

    return apply


@pytest.fixture
def mock_target() -> Iterator[Target]:
    target = make_target(TargetOptions())
    yield target
    target.close()


@pytest.fixture
def broken_target() -> Iterator[Callable[..., Target]]:
    """``broken_target(request=..., response=...)``: the mock behind a :class:`Rewrite`."""
    made: list[MockTarget] = []

    def make(*, request: RequestEdit | None = None, response: ResponseEdit | None = None) -> Target:
        target = MockTarget()
        target.app = Rewrite(target.app, request=request,  # type: ignore[assignment]
                             response=_answer_edit(response) if response else None)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


RunCheck = Callable[..., list[Finding]]


@pytest.fixture
def run_check() -> RunCheck:
    """``run_check(target, "mimo", "openai-chat", "sse-framing")`` -> the scenario's findings."""

    def run(target: Target, provider: str, protocol: str, name: str, *,
            options: dict[str, Any] | None = None, probe_out: list[Probe] | None = None
            ) -> list[Finding]:
        profile = providers.get(provider)
        api = profile.api(protocol)
        probe = Probe(target, profile, api)
        if probe_out is not None:
            probe_out.append(probe)
        ctx = CheckContext(target, profile, api, probe, Scrubber(()), check=name,
                           options=dict(options or {}))
        return list(registered()[name].fn(ctx))

    return run
