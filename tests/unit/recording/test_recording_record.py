"""Recording: the record command, vcrpy's record modes through a wrapped target, pruning."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness import engine, providers
from harness.cli import app
from harness.errors import UnknownNameError, UsageError
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.recording.cassettes import load, metadata_of
from harness.recording.recorder import record
from harness.targets import make_target
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.cassette import NO_WEBSOCKET, CassetteTarget

MIMO = providers.get("mimo")
MODELBEST = providers.get("modelbest")


def _cassette(folder: Path, mode: str, base_url: str | None = None) -> CassetteTarget:
    return CassetteTarget(TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=str(folder),
                                        record_mode=mode, base_url=base_url))


def _run(target: CassetteTarget, checks: str, provider: str = "mimo") -> engine.RunResult:
    return engine.run(engine.Plan(target=target, provider_spec=provider, check_spec=checks))


def test_record_through_a_served_mock_writes_canonical_cassettes(served_mock: ServedMock,
                                                                  tmp_path: Path) -> None:
    summary = record(TargetOptions(kind=TargetKind.URL, base_url=served_mock.url), "fal",
                     "async-job-lifecycle", tmp_path)
    # Issue 15: the server's absolute status_url was not under the recording client's
    # (canonical) base, so it went unfollowed and the recording failed where live would not.
    assert not summary.result.errors, [f.message for f in summary.result.errors]
    assert [w.path.name for w in summary.written] == ["async-job-lifecycle.yaml"]
    path = tmp_path / "fal" / "async-job-lifecycle.yaml"
    interactions = path.read_text().partition("\nmetadata:")[0]
    port = served_mock.url.rsplit(":", 1)[1]
    assert port not in interactions  # status URLs in answers were rebased too
    assert metadata_of(path)["origin"] == "url:127.0.0.1"
    uris = [request.uri for request, _ in load(path).data]
    assert uris and all(u.startswith("http://mock.invalid/fal/queue/") for u in uris)
    replay = _cassette(tmp_path, "none")
    assert not _run(replay, "async-job-lifecycle", "fal").errors
    replay.close()


def test_new_episodes_records_only_what_the_cassettes_lack(served_mock: ServedMock,
                                                           tmp_path: Path) -> None:
    record(TargetOptions(), "mimo", "text", tmp_path)
    text = (tmp_path / "mimo" / "text.yaml").read_text()
    target = _cassette(tmp_path, "new_episodes", served_mock.url)
    result = _run(target, "text,image")
    target.close()
    assert not result.errors
    assert (tmp_path / "mimo" / "text.yaml").read_text() == text  # replayed, not re-recorded
    unsorted = load(tmp_path / "mimo" / "unsorted.yaml")  # nothing named a scenario
    assert len(unsorted) == 2 and all(b"Describe what you see" in r.body for r, _ in unsorted.data)
    assert metadata_of(tmp_path / "mimo" / "unsorted.yaml")["origin"] == "url:127.0.0.1"


def test_once_records_a_missing_cassette_but_never_adds_to_an_existing_one(
        served_mock: ServedMock, tmp_path: Path) -> None:
    record(TargetOptions(), "mimo", "text", tmp_path)
    target = _cassette(tmp_path, "once", served_mock.url)
    target.scenario = "text"  # an existing cassette: a request it lacks is a miss
    refused = _run(target, "image")
    assert any("CassetteMiss" in f.message and "no recorded interaction" in f.message
               for f in refused.errors)
    target.scenario = "image"  # no such file yet: recorded
    assert not _run(target, "image").errors
    target.close()
    assert len(load(tmp_path / "mimo" / "image.yaml")) == 2


def test_replay_only_target_needs_no_network_and_skips_what_it_cannot_replay(tmp_path: Path) -> None:
    other = tmp_path / "wavespeed" / "text.yaml"  # some cassettes, none for mimo
    other.parent.mkdir()
    other.write_text("interactions: []\nversion: 1\n")
    target = make_target(TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=str(tmp_path)))
    assert isinstance(target, CassetteTarget) and target.inner is None
    realtime = MODELBEST.api("minicpm-o-realtime")
    assert target.skip_reason(MODELBEST, realtime) == NO_WEBSOCKET
    why = target.skip_reason(MIMO, MIMO.apis[0]) or ""
    assert "no cassettes for mimo" in why and "vlm-harness record --target mock --provider mimo" in why
    with pytest.raises(UsageError, match="WebSocket"):
        target.websocket(MODELBEST, realtime, "/realtime", {})
    with pytest.raises(UnknownNameError, match="known: all, new_episodes, none, once"):
        _cassette(tmp_path, "sometimes")


def test_replay_from_a_missing_or_empty_folder_is_a_usage_error_not_a_green_run(
        tmp_path: Path) -> None:
    for folder, why in ((tmp_path / "typo", "no such folder"), (tmp_path, "no cassettes")):
        with pytest.raises(UsageError, match=f"--cassettes-dir .*{why}"):
            make_target(TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=str(folder)))
    done = CliRunner().invoke(app, ["run", "--target", "cassette", "--cassettes-dir", str(tmp_path),
                                    "--reports-dir", str(tmp_path / "r")])
    assert done.exit_code == 2 and "no cassettes" in done.output and "Traceback" not in done.output


def test_the_record_command_regenerates_a_provider_and_removes_stale_cassettes(tmp_path: Path) -> None:
    stale = tmp_path / "wavespeed" / "renamed-check.yaml"
    stale.parent.mkdir(parents=True)
    stale.write_text("interactions: []\nversion: 1\n")
    runner = CliRunner()
    done = runner.invoke(app, ["record", "--target", "mock", "--provider", "wavespeed",
                               "--cassettes-dir", str(tmp_path)])
    assert done.exit_code == 0, done.output
    assert "removed" in done.output and not stale.exists()
    assert (tmp_path / "wavespeed" / "image.yaml").is_file()
    refused = runner.invoke(app, ["record", "--target", "cassette"])
    assert refused.exit_code == 2
    assert "known: live, local, mock, url" in " ".join(refused.output.split())


def test_record_writes_a_run_folder_unless_asked_to_update_the_shipped_cassettes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    shipped = tmp_path / "cassettes" / "wavespeed" / "image.yaml"
    shipped.parent.mkdir(parents=True)
    shipped.write_text("interactions: []\nversion: 1\n")
    args = ["record", "--provider", "wavespeed", "--checks", "image"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert shipped.read_text() == "interactions: []\nversion: 1\n"  # untouched
    assert (tmp_path / "reports/cassettes/wavespeed/image.yaml").is_file()
    updated = CliRunner().invoke(app, [*args, "--update-cassettes"])
    assert updated.exit_code == 0, updated.output
    assert "interactions: []" not in shipped.read_text()


def test_recording_nothing_is_nothing_checked(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MIMO_API_KEY", raising=False)
    done = CliRunner().invoke(app, ["record", "--target", "live", "--provider", "mimo",
                                    "--cassettes-dir", str(tmp_path)])
    assert done.exit_code == 3, done.output
    assert "nothing was checked (mimo: MIMO_API_KEY is not set)" in " ".join(done.output.split())


def _failures(result: engine.RunResult) -> list[tuple[str, str, str]]:
    return sorted({(f.check, f.provider, f.message) for f in result.errors})


def test_a_recorded_failing_run_replays_to_the_same_failures(tmp_path: Path) -> None:
    """Issue 15: a recording must reproduce what was observed, failures included."""
    # A scenario check's own finding, and an exchange check's on a scenario's answer
    checks = "async-job-lifecycle,sse-framing,bad-input-errors,text,response-schema-conformance"
    config = MockConfig(job_step_s=0.02,
                        defects="status-backwards,missing-done,wrong-field-type")
    with ServedMock(config) as broken:
        summary = record(TargetOptions(kind=TargetKind.URL, base_url=broken.url),
                         "fal,wavespeed,modelbest", checks, tmp_path)
        done = CliRunner().invoke(app, ["record", "--target", "url", "--base-url", broken.url,
                                        "--provider", "wavespeed", "--checks",
                                        "async-job-lifecycle", "--cassettes-dir",
                                        str(tmp_path / "cli")])
    observed = _failures(summary.result)
    assert observed, "the planted defects were not noticed while recording"
    assert {"wavespeed", "modelbest"} <= {provider for _, provider, _ in observed}
    assert "response-schema-conformance" in {check for check, _, _ in observed}
    replay = _cassette(tmp_path, "none")
    replayed = _failures(_run(replay, checks, "fal,wavespeed,modelbest"))
    replay.close()
    assert replayed == observed
    assert done.exit_code == 1, done.output  # never exit 0 having observed failures


def test_recording_judges_with_the_checks_a_replay_of_the_same_selection_runs(
        tmp_path: Path) -> None:
    """``--checks text`` runs no exchange check under ``run``; recording must not either, or
    it reports a finding (here: a planted wrong field type) that no replay reproduces."""
    with ServedMock(MockConfig(defects="wrong-field-type")) as broken:
        summary = record(TargetOptions(kind=TargetKind.URL, base_url=broken.url), "modelbest",
                         "text", tmp_path)
    replay = _cassette(tmp_path, "none")
    replayed = _run(replay, "text", "modelbest")
    replay.close()
    assert _failures(summary.result) == _failures(replayed)
    assert {c.check for c in summary.result.cases} == {c.check for c in replayed.cases}
