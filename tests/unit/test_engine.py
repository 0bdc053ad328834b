"""The engine: cases planned once, run sequentially or concurrently with the same result."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType

import pytest

from harness import engine, providers
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.report.results import CaseResult, Outcome, RunResult
from harness.targets import make_target
from harness.targets.base import TargetOptions
from harness.targets.mock import MockTarget


def _content(result: RunResult) -> list[tuple[object, ...]]:
    """Everything but timing: rows in order, outcome, reason and every finding."""
    return [(c.check, c.provider, c.endpoint, c.outcome, c.reason,
             tuple((f.severity, f.message, f.schema_pointer) for f in c.findings))
            for c in result.cases]


def test_case_ids_are_unique_readable_and_cover_every_scenario() -> None:
    cases = engine.plan_cases(engine.Plan(target=MockTarget()))
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    assert "mimo-anthropic-messages-stream-equals-non-stream" in ids
    decided = {c.id: c for c in cases if c.outcome is not None}
    assert all(c.reason for c in decided.values())  # a decided case always says why


@pytest.fixture(scope="module")
def steady_mock() -> Iterator[ServedMock]:
    """A served mock whose job clock (200 ms a step) leaves a loaded CI machine room: a cancel
    sent right after a submit lands before completion in both runs, so only the engine differs."""
    with ServedMock(MockConfig(job_step_s=0.2)) as served:
        yield served


def test_concurrent_run_equals_sequential_run(steady_mock: ServedMock) -> None:
    target = make_target(TargetOptions(kind="url", base_url=steady_mock.url))
    try:
        plan = engine.Plan(target=target, provider_spec="modelbest,mimo,fal")
        sequential = engine.run(plan)
        concurrent = engine.run(replace(plan, concurrency=8))
    finally:
        target.close()
    assert _content(concurrent) == _content(sequential)
    assert any(c.outcome is Outcome.PASS for c in sequential.cases)


def _fake_cases(counts: dict[str, int], capability: str = "text") -> list[engine.Case]:
    spec = next(s for s in engine.select(None) if s.capability == capability)
    cases = []
    for name, n in counts.items():
        profile = providers.get(name)
        cases += [engine.Case(spec, profile, profile.apis[0]) for _ in range(n)]
    return cases


def test_execute_keeps_order_and_caps_in_flight_cases() -> None:
    cases = _fake_cases({"modelbest": 6, "mimo": 6, "fal": 6})
    lock, live, peak = threading.Lock(), {"all": 0}, {"all": 0}

    def run_one(case: engine.Case) -> list[CaseResult]:
        name = case.profile.name
        with lock:
            for key in ("all", name):
                live[key] = live.get(key, 0) + 1
                peak[key] = max(peak.get(key, 0), live[key])
        time.sleep(0.02)
        with lock:
            for key in ("all", name):
                live[key] -= 1
        index = next(i for i, c in enumerate(cases) if c is case)
        return [CaseResult(check=str(index), provider=name, endpoint="e", capability="c",
                           outcome=Outcome.PASS)]

    out = engine._execute(cases, run_one, concurrency=4)
    assert [rows[0].check for rows in out] == [str(i) for i in range(len(cases))]
    assert peak["all"] == 4  # reached, never passed
    assert max(peak[n] for n in ("modelbest", "mimo", "fal")) <= 4


def test_a_profile_limit_caps_its_provider() -> None:
    profile = providers.get("modelbest")
    limited = replace(profile, apis=tuple(
        replace(api, limits=MappingProxyType({**api.limits, "max_concurrency": 2}))
        for api in profile.apis))
    assert engine.provider_cap(limited, 8) == 2
    assert engine.provider_cap(profile, 8) == 8
    assert engine.provider_cap(profile, 0) == 1


def test_a_harness_error_in_a_worker_is_raised_not_lost() -> None:
    def boom(case: engine.Case) -> list[CaseResult]:
        raise RuntimeError("harness bug")

    with pytest.raises(RuntimeError, match="harness bug"):
        engine._execute(_fake_cases({"modelbest": 3}), boom, concurrency=2)


def test_timing_sensitive_cases_run_one_per_provider_at_a_time() -> None:
    cases = (_fake_cases({"fal": 4, "wavespeed": 4}) +
             _fake_cases({"fal": 3, "wavespeed": 3}, capability="async"))
    lock, live, seen = threading.Lock(), {}, []  # type: ignore[var-annotated]

    def run_one(case: engine.Case) -> list[CaseResult]:
        key = (case.profile.name, case.spec.capability)
        with lock:
            live[key] = live.get(key, 0) + 1
            seen.append((key, live[key], sum(live.values())))
        time.sleep(0.02)
        with lock:
            live[key] -= 1
        return []

    engine._execute(cases, run_one, concurrency=4)
    assert all(n == 1 for (_, cap), n, _ in seen if cap == "async")  # never two of one provider
    assert any(cap == "async" and total > 1 for (_, cap), _, total in seen)  # beside the rest
    assert max(total for _, _, total in seen) <= 4


def test_shards_merge_into_one_run(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from harness.cli import app

    paths = []
    for name in ("local", "wavespeed"):
        target = MockTarget()
        try:
            shard = engine.run(engine.Plan(target=target, provider_spec=name))
        finally:
            target.close()
        paths.append(str(shard.write_json(tmp_path / name / "results.json")))
    out = tmp_path / "merged" / "index.html"
    result = CliRunner().invoke(app, ["report", *paths, "--merge", "-o", str(out)])
    assert result.exit_code == 0, result.output
    merged = RunResult.load(out.parent / "results.json")
    shards = [RunResult.load(Path(p)) for p in paths]
    assert merged.meta.providers == ("local", "wavespeed")
    assert len(merged.cases) == sum(len(s.cases) for s in shards)
    assert out.exists()
    again = CliRunner().invoke(app, ["report", str(out.parent / "results.json"), "--merge", "-o",
                                     str(out)])
    assert again.exit_code == 2 and "one of the inputs" in again.output
