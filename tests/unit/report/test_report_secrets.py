"""A planted key (in a finding excerpt, a skip reason and the command) never leaves in output."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from harness.cli import app
from harness.report import junit
from harness.report.html import render
from harness.report.results import RunResult
from harness.secrets import REDACTED


def test_planted_key_is_in_the_fixture(newest: RunResult, planted: str) -> None:
    # Guard against a vacuous pass: the key really is in the input to every writer.
    data = newest.to_dict()
    assert repr(data.pop("groups")).count(planted) == 1  # the excerpt again, as an example
    assert repr(data).count(planted) == 3


def test_never_in_html_json_or_junit(runs: list[RunResult], planted: str,
                                     tmp_path: Path) -> None:
    newest = runs[0]
    page = render(runs)
    path = newest.write_json(tmp_path / "results.json")
    xml = junit.write(newest, tmp_path / "junit.xml").read_text(encoding="utf-8")
    for name, text in (("html", page), ("json", path.read_text(encoding="utf-8")),
                       ("junit", xml)):
        assert planted not in text, name
        assert REDACTED in text or "&lt;REDACTED&gt;" in text, name


def test_never_in_files_written_by_the_cli(runs: list[RunResult], planted: str,
                                           tmp_path: Path) -> None:
    # Write the results unscrubbed, as a careless producer might, and render them.
    import json

    raw = tmp_path / "raw.json"
    raw.write_text(json.dumps(runs[0].to_dict()), encoding="utf-8")
    assert planted in raw.read_text()
    out, xml = tmp_path / "index.html", tmp_path / "junit.xml"
    result = CliRunner().invoke(app, ["report", str(raw), "-o", str(out), "--junit", str(xml)])
    assert result.exit_code == 0, result.output
    assert planted not in out.read_text() and planted not in xml.read_text()
    assert planted not in result.output
