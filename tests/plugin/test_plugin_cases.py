"""One pytest item per contract case: readable ids, -k, --lf, skips with reasons, readable
failures, one merged report, and the same items distributed by pytest-xdist."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

# Imported here, before pytester snapshots sys.modules: an in-process inner run would otherwise
# import them afresh each time, and classes such as WebSocketClosed would stop being identical.
import harness.cases
import harness.checks.realtime
import harness.targets.mock
import harness.targets.url  # noqa: F401
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock

pytest_plugins = ["pytester"]

PARAMETRIZED = """
    import harness.cases

    test_contract = harness.cases.contract(provider="{provider}").parametrize()
"""


@pytest.fixture(scope="module")
def broken_mock() -> Iterator[ServedMock]:
    """A served mock whose MiMo OpenAI stream never sends ``[DONE]``."""
    with ServedMock(MockConfig(defects="missing-done", job_step_s=0.02)) as served:
        yield served


def test_one_item_per_case_with_readable_ids(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parametrized=PARAMETRIZED.format(provider="modelbest"))
    result = pytester.runpytest("--collect-only", "-q")
    ids = [line for line in result.outlines if "::test_contract[" in line]
    assert "test_parametrized.py::test_contract[modelbest-openai-chat-stream-equals-non-stream]" in ids
    assert len(ids) == len(set(ids)) > 5


def test_cases_pass_skip_with_reasons_and_k_selects(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parametrized=PARAMETRIZED.format(provider="modelbest"))
    result = pytester.runpytest("-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) > 3 and "failed" not in outcomes
    result.stdout.fnmatch_lines(["*not-offered: modelbest does not offer *"])
    picked = pytester.runpytest("-k", "stream-equals")
    picked.assert_outcomes(passed=1)


def test_failing_case_lists_its_findings_and_lf_reruns_it(
        pytester: pytest.Pytester, broken_mock: ServedMock) -> None:
    pytester.makepyfile(test_parametrized=PARAMETRIZED.format(provider="mimo"))
    args = ["-p", "cacheprovider", "--vlm-target", "url", "--vlm-base-url", broken_mock.url]
    first = pytester.runpytest(*args)
    failed = first.parseoutcomes()["failed"]
    assert failed >= 1
    first.stdout.fnmatch_lines(["*sse-framing on *"])
    assert "Finding(" not in first.stdout.str()
    again = pytester.runpytest(*args, "--lf")
    assert again.parseoutcomes() == {"failed": failed}  # only the failures ran again


def _results(pytester: pytest.Pytester) -> dict[str, object]:
    data: dict[str, object] = json.loads((pytester.path / "out" / "results.json").read_text())
    return data


def test_session_end_writes_one_merged_report(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_parametrized=PARAMETRIZED.format(provider="local"))
    pytester.runpytest()
    assert not (pytester.path / "out").exists()  # no folder given: nothing written
    outcomes = pytester.runpytest("--vlm-reports-dir", "out").parseoutcomes()
    data = _results(pytester)
    assert data["meta"]["providers"] == ["local"]  # type: ignore[index]
    scenario_rows = [c for c in data["cases"] if not c["reason"].startswith("via ")]  # type: ignore[attr-defined]
    assert len(scenario_rows) == sum(outcomes.values())  # one scenario row per item


def test_xdist_workers_give_one_merged_report(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    pytester.makepyfile(test_parametrized=PARAMETRIZED.format(provider="local,wavespeed"))
    serial = pytester.runpytest("--vlm-reports-dir", "out")
    one = _results(pytester)
    (pytester.path / "out" / "results.json").unlink()
    spread = pytester.runpytest("-p", "xdist", "-n", "2", "--vlm-reports-dir", "out")
    assert spread.parseoutcomes() == serial.parseoutcomes()
    two = _results(pytester)

    def rows(data: dict[str, object]) -> list[tuple[str, str, str, str]]:
        return [(c["check"], c["provider"], c["endpoint"], c["outcome"])  # type: ignore[index]
                for c in data["cases"]]  # type: ignore[attr-defined]

    assert sorted(rows(two)) == sorted(rows(one)) and rows(one)
    assert (pytester.path / "out" / "index.html").exists()
