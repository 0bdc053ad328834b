"""Exit statuses a CI can trust (harness.errors.ExitCode), and output for people and machines.

0 only when something was checked and passed; 1 findings; 2 usage; 3 nothing was checked
(no key, every case skipped) unless ``--allow-empty``; 4 from an error that says so (an
unreachable target). ``--version``, ``--format``, untruncated output off a terminal, progress
lines in a log and a reader that goes away (``| head``) are pinned here too.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import __version__
from harness.cli import app
from harness.errors import ExitCode, TargetUnreachable
from harness.report.results import RunResult

KEYS = ("WAVESPEED_API_KEY", "FAL_KEY", "MODELBEST_API_KEY", "MIMO_API_KEY")


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in KEYS:
        monkeypatch.delenv(var, raising=False)


def invoke(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(app, list(args))
    assert "Traceback" not in done.output
    return done.exit_code, " ".join(done.output.split())


def test_live_without_keys_is_nothing_checked_and_says_why(no_keys: None, tmp_path: Path) -> None:
    code, out = invoke("run", "--target", "live", "--reports-dir", str(tmp_path))
    assert code == ExitCode.NOTHING_CHECKED
    assert "error: nothing was checked (fal: FAL_KEY is not set;" in out
    assert "mimo: MIMO_API_KEY is not set" in out and "pass --allow-empty" in out
    written = RunResult.load(tmp_path / "results.json")
    assert written.exit_code == ExitCode.NOTHING_CHECKED  # the report tells the same story
    code, out = invoke("run", "--target", "live", "--reports-dir", str(tmp_path), "--allow-empty")
    assert code == ExitCode.OK and "allowed by --allow-empty" in out


def test_local_without_a_base_url_is_nothing_checked(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VLM_HARNESS_LOCAL_URL", raising=False)
    code, out = invoke("run", "--target", "local", "--reports-dir", str(tmp_path))
    assert code == ExitCode.NOTHING_CHECKED and "nothing was checked" in out


def test_a_named_provider_that_could_not_run_is_not_a_pass(
        no_keys: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.mock.config import MOCK_KEY

    monkeypatch.setenv("MIMO_API_KEY", MOCK_KEY)  # the live target would send it; fal has none
    result_all = RunResult.from_dict({
        "format": "vlm-harness-results/1",
        "meta": {"target": "live", "started_at": "", "finished_at": "", "harness_version": "",
                 "schema_version": "", "providers": ["mimo", "fal"], "required": ["fal"]},
        "cases": [{"check": "text", "provider": "mimo", "endpoint": "chat", "capability": "text",
                   "outcome": "pass"},
                  {"check": "text", "provider": "fal", "endpoint": "fal-queue",
                   "capability": "text", "outcome": "skip", "reason": "FAL_KEY is not set"}]})
    assert result_all.exit_code == ExitCode.NOTHING_CHECKED
    assert result_all.empty_reason() == "fal not checked (fal: FAL_KEY is not set)"
    # Under "all", a provider without a key is named but does not fail the run.
    everyone = RunResult.from_dict({**result_all.to_dict(), "meta": {
        **result_all.meta.to_dict(), "required": []}})
    assert everyone.exit_code == ExitCode.OK and everyone.unchecked == ("fal",)


def test_a_clean_mock_run_is_0_and_findings_are_1(tmp_path: Path) -> None:
    code, out = invoke("run", "--provider", "local", "--checks", "text", "--reports-dir",
                       str(tmp_path))
    assert code == ExitCode.OK and "exit 0" in out
    findings = CliRunner().invoke(app, ["run", "--provider", "local", "--reports-dir",
                                        str(tmp_path), "--format", "json"])
    assert findings.exit_code == ExitCode.OK
    assert json.loads(findings.stdout)["format"] == "vlm-harness-results/1"


def test_an_error_that_carries_an_exit_code_sets_it(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    from harness import runner_cli

    def unreachable(**_: object) -> int:
        raise TargetUnreachable("http://127.0.0.1:9/v1 is unreachable: connection refused")

    monkeypatch.setattr(runner_cli, "command", unreachable)
    code, out = invoke("run", "--reports-dir", str(tmp_path))
    assert code == ExitCode.UNREACHABLE
    assert out == "error: http://127.0.0.1:9/v1 is unreachable: connection refused"


def test_version_and_help_document_the_exit_statuses() -> None:
    code, out = invoke("--version")
    assert code == 0 and out == f"vlm-harness {__version__}"
    code, out = invoke("--help")
    assert "3 nothing was checked" in out and "4 the target is unreachable" in out
    assert "--allow-empty" in invoke("run", "--help")[1]


def test_an_unknown_format_is_a_usage_error(tmp_path: Path) -> None:
    code, out = invoke("run", "--format", "yaml", "--reports-dir", str(tmp_path))
    assert code == ExitCode.USAGE and "--format 'yaml': expected one of table, plain, json" in out


def test_plain_output_is_untruncated_with_progress_lines_and_a_closed_pipe_is_quiet(
        tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("vlm-harness")
    run = subprocess.run(f"'{cli}' run --provider fal --reports-dir '{tmp_path}' | head -2",
                         shell=True, capture_output=True, text=True, timeout=300,
                         executable="/bin/bash")
    assert "Traceback" not in run.stderr and "BrokenPipe" not in run.stderr, run.stderr
    lines = run.stdout.splitlines()
    fields = lines[0].split("\t")
    assert len(lines) == 2 and len(fields) == 5 and fields[0] == "fal", lines
    assert fields[2].endswith(":fal-ai/mini-cpm") and "…" not in run.stdout  # never cut
    # Off a terminal: one line per case as it finishes, with the elapsed time.
    progress = [line for line in run.stderr.splitlines() if line.startswith("[")]
    assert progress and all(" s] " in line and line.endswith(" s)") for line in progress)
    assert any("fal fal-queue async-job-lifecycle" in line for line in progress)
    status = subprocess.run(f"'{cli}' run --provider fal --reports-dir '{tmp_path}' | head -1;"
                            " exit ${PIPESTATUS[0]}", shell=True, capture_output=True, text=True,
                            timeout=300, executable="/bin/bash")
    assert status.returncode == 0, status.stderr  # the verdict, not rich's broken-pipe 1
    # Progress on the closed pipe too (2>&1 | head): still the verdict (rich's 1 before)
    both = subprocess.run(f"'{cli}' run --provider fal --reports-dir '{tmp_path}' 2>&1 | head -1;"
                          " exit ${PIPESTATUS[0]}", shell=True, capture_output=True, text=True,
                          timeout=300, executable="/bin/bash")
    assert both.returncode == 0 and "Traceback" not in both.stdout, both.stdout
