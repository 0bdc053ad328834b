"""The drift runner end to end: baselines created then matched, planted changes classified, and
providers that cannot be measured (unreachable, wrong key, rate-limited, no key) reported."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp
from typer.testing import CliRunner

from harness.cli import app as cli
from harness.drift import run as drift
from harness.drift.baseline import load_baseline
from harness.drift.classify import Kind
from harness.mock.config import MockConfig
from harness.mock.defects import Answer, Rewrite, Wire
from harness.mock.serve import ServedMock
from harness.report.results import Outcome, RunResult
from harness.secrets import key_variables
from harness.targets import TargetOptions, make_target
from harness.targets.base import Target
from harness.targets.mock import MockTarget

BodyEdit = Callable[[str, bytes], bytes]


def edit_bodies(app: ASGIApp, edit: BodyEdit) -> ASGIApp:
    """The mock with every HTTP answer's body passed through ``edit(content_type, body)``."""

    def response(wire: Wire, answer: Answer) -> Answer:
        answer.body = edit(answer.headers.get("content-type", ""), answer.body)
        return answer

    return Rewrite(app, response=response)


def json_edit(fn: Callable[[dict[str, Any]], None]) -> BodyEdit:
    """Edit successful chat completions (JSON with ``choices``); streams pass untouched."""
    def edit(content_type: str, body: bytes) -> bytes:
        if not content_type.startswith("application/json"):
            return body
        data = json.loads(body)
        if isinstance(data, dict) and "choices" in data:
            fn(data)
        return json.dumps(data).encode()
    return edit


def drop_sse(predicate: Callable[[str], bool]) -> BodyEdit:
    def edit(content_type: str, body: bytes) -> bytes:
        if not content_type.startswith("text/event-stream"):
            return body
        frames = [f for f in body.decode().split("\n\n") if f.strip()]
        return "".join(f"{f}\n\n" for f in frames if not predicate(f)).encode()
    return edit


@pytest.fixture
def targets() -> Iterator[Callable[..., Target]]:
    made: list[Target] = []

    def make(edit: BodyEdit | None = None, **options: Any) -> Target:
        if edit is not None:
            target: Target = MockTarget()
            target.app = edit_bodies(target.app, edit)  # type: ignore[attr-defined]
        else:
            config = options.pop("mock_config", None)
            target = make_target(TargetOptions(**options), mock_config=config)
        made.append(target)
        return target

    yield make
    for target in made:
        target.close()


def drift_on(target: Target, root: Path, provider: str = "local", **kw: Any) -> drift.DriftRun:
    return drift.run(drift.DriftPlan(target, provider_spec=provider,
                                     baselines_dir=root / "baselines", **kw))


def by_probe(run: drift.DriftRun) -> dict[str, Any]:
    return {c.check.removeprefix("drift-"): c for c in run.result.cases}


def test_first_run_creates_baselines_and_second_run_sees_no_drift(
        targets: Callable[..., Target], tmp_path: Path) -> None:
    first = drift_on(targets(), tmp_path, "local,wavespeed")
    assert [(p.provider, p.baseline) for p in first.providers] == [
        ("local", "created"), ("wavespeed", "created")]
    assert "no baseline yet; created" in first.providers[0].note
    saved = load_baseline("local", tmp_path / "baselines")
    assert saved is not None
    assert {p.probe for p in saved.probes} == {"text", "image", "multi-image", "stream",
                                               "invalid-body"}  # local's key is optional
    assert first.exit_code == 0 and first.result.drift == ()
    assert all(c.outcome is Outcome.PASS for c in first.result.cases), first.result.cases

    second = drift_on(targets(), tmp_path, "local,wavespeed")
    assert [p.baseline for p in second.providers] == ["compared", "compared"]
    # Only values move between runs (WaveSpeed's created_at): cosmetic, never drift that matters.
    assert {c.kind for c in second.result.drift} <= {Kind.COSMETIC}
    assert second.exit_code == 0


def test_probe_set_covers_documented_capabilities_and_error_classes(
        targets: Callable[..., Target], tmp_path: Path) -> None:
    run = drift_on(targets(), tmp_path, "mimo,fal")
    seen = {(c.provider, c.endpoint, c.check, c.capability) for c in run.result.cases}
    assert ("mimo", "chat", "drift-video", "video") in seen
    assert ("mimo", "messages", "drift-stream", "stream") in seen
    assert ("mimo", "messages", "drift-no-auth", "auth") in seen
    assert ("fal", "run:fal-ai/mini-cpm", "drift-invalid-body", "errors") in seen
    assert ("fal", "run:fal-ai/mini-cpm/video", "drift-video", "video") in seen
    observed = load_baseline("mimo", tmp_path / "baselines")
    assert observed is not None
    statuses = {(p.endpoint, p.probe): p.status for p in observed.probes}
    assert statuses[("messages", "no-auth")] == 401 and statuses[("chat", "invalid-body")] == 400
    stream = observed.probe("messages", "stream")
    assert stream is not None and stream.stream is not None
    assert "message_stop" in stream.stream.event_types


