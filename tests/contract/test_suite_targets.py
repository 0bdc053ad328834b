"""One suite, unchanged, on every offline target: the in-process mock, the served mock through
the ``url`` target, and the shipped cassettes, with the same outcome for every case and no
finding. Plus the secret-keeping promise end to end: keys planted in the environment, sent to a
served mock that accepts them, appear nowhere in what the main job prints or writes.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path
from types import MappingProxyType

import pytest

from harness import engine
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.report.results import Outcome, RunResult
from harness.secrets import key_variables
from harness.targets import TargetOptions, make_target
from harness.targets.base import TargetKind

OPTIONS = {"poll_interval": 0.01}
Outcomes = dict[str, dict[tuple[str, str, str], Outcome]]


def run_on(options: TargetOptions, config: MockConfig | None = None) -> RunResult:
    target = make_target(options, mock_config=config)
    try:
        return engine.run(engine.Plan(target=target, options=dict(OPTIONS)))
    finally:
        target.close()


@pytest.fixture(scope="module")
def outcomes() -> Outcomes:
    config = MockConfig(job_step_s=0.01)
    with ServedMock(config) as served:
        results = {
            "mock": run_on(TargetOptions(), config),
            "url": run_on(TargetOptions(kind=TargetKind.URL, base_url=served.url)),
            "cassette": run_on(TargetOptions(kind=TargetKind.CASSETTE)),
        }
    for name, result in results.items():
        errors = [f"{f.check} {f.provider} {f.endpoint}: {f.message}" for f in result.errors]
        assert not errors, f"{name}: {errors}"
    return {name: {(c.check, c.provider, c.endpoint): c.outcome for c in r.cases}
            for name, r in results.items()}


def test_url_target_gives_the_mocks_outcome_for_every_case(outcomes: Outcomes) -> None:
    assert outcomes["url"] == outcomes["mock"]
    assert sum(o is Outcome.PASS for o in outcomes["mock"].values()) > 80


def test_cassette_replay_matches_except_what_it_cannot_replay(outcomes: Outcomes) -> None:
    differ = {k: (outcomes["mock"].get(k), v) for k, v in outcomes["cassette"].items()
              if outcomes["mock"].get(k) is not v}
    # vcrpy records HTTP only: realtime sessions and webhook deliveries are skipped with reasons
    assert all(new is Outcome.SKIP for _, new in differ.values()), differ
    assert {k[0] for k in differ} <= {"realtime-session", "realtime-errors", "webhook-delivered"}


def test_planted_keys_leave_no_trace_in_output_or_reports(tmp_path: Path) -> None:
    planted = {name: f"sk-planted-{secrets.token_hex(12)}" for name in sorted(key_variables())}
    providers = ("mimo", "wavespeed", "fal")
    env_for = {"mimo": "MIMO_API_KEY", "wavespeed": "WAVESPEED_API_KEY", "fal": "FAL_KEY"}
    # The served mock accepts exactly the planted keys, so they really travel on every request.
    config = MockConfig(job_step_s=0.01,
                        keys=MappingProxyType({p: planted[env_for[p]] for p in providers}))
    with ServedMock(config) as served:
        proc = subprocess.run(
            [sys.executable, "-m", "harness.cli", "run", "--target", "url", "--base-url",
             served.url, "--provider", ",".join(providers), "--reports-dir", str(tmp_path)],
            capture_output=True, text=True, timeout=300,
            env={**_base_env(), **planted})
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    written = "".join(p.read_text(errors="replace") for p in tmp_path.rglob("*") if p.is_file())
    assert written and "pass" in proc.stdout
    for key in planted.values():
        assert key not in proc.stdout and key not in proc.stderr and key not in written


def _base_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "PYTHONPATH", "SYSTEMROOT", "TMPDIR")
    return {k: os.environ[k] for k in keep if k in os.environ} | {"COLUMNS": "200"}
