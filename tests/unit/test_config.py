"""The project config file: where it is found, what it may hold, and how errors name file and key."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import config
from harness.cli import app
from harness.config import ConfigError


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_found_upward_and_vlm_harness_toml_wins_in_its_folder(tmp_path: Path) -> None:
    deep = tmp_path / "a" / "b"
    deep.mkdir(parents=True)
    assert config.find(deep) is None and config.load(start=deep).path is None
    pyproject = _write(tmp_path / "pyproject.toml", '[tool.vlm-harness]\nprovider = "mimo"\n')
    assert config.find(deep) == pyproject.resolve()
    own = _write(tmp_path / "vlm-harness.toml", 'provider = "fal"\n')
    assert config.load(start=deep).values["provider"] == "fal" and config.find(deep) == own.resolve()


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    outer = _write(tmp_path / "pyproject.toml", '[tool.vlm-harness]\nseed = 3\n')
    _write(tmp_path / "inner" / "pyproject.toml", '[project]\nname = "x"\n')
    assert config.find(tmp_path / "inner") == outer.resolve()
    assert config.load(start=tmp_path / "inner").get("seed") == 3


def test_values_are_checked_and_normalised(tmp_path: Path) -> None:
    path = _write(tmp_path / "vlm-harness.toml", """
        target = "url"
        max-cost = 1
        base_url = ["openai-chat=http://gw:4000/v1", "anthropic-messages=http://gw:4000"]
        header = "x-gw-route=mimo"
        model = { "MiniCPM-V-4.6-Instruct" = "minicpm" }
        [[waiver]]
        check = "content-type"
        reason = "known"
    """.replace("\n        ", "\n"))
    cfg = config.load(path)
    assert cfg.get("max_cost") == 1.0 and isinstance(cfg.get("max_cost"), float)
    assert cfg.get("base_url") == ("openai-chat=http://gw:4000/v1", "anthropic-messages=http://gw:4000")
    assert cfg.get("header") == ("x-gw-route=mimo",)
    assert cfg.get("model") == ("MiniCPM-V-4.6-Instruct=minicpm",)
    assert cfg.get("waiver")[0].reason == "known" and cfg.get("waiver")[0].check == "content-type"
    assert cfg.pick("target", "mock") == "mock" and cfg.pick("target", None) == "url"
    assert cfg.pick("header", ()) == ("x-gw-route=mimo",)  # an empty repeat is "not given"
    assert cfg.pick("seed", None, 0) == 0


def test_an_unknown_key_names_the_file_and_lists_the_known_keys(tmp_path: Path) -> None:
    path = _write(tmp_path / "pyproject.toml", '[tool.vlm-harness]\nbase_urll = "http://x"\n')
    with pytest.raises(ConfigError) as info:
        config.load(start=tmp_path)
    message = str(info.value)
    assert f"{path.resolve()} [tool.vlm-harness] base_urll: unknown key" in message
    assert "known: allow_empty, base_url, capabilities, cassette_dir, check_timeout" in message


@pytest.mark.parametrize("line, expected", [
    ('seed = "7"', "seed: expected an integer, got '7'"),
    ("seed = true", "seed: expected an integer"),
    ("max_cost = \"cheap\"", "max_cost: expected a number"),
    ("header = [1]", "header: expected a string, a list of strings or a table"),
    ('waiver = "x"', "waiver: expected an array of tables"),
])
def test_a_value_of_the_wrong_kind_names_the_key(tmp_path: Path, line: str, expected: str) -> None:
    path = _write(tmp_path / "vlm-harness.toml", line + "\n")
    with pytest.raises(ConfigError, match="expected") as info:
        config.load(path)
    assert str(info.value).startswith(f"{path} {expected}")


def test_broken_or_missing_files_are_usage_errors(tmp_path: Path) -> None:
    bad = _write(tmp_path / "vlm-harness.toml", "target = \n")
    with pytest.raises(ConfigError, match=f"{bad}: not valid TOML"):
        config.load(bad)
    with pytest.raises(ConfigError, match=r"--config .*nope.toml: no such file"):
        config.load(tmp_path / "nope.toml")
    empty = _write(tmp_path / "sub" / "pyproject.toml", "[project]\n")
    with pytest.raises(ConfigError, match=r"has no \[tool.vlm-harness\] table"):
        config.load(empty)


def test_adding_a_key_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(config.KEYS, "timeout", config.Key("float", "per-request deadline"))
    path = _write(tmp_path / "vlm-harness.toml", "timeout = 2\n")
    assert config.load(path).get("timeout") == 2.0


# --- the CLI reads it: command line > config file > defaults ----------------------------

def test_the_cli_takes_settings_from_the_file_and_flags_win(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _write(tmp_path / "vlm-harness.toml", 'provider = "mimo"\nchecks = "auth-enforced"\n'
           f'reports_dir = "{tmp_path / "out"}"\n')
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(app, ["run", "--quiet"])
    assert done.exit_code == 0, done.output
    import json

    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {c["provider"] for c in results["cases"]} == {"mimo"}
    done = CliRunner().invoke(app, ["run", "--quiet", "--provider", "modelbest"])
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert done.exit_code == 0 and {c["provider"] for c in results["cases"]} == {"modelbest"}


def test_the_cli_names_the_config_file_at_fault(tmp_path: Path) -> None:
    path = _write(tmp_path / "gw.toml", "targt = 'url'\n")
    done = CliRunner().invoke(app, ["run", "--config", str(path)])
    assert done.exit_code == 2 and "Traceback" not in done.output
    assert f"{path} targt: unknown key" in " ".join(done.output.split())