def test_renamed_response_field_is_breaking_with_its_pointer(
        targets: Callable[..., Target], tmp_path: Path) -> None:
    drift_on(targets(), tmp_path)

    def rename(data: dict[str, Any]) -> None:
        for choice in data["choices"]:
            choice["stop_reason"] = choice.pop("finish_reason")

    run = drift_on(targets(json_edit(rename)), tmp_path)
    breaking = [(c.pointer, c.message, c.old) for c in run.breaking]
    assert ("text#/choices/*/finish_reason", "field removed", "string") in breaking
    assert any(c.kind is Kind.ADDITIVE and c.pointer == "text#/choices/*/stop_reason"
               for c in run.result.drift)
    assert run.exit_code == 1
    case = by_probe(run)["text"]
    assert case.outcome is Outcome.FAIL
    drift_findings = [f for f in case.findings if f.check == "drift"]
    assert any(f.instance_pointer == "text#/choices/*/finish_reason" for f in drift_findings)
    # The answer no longer matches the documented schema either: the exchange checks say so.
    assert any(f.check == "response-schema-conformance" and "finish_reason" in f.message
               for f in case.findings)


def test_removed_stream_event_is_breaking(targets: Callable[..., Target], tmp_path: Path) -> None:
    drift_on(targets(), tmp_path)
    run = drift_on(targets(drop_sse(lambda frame: "[DONE]" in frame)), tmp_path)
    assert [(c.pointer, c.message) for c in run.breaking] == [
        ("stream#/events/[DONE]", "event no longer sent")]
    assert run.breaking[0].endpoint == "chat" and run.breaking[0].provider == "local"
    assert run.exit_code == 1
    assert by_probe(run)["stream"].outcome is Outcome.FAIL


def test_added_optional_field_is_additive_and_passes(
        targets: Callable[..., Target], tmp_path: Path) -> None:
    drift_on(targets(), tmp_path)
    run = drift_on(targets(json_edit(lambda d: d.update(service_tier="default"))), tmp_path)
    additive = {c.pointer for c in run.result.drift if c.kind is Kind.ADDITIVE}
    assert {"text#/service_tier", "image#/service_tier"} <= additive
    assert run.breaking == () and run.exit_code == 0
    assert all(c.outcome is Outcome.PASS for c in run.result.cases)


