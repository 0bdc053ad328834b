"""Unit tests of harness.report.results: matrix cells, exit codes, JSON round trip, versions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from report_fixtures import case, meta, older_run

from harness.drift.classify import Change, Kind
from harness.errors import UsageError
from harness.findings import Finding, Severity
from harness.report.results import (
    CAPABILITIES,
    FORMAT,
    Outcome,
    RunResult,
    schema_version,
)


def run_of(*cases, drift=()) -> RunResult:
    return RunResult(meta("2026-11-23T10:00:00Z"), tuple(cases), tuple(drift))


def test_capabilities_are_the_ten_columns() -> None:
    assert CAPABILITIES == ("text", "image", "multi-image", "video", "stream", "async",
                            "realtime", "errors", "auth", "limits")


def test_cell_aggregation(newest: RunResult) -> None:
    assert newest.cell("mimo", "image") is Outcome.FAIL
    assert newest.cell("mimo", "text") is Outcome.PASS
    assert newest.cell("mimo", "video") is Outcome.SKIP
    assert newest.skip_reasons("mimo", "video")[0].startswith("no video fixture")
    # the wavespeed profile offers no text model, and the run said so too
    assert newest.cell("wavespeed", "text") is Outcome.NOT_OFFERED
    # profile-driven, with no case at all
    assert newest.cell("wavespeed", "realtime") is Outcome.NOT_OFFERED
    # offered but nothing ran: skipped with a reason
    assert newest.cell("mimo", "multi-image") is Outcome.SKIP
    assert newest.skip_reasons("mimo", "multi-image") == ("no check ran",)


def test_fail_beats_pass_and_failures_are_never_hidden() -> None:
    run = run_of(case("a", "mimo", "chat", "text", Outcome.PASS),
                 case("b", "mimo", "chat", "text", Outcome.FAIL),
                 case("c", "wavespeed", "submit", "text", Outcome.FAIL))
    assert run.cell("mimo", "text") is Outcome.FAIL
    assert run.cell("wavespeed", "text") is Outcome.FAIL  # not in the profile, still shown


def test_provider_without_profile() -> None:
    run = run_of(case("a", "acme", "chat", "text", Outcome.NOT_OFFERED),
                 case("b", "acme", "chat", "image", Outcome.SKIP, reason="no key"))
    assert run.cell("acme", "text") is Outcome.NOT_OFFERED
    assert run.cell("acme", "image") is Outcome.SKIP
    assert run.cell("acme", "video") is Outcome.SKIP
    assert run.providers[-1] == "acme"


def test_exit_code() -> None:
    error = Finding("schema.response", Severity.ERROR, "bad")
    warning = Finding("schema.response", Severity.WARNING, "meh")
    passing = case("a", "mimo", "chat", "text", Outcome.PASS)
    assert run_of(passing).exit_code == 0
    assert run_of(case("a", "mimo", "chat", "text", Outcome.PASS, findings=(warning,))
                  ).exit_code == 0
    assert run_of(case("a", "mimo", "chat", "text", Outcome.PASS, findings=(error,))
                  ).exit_code == 1
    assert run_of(case("a", "mimo", "chat", "text", Outcome.FAIL)).exit_code == 1
    slow = Change(Kind.LATENCY, "/latency/p95", "slower", 100.0, 900.0)
    additive = Change(Kind.ADDITIVE, "/x", "new field")
    assert run_of(passing, drift=(slow, additive)).exit_code == 0
    broke = Change(Kind.BREAKING, "/x", "field removed")
    assert run_of(passing, drift=(broke,)).exit_code == 1


def test_findings_and_errors(newest: RunResult) -> None:
    assert len(newest.findings) == 2
    assert [f.check for f in newest.errors] == ["schema.response"]


def test_json_round_trip(tmp_path: Path) -> None:
    run = older_run()
    path = run.write_json(tmp_path / "out" / "results.json")
    data = json.loads(path.read_text())
    assert data["format"] == FORMAT
    assert RunResult.load(path) == run
    assert RunResult.from_dict(run.to_dict()) == run


def test_round_trip_keeps_findings_and_drift(newest: RunResult, tmp_path: Path) -> None:
    back = RunResult.load(newest.write_json(tmp_path / "r.json"))
    assert back == newest.scrubbed()
    assert back.drift == newest.drift
    assert back.cases[0].findings[0].source == newest.cases[0].findings[0].source


@pytest.mark.parametrize("content", ["{oops", '{"format": "something-else"}', "[]",
                                     '{"format": "vlm-harness-results/1", "meta": {}}'])
def test_load_rejects_other_files(tmp_path: Path, content: str) -> None:
    path = tmp_path / "results.json"
    path.write_text(content)
    with pytest.raises(UsageError, match="results"):
        RunResult.load(path)


def test_schema_version_tracks_contents(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.json").write_text("{}")
    first = schema_version(tmp_path)
    assert len(first) == 12 and first == schema_version(tmp_path)
    (tmp_path / "a" / "x.json").write_text('{"type": "object"}')
    assert schema_version(tmp_path) != first
    assert len(schema_version()) == 12  # the project's own schemas folder
