"""The CLI's usage errors: one line naming the flag or file at fault, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app


def _usage_error(args: list[str]) -> str:
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2, done.output
    assert "Traceback" not in done.output and isinstance(done.exception, SystemExit)
    return " ".join(done.output.split())


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "taken"
    path.write_text("x")
    return path


@pytest.mark.parametrize("args, flag", [
    (["run", "--provider", "mimo", "--reports-dir"], "--reports-dir"),
    (["drift", "--target", "mock", "--provider", "mimo", "--baselines-dir"], "--baselines-dir"),
    (["record", "--provider", "mimo", "--cassettes-dir"], "--cassettes-dir"),
    (["fuzz", "--provider", "mimo", "--reports-dir"], "--reports-dir"),
])
def test_an_output_folder_that_is_a_file_fails_before_any_work(
        args: list[str], flag: str, a_file: Path) -> None:
    out = _usage_error([*args, str(a_file / "sub")])
    assert flag in out and "is a file, not a folder" in out


def test_an_output_file_that_is_a_folder_is_named(tmp_path: Path) -> None:
    assert "-o/--output" in _usage_error(["openapi", "mimo", "-o", str(tmp_path)])
    assert "--junit" in _usage_error(["report", "--junit", str(tmp_path)])


@pytest.mark.parametrize("args, flag", [
    (["run", "--target", "live", "--provider", "mimo", "--max-requests", "-1"], "--max-requests"),
    (["run", "--target", "live", "--provider", "mimo", "--max-cost", "-0.5"], "--max-cost"),
    (["fuzz", "--provider", "mimo", "--max-examples", "0"], "--max-examples"),
    (["run", "--timeout", "0"], "--timeout"),
    (["run", "--check-timeout", "-5"], "--check-timeout"),
    (["run", "--run-timeout", "0"], "--run-timeout"),
    (["serve", "--port", "99999"], "--port"),
    (["serve", "--port", "-1"], "--port"),
])
def test_out_of_range_numbers_name_their_flag(args: list[str], flag: str, tmp_path: Path) -> None:
    assert flag in _usage_error([*args, "--reports-dir", str(tmp_path)] if args[0] != "serve"
                                else args)


def test_fuzz_names_the_target_flag_and_the_choices() -> None:
    out = _usage_error(["fuzz", "--target", "nope"])
    assert "(--target) 'nope'" in out and "cassette, gateway, live, local, mock, url" in out


def test_an_empty_provider_list_is_not_an_empty_green_run(tmp_path: Path) -> None:
    out = _usage_error(["run", "--provider", ",", "--reports-dir", str(tmp_path)])
    assert "unknown provider ','" in out and "known: all, fal" in out
    assert not (tmp_path / "results.json").exists()


def test_the_url_target_names_the_cli_flag(tmp_path: Path) -> None:
    out = _usage_error(["run", "--target", "url", "--reports-dir", str(tmp_path)])
    assert "--base-url (--vlm-base-url under pytest)" in out


def test_an_unknown_capability_names_the_flag_and_the_known_ones(tmp_path: Path) -> None:
    out = _usage_error(["run", "--target", "local", "--capabilities", "text,vision",
                        "--reports-dir", str(tmp_path)])
    assert "unknown capability (--capabilities) 'vision'; known: image, multi-image" in out
