"""Waivers: a known deviation is shown as waived and does not fail the run; an expired waiver
no longer waives and, like one that matched nothing, is reported."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import config, waivers
from harness.cli import app
from harness.config import ConfigError
from harness.findings import Finding, Severity
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.report import junit
from harness.report.html import render
from harness.report.results import CaseResult, Outcome, RunMeta, RunResult
from harness.waivers import Waiver

pytest_plugins = ["pytester"]

META = RunMeta("url", "2026-12-03T08:00:00+00:00", "2026-12-03T08:01:00+00:00", "0.1.0", "abc",
               0, ("mimo",), "CPython 3.11", "vlm-harness run")
TODAY = date(2026, 12, 3)


def _result() -> RunResult:
    chunk = [Finding("response-schema-conformance", Severity.ERROR,
                     f"event {i} /choices/0: 'finish_reason' is a required property",
                     provider="mimo", endpoint="chat",
                     schema_pointer="openai-chat/chunk#/properties/choices/items/required")
             for i in range(5)]
    shape = Finding("error-shape", Severity.ERROR, "HTTP 500 with a non-JSON body",
                    provider="mimo", endpoint="messages")
    return RunResult(META, (
        CaseResult("response-schema-conformance", "mimo", "chat", "errors", Outcome.FAIL,
                   findings=tuple(chunk)),
        CaseResult("error-shape", "mimo", "messages", "errors", Outcome.FAIL, findings=(shape,)),
    ))


def test_a_waiver_waives_its_cause_only_and_the_rest_still_fails() -> None:
    waiver = Waiver("LiteLLM drops finish_reason", check="response-schema-conformance",
                    provider="mimo/openai-chat", match="'finish_reason' is a required")
    result = waivers.apply(_result(), (waiver,), TODAY)
    chat, messages = result.cases
    assert chat.outcome is Outcome.PASS and all(f.waived for f in chat.findings)
    assert messages.outcome is Outcome.FAIL and result.exit_code == 1
    assert [u.status for u in result.waivers] == ["active"] and result.waivers[0].matched == 5
    assert [g.status for g in result.groups] == ["error", "waived"]


def test_all_waived_means_a_green_run_that_still_shows_them() -> None:
    both = (Waiver("known", check="response-schema-conformance", match=r"event N /choices/N:"),
            Waiver("gateway answers text/plain", api="anthropic-messages", match="HTTP 500"))
    result = waivers.apply(_result(), both, TODAY)
    assert result.exit_code == 0 and result.errors == ()
    assert len(result.findings) == 6 and all(f.waived for f in result.findings)
    assert "waived" in render([result]) and "gateway answers text/plain" in junit.to_xml(result)
    assert RunResult.from_dict(json.loads(json.dumps(result.to_dict()))).exit_code == 0


def test_expired_and_unmatched_waivers_are_reported_and_expired_ones_waive_nothing() -> None:
    old = Waiver("was known", check="error-shape", expires=date(2026, 1, 31), index=1)
    stale = Waiver("fixed long ago", check="content-type", index=2)
    result = waivers.apply(_result(), (old, stale), TODAY)
    assert result.exit_code == 1 and not any(f.waived for f in result.findings)
    assert [(u.status, u.matched) for u in result.waivers] == [("expired", 0), ("unmatched", 0)]
    assert "expired on 2026-01-31" in result.waivers[0].message
    assert "matched no finding" in result.waivers[1].message
    data = result.to_dict()["waivers"]
    assert [w["status"] for w in data] == ["expired", "unmatched"]
    xml = junit.to_xml(result)
    assert 'name="vlm.waivers"' in xml and xml.count("warning: waiver") == 2
    page = render([result])
    assert page.count("<b>warning:</b>") == 2


@pytest.mark.parametrize("field, value, matches", [
    ("check", "error-shape", True), ("check", "content-type", False),
    ("provider", "mimo", True), ("provider", "mimo/anthropic-messages", True),
    ("provider", "mimo/openai-chat", False), ("provider", "fal", False),
    ("api", "anthropic-messages", True), ("api", "messages", True), ("api", "openai-chat", False),
    ("match", "non-JSON", True), ("match", r"HTTP 5\d\d", True), ("match", "HTTP N", False),
    ("match", "[unbalanced", False),
])
def test_every_named_field_must_match(field: str, value: str, matches: bool) -> None:
    waiver = Waiver("r", **{field: value})  # type: ignore[arg-type]
    result = waivers.apply(_result(), (waiver,), TODAY)
    assert (result.cases[1].outcome is Outcome.PASS) is matches


# --- the config file's [[waiver]] entries -----------------------------------------------

def _load(tmp_path: Path, text: str) -> tuple[Waiver, ...]:
    path = tmp_path / "vlm-harness.toml"
    path.write_text(text, encoding="utf-8")
    return config.load(path).get("waiver")


def test_entries_parse_with_toml_dates(tmp_path: Path) -> None:
    [w] = _load(tmp_path, '[[waiver]]\ncheck = "sse-framing"\nprovider = "mimo"\n'
                          'match = "usage chunk"\nreason = "LiteLLM"\nexpires = 2027-01-31\n')
    assert (w.check, w.provider, w.match, w.expires, w.index) == (
        "sse-framing", "mimo", "usage chunk", date(2027, 1, 31), 1)


@pytest.mark.parametrize("entry, message", [
    ('check = "x"', "waiver: entry 1: a waiver needs a reason"),
    ('reason = "r"\nexpires = "soon"', "entry 1: expires must be a date (2027-01-31), got 'soon'"),
    ('reason = "r"\nprovidr = "mimo"', "entry 1: unknown field 'providr'; known: check, provider"),
    ('reason = "r"\ncheck = 3', "entry 1: check must be a string, got 3"),
])
def test_bad_entries_name_the_file_entry_and_field(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, f"[[waiver]]\n{entry}\n")
    assert str(tmp_path / "vlm-harness.toml") in str(info.value) and message in str(info.value)


# --- end to end: the CLI against a served mock with a planted defect ----------------------

@pytest.fixture(scope="module")
def defective() -> Iterator[ServedMock]:
    with ServedMock(MockConfig(defects="wrong-field-type", job_step_s=0.02)) as served:
        yield served


def _run(tmp_path: Path, served: ServedMock, waiver: str) -> tuple[int, str, dict]:
    (tmp_path / "gw.toml").write_text(
        f'target = "url"\nprovider = "modelbest"\nchecks = "text,response-schema-conformance"\n'
        f'base_url = "{served.url}"\n{waiver}\n', encoding="utf-8")
    done = CliRunner().invoke(app, ["run", "--config", str(tmp_path / "gw.toml"),
                                    "--reports-dir", str(tmp_path / "out")])
    return done.exit_code, " ".join(done.output.split()), json.loads(
        (tmp_path / "out" / "results.json").read_text())


def test_the_cli_gates_on_new_deviations_only(tmp_path: Path, defective: ServedMock) -> None:
    code, out, data = _run(tmp_path, defective, "")
    assert code == 1 and data["groups"] and data["waivers"] == []
    code, out, data = _run(tmp_path, defective, '[[waiver]]\ncheck = "response-schema-conformance"\n'
                           'match = "created"\nreason = "our gateway stringifies created"\n')
    assert code == 0, out
    assert "waived" in out and "waiver 1" in out and "our gateway stringifies created" in out
    assert {g["status"] for g in data["groups"]} == {"waived"}
    assert data["waivers"][0]["status"] == "active" and data["waivers"][0]["matched"] >= 1
    code, out, data = _run(tmp_path, defective, '[[waiver]]\ncheck = "content-type"\n'
                           'reason = "stale"\n')
    assert code == 1 and "warning: waiver 1 (content-type) matched no finding" in out


def test_the_plugin_applies_the_config_files_waivers(pytester: pytest.Pytester,
                                                     defective: ServedMock) -> None:
    pytester.makefile(".toml", pyproject=(
        f'[tool.vlm-harness]\ntarget = "url"\nprovider = "modelbest"\nbase_url = "{defective.url}"\n'
        'checks = "text,response-schema-conformance"\n'
        '[[tool.vlm-harness.waiver]]\ncheck = "response-schema-conformance"\nmatch = "created"\n'
        'reason = "known"\n'))
    pytester.makepyfile("""
        from harness.suite import explain

        def test_gated(vlm_contract):
            assert vlm_contract.exit_code == 0, explain(vlm_contract)
            assert any(f.waived == "known" for f in vlm_contract.findings)
            assert [u.status for u in vlm_contract.waivers] == ["active"]
    """)
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    assert "waiver=1 entries" in result.stdout.str()
