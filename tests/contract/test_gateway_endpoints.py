"""A gateway serving several APIs on one host is tested on every one of them.

The served mock stands in for a gateway that serves MiMo's OpenAI API at one base and its
Anthropic API at another. With one URL with a path only the first API can be reached (the
second is skipped, saying which flag to add); with ``API=URL`` for each, from the CLI, from
the config file and from the pytest plugin, both run and pass.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app
from harness.mock.serve import ServedMock

pytest_plugins = ["pytester"]
CHECKS = "text,auth-enforced,error-shape"


def _outcomes(reports: Path) -> dict[tuple[str, str], str]:
    cases = json.loads((reports / "results.json").read_text())["cases"]
    return {(c["check"], c["endpoint"]): c["outcome"] for c in cases}


def _urls(served: ServedMock) -> list[str]:
    return [f"openai-chat={served.base_url('mimo', 'openai-chat')}",
            f"anthropic-messages={served.base_url('mimo', 'anthropic-messages')}"]


def test_one_path_url_reaches_only_the_first_api(served_mock: ServedMock, tmp_path: Path) -> None:
    done = CliRunner().invoke(app, [
        "run", "--target", "url", "--provider", "mimo", "--checks", CHECKS, "--quiet",
        "--base-url", served_mock.base_url("mimo", "openai-chat"), "--reports-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    results = json.loads((tmp_path / "results.json").read_text())
    skipped = [c for c in results["cases"] if c["outcome"] == "skip"]
    assert skipped and all("--base-url anthropic-messages=URL" in c["reason"] for c in skipped)


def test_api_urls_from_the_cli_cover_both_mimo_apis(served_mock: ServedMock, tmp_path: Path) -> None:
    args = ["run", "--target", "url", "--provider", "mimo", "--checks", CHECKS, "--quiet",
            "--reports-dir", str(tmp_path)]
    for spec in _urls(served_mock):
        args += ["--base-url", spec]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    outcomes = _outcomes(tmp_path)
    assert "skip" not in outcomes.values()
    assert outcomes[("text", "chat")] == "pass"
    assert outcomes[("text", "messages")] == "pass"


def test_api_urls_from_the_config_file(served_mock: ServedMock, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    urls = ", ".join(json.dumps(u) for u in _urls(served_mock))
    (tmp_path / "vlm-harness.toml").write_text(
        f'target = "url"\nprovider = "mimo"\nchecks = "{CHECKS}"\nbase_url = [{urls}]\n'
        'reports_dir = "out"\n')
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["run", "--quiet"])
    assert done.exit_code == 0, done.output
    outcomes = _outcomes(tmp_path / "out")
    assert outcomes[("text", "messages")] == "pass" and "skip" not in outcomes.values()


def test_api_urls_under_pytest_from_the_command_line_and_pyproject(
        pytester: pytest.Pytester, served_mock: ServedMock) -> None:
    chat, messages = _urls(served_mock)
    pytester.makefile(".toml", pyproject=f'[tool.vlm-harness]\ntarget = "url"\nprovider = "mimo"\n'
                           f'checks = "{CHECKS}"\nbase_url = ["{messages}"]\n')
    pytester.makepyfile("""
        from harness.suite import explain

        def test_gateway(vlm_contract, vlm_settings):
            assert vlm_contract.exit_code == 0, explain(vlm_contract)
            ran = {(c.check, c.endpoint): c.outcome.value for c in vlm_contract.cases}
            assert ran[("text", "chat")] == "pass", ran
            assert ran[("text", "messages")] == "pass", ran
    """)
    # The command line replaces the file's base_url as a whole: both APIs given here.
    result = pytester.runpytest("--vlm-base-url", chat, "--vlm-base-url", messages)
    result.assert_outcomes(passed=1)
    assert "(config: " in result.stdout.str()


def test_headers_and_aliases_under_pytest_from_ini_and_command_line(
        pytester: pytest.Pytester, served_mock: ServedMock) -> None:
    pytester.makeini("[pytest]\nvlm_target = url\nvlm_header =\n    x-a=1\n"
                     "    anthropic-messages:x-b=2\n"
                     f"vlm_base_url = {served_mock.url}\n")
    pytester.makepyfile("""
        def test_settings(vlm_settings, vlm_target):
            assert vlm_settings.header == ("x-a=1", "anthropic-messages:x-b=2")
            assert vlm_settings.model == ("MiniCPM-V-4.6-Instruct=minicpm",)
            assert vlm_target.options.headers == (
                (None, "x-a", "1"), ("anthropic-messages", "x-b", "2"))
            assert dict(vlm_target.options.model_aliases) == {"MiniCPM-V-4.6-Instruct": "minicpm"}
    """)
    pytester.runpytest("--vlm-model", "MiniCPM-V-4.6-Instruct=minicpm").assert_outcomes(passed=1)
    result = pytester.runpytest("--vlm-model", "gpt-4o=x")
    result.assert_outcomes(errors=1)  # the target fixture fails at setup, naming the flag
    result.stdout.fnmatch_lines(["*vlm-harness: unknown model in --vlm-model 'gpt-4o=x'*"])
