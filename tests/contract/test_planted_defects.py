"""The whole suite against a deliberately broken mock: each planted defect is caught by the
check that owns it, and the clean mock gives no finding at all.

A suite that passes everything proves nothing, so each defect from
:mod:`harness.mock.defects` is planted alone and the full engine runs on the affected
provider; the test asserts that the named check fails with an error finding (and that the
same check passes on the clean mock, so the failure is the defect's doing).
"""

from __future__ import annotations

import pytest

from harness import engine
from harness.mock.config import MockConfig
from harness.mock.defects import DEFECTS
from harness.report.results import Outcome, RunResult
from harness.targets.mock import MockTarget

# defect -> (provider to run, the check that must report it)
EXPECTED = {
    "wrong-field-type": ("modelbest", "response-schema-conformance"),
    "missing-done": ("mimo", "sse-framing"),
    "stream-disagrees": ("modelbest", "stream-equals-non-stream"),
    "status-backwards": ("wavespeed", "async-job-lifecycle"),
    "500-on-bad-input": ("mimo", "bad-input-errors"),
    "wrong-error-shape": ("fal", "error-shape"),
    "key-leak": ("wavespeed", "auth-enforced"),
    "failed-envelope": ("wavespeed", "envelope-failure"),
}


def run_suite(provider: str, defects: str = "") -> RunResult:
    target = MockTarget(mock_config=MockConfig(defects=defects, job_step_s=0.01))
    try:
        return engine.run(engine.Plan(target=target, provider_spec=provider,
                                      options={"poll_interval": 0.01}))
    finally:
        target.close()


def test_every_defect_has_an_expectation() -> None:
    assert set(EXPECTED) == set(DEFECTS)


@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_planted_defect_is_reported_by_the_right_check(defect: str) -> None:
    provider, check = EXPECTED[defect]
    clean = run_suite(provider)
    broken = run_suite(provider, defect)
    clean_rows = [c for c in clean.cases if c.check == check]
    broken_rows = [c for c in broken.cases if c.check == check]
    assert clean_rows and all(c.outcome is Outcome.PASS for c in clean_rows), clean_rows
    failing = [c for c in broken_rows if c.outcome is Outcome.FAIL]
    assert failing, f"{check} did not report {defect}: {broken_rows}"
    assert any(f.is_error and f.check == check for c in failing for f in c.findings)
    assert broken.exit_code == 1


def test_clean_mock_gives_no_finding_on_any_provider() -> None:
    result = run_suite("all")
    assert not [f for f in result.findings if f.is_error], [f.message for f in result.findings]
    assert not [c for c in result.cases if c.outcome is Outcome.FAIL]
    assert result.exit_code == 0


def test_an_unknown_defect_lists_the_known_ones() -> None:
    from harness.errors import UnknownNameError

    with pytest.raises(UnknownNameError, match="known: 500-on-bad-input"):
        MockTarget(mock_config=MockConfig(defects="wrong-feild-type"))