def test_update_baseline_accepts_breaking_drift(
        targets: Callable[..., Target], tmp_path: Path) -> None:
    drift_on(targets(), tmp_path)
    dropped = drop_sse(lambda frame: "[DONE]" in frame)
    accepted = drift_on(targets(dropped), tmp_path, update_baseline=True)
    assert accepted.breaking and accepted.exit_code == 0
    assert accepted.providers[0].baseline == "updated"
    assert by_probe(accepted)["stream"].outcome is Outcome.PASS
    again = drift_on(targets(dropped), tmp_path)
    assert again.breaking == () and again.exit_code == 0


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_provider_is_reported_not_raised(
        targets: Callable[..., Target], tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    run = drift_on(targets(kind="url", base_url=url), tmp_path)
    first, *rest = run.result.cases
    assert first.outcome is Outcome.FAIL
    assert first.findings[0].message.startswith(f"unreachable: cannot connect to {url}/local/v1")
    assert rest and all(c.outcome is Outcome.SKIP and c.reason == "not sent: local is unreachable"
                        for c in rest)
    assert run.providers[0].baseline == "untouched"
    assert not (tmp_path / "baselines" / "local.json").exists()
    assert run.exit_code == 1  # a failed probe is a finding: never a green run


def test_wrong_key_is_reported_and_scrubbed(targets: Callable[..., Target], tmp_path: Path,
                                            served_mock: ServedMock,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = "bogus-modelbest-key-for-the-drift-test"
    monkeypatch.setenv("MODELBEST_API_KEY", bogus)
    run = drift_on(targets(kind="url", base_url=served_mock.url), tmp_path, "modelbest")
    cases = by_probe(run)
    assert cases["text"].outcome is Outcome.FAIL
    assert cases["text"].findings[0].message.startswith(
        "the key in MODELBEST_API_KEY was refused: HTTP 401 on the text probe")
    assert cases["no-auth"].reason == "not sent: modelbest refused the credentials"
    assert run.exit_code == 1 and run.providers[0].baseline == "untouched"  # a refused key fails
    written = run.result.write_json(tmp_path / "results.json").read_text()
    assert bogus not in written


def test_rate_limit_is_reported_as_a_skip(targets: Callable[..., Target], tmp_path: Path) -> None:
    limited = targets(mock_config=MockConfig(faults="status=429,retry-after=0"))
    run = drift_on(limited, tmp_path)
    first, *rest = run.result.cases
    assert first.outcome is Outcome.SKIP
    assert first.reason.startswith("rate-limited: HTTP 429 on the text probe (Retry-After: 0)")
    assert all(c.reason == "not sent: local is rate-limited" for c in rest)
    # Nothing was measured: a run that compared nothing is not green.
    assert run.exit_code == 3 and run.providers[0].baseline == "untouched"


def test_max_requests_caps_the_probes_sent(targets: Callable[..., Target], tmp_path: Path) -> None:
    run = drift_on(targets(), tmp_path, "mimo", max_requests=3)
    sent = [c for c in run.result.cases if c.latencies_ms]
    assert len(sent) == 3
    assert {c.reason for c in run.result.cases if not c.latencies_ms} == {
        "not sent: --max-requests 3 for mimo spent"}


def test_live_without_keys_skips_every_provider(targets: Callable[..., Target], tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    for name in key_variables():
        monkeypatch.delenv(name, raising=False)
    run = drift_on(targets(kind="live"), tmp_path, "all")
    assert all(c.outcome is Outcome.SKIP for c in run.result.cases)
    reasons = {c.provider: c.reason for c in run.result.cases if c.check == "drift-image"}
    assert reasons["wavespeed"] == "WAVESPEED_API_KEY is not set"
    assert reasons["fal"] == "FAL_KEY is not set"
    assert run.exit_code == 3 and not (tmp_path / "baselines").exists()
    assert "nothing was checked (fal: FAL_KEY is not set;" in run.result.empty_reason()


def test_local_target_against_the_served_mock(targets: Callable[..., Target], tmp_path: Path,
                                              served_mock: ServedMock,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLM_HARNESS_LOCAL_URL", f"{served_mock.url}/local/v1")
    run = drift_on(targets(kind="local"), tmp_path, "local")
    assert all(c.outcome is Outcome.PASS for c in run.result.cases), run.result.cases
    assert run.providers[0].baseline == "created"


def test_command_writes_reports_and_exits_on_breaking(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["drift", "--target", "mock", "--provider", "local", "--quiet"]
    assert CliRunner().invoke(cli, args).exit_code == 0
    # Mock baselines live apart from the live ones the nightly compares with.
    assert (tmp_path / "reports/baselines/mock/local.json").is_file()
    assert not (tmp_path / "reports/baselines/local.json").exists()
    for name in ("results.json", "junit.xml", "index.html", "observed/local.json"):
        assert (tmp_path / "reports" / name).is_file()
    # Plant a breaking change in the accepted baseline: the next run must find it.
    path = tmp_path / "reports/baselines/mock/local.json"
    saved = json.loads(path.read_text())
    for probe in saved["probes"]:
        if probe["probe"] == "text":
            probe["status"] = 201
    path.write_text(json.dumps(saved))
    result = CliRunner().invoke(cli, [*args, "--no-quiet"])
    assert result.exit_code == 1, result.output
    assert "text#/status: 201 → 200 — status code changed" in result.output
    written = RunResult.load(tmp_path / "reports/results.json")
    assert [c.pointer for c in written.breaking] == ["text#/status"]
    assert "drift-text" in (tmp_path / "reports/junit.xml").read_text()
    # ...and must not have written what it saw over the baseline: only --update-baseline does.
    assert json.loads(path.read_text()) == saved
    accepted = CliRunner().invoke(cli, [*args, "--update-baseline"])
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(path.read_text()) != saved


def test_command_without_keys_fails_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The nightly with no keys (a missing secret) must not be a green run that checked nothing."""
    monkeypatch.chdir(tmp_path)
    for var in ("WAVESPEED_API_KEY", "FAL_KEY", "MODELBEST_API_KEY", "MIMO_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    result = CliRunner().invoke(cli, ["drift", "--target", "live", "--format", "plain"])
    assert result.exit_code == 3, result.output
    assert "error: nothing was checked (fal: FAL_KEY is not set;" in result.output
    assert "pass --allow-empty" in result.output
    allowed = CliRunner().invoke(cli, ["drift", "--target", "live", "--allow-empty"])
    assert allowed.exit_code == 0, allowed.output


def test_command_refuses_an_unknown_target() -> None:
    result = CliRunner().invoke(cli, ["drift", "--target", "nope"])
    assert result.exit_code == 2
    assert "unknown target (--target) 'nope'; known: " in result.output
    assert "live, local, mock, url" in result.output
