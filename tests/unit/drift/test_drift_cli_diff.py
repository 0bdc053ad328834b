"""``vlm-harness diff`` through typer's CliRunner: a migration guide, JSON, and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli import app

ROOT = Path(__file__).resolve().parents[3]
EARLIER = ROOT / "schemas" / "minicpm-o-realtime" / "earlier"
CURRENT = ROOT / "schemas" / "minicpm-o-realtime" / "current"
needs_realtime = pytest.mark.skipif(not EARLIER.is_dir() or not CURRENT.is_dir(),
                                    reason="realtime schemas not written yet")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@needs_realtime
def test_realtime_migration_guide(runner: CliRunner) -> None:
    result = runner.invoke(app, ["diff", str(EARLIER), str(CURRENT)])
    out = result.output
    assert result.exit_code == 1, out  # breaking changes gate CI
    assert out.index("Must change (breaking)") < out.index("May use (additive)") < out.index(
        "Cosmetic")
    for line in (
        "session.update → session.init — event renamed; send session.init instead of "
        "session.update",
        "input_audio_buffer.append → input.append — event renamed",
        "response.output_audio.delta → response.output.delta — event renamed; handle "
        "response.output.delta",
        "response.listen → response.output.delta (kind=listen) — event folded",
        "session.update#/session/instructions → session.init#/payload/instructions — field "
        "moved or renamed; send it under the new name",
        "session.update#/session/ref_audio → session.init#/payload/voice/ref_audio_base64",
        "response.output_audio.delta#/end_of_turn: boolean → (none) — no longer sent; stop "
        "reading it",
        "response.done: (none) → response.done — new server event",
    ):
        assert line in out, line
    breaking = out[out.index("Must change"):out.index("May use")]
    assert "session.init#/payload/config" not in breaking  # a new optional field is not a must


@needs_realtime
def test_realtime_diff_as_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["diff", str(EARLIER), str(CURRENT), "--json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    assert doc["summary"]["breaking"] == sum(c["kind"] == "breaking" for c in doc["changes"]) > 0
    renamed = {(c["old"], c["new"]) for c in doc["changes"] if "renamed" in c["message"]
               and not c["pointer"].count("#")}
    assert ("session.update", "session.init") in renamed


def test_no_change_exits_zero(runner: CliRunner, tmp_path: Path) -> None:
    doc = {"type": "object", "properties": {"a": {"type": "string"}}}
    for name in ("old.json", "new.json"):
        (tmp_path / name).write_text(json.dumps(doc))
    result = runner.invoke(app, ["diff", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0, result.output
    assert "No changes" in result.output


def test_additive_only_exits_zero(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "response.json").write_text(json.dumps({"type": "object", "properties": {}}))
    (tmp_path / "new").mkdir()
    (tmp_path / "new" / "response.json").write_text(json.dumps(
        {"type": "object", "properties": {"usage": {"type": "object"}}}))
    result = runner.invoke(app, ["diff", str(tmp_path / "response.json"),
                                 str(tmp_path / "new" / "response.json")])
    assert result.exit_code == 0, result.output
    assert "May use (additive): 1" in result.output
    assert "response#/usage: (none) → object — new optional field; may read it" in result.output


def test_usage_error_exits_two(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["diff", str(tmp_path / "nope.json"), str(tmp_path)])
    assert result.exit_code == 2
    assert "no such file" in " ".join(result.output.split())  # the error console wraps
