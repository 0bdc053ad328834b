"""The shipped cassettes: small, scrubbed, readable by vcrpy, and replaying them tells the same
story as the in-process mock, case by case."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from harness import engine
from harness.recording.cassettes import default_dir, load, metadata_of
from harness.report.results import Outcome, RunResult
from harness.targets import make_target
from harness.targets.base import TargetKind, TargetOptions

SHIPPED = default_dir()
FILES = sorted(SHIPPED.glob("*/*.yaml"))
RERECORD = "re-record them: vlm-harness record --target mock --provider all"
Verdict = tuple[str, tuple[str, ...]]


def _run(options: TargetOptions) -> RunResult:
    target = make_target(options)
    try:
        return engine.run(engine.Plan(target=target, provider_spec="all"))
    finally:
        target.close()


@pytest.fixture(scope="module")
def runs() -> Iterator[tuple[RunResult, RunResult]]:
    yield _run(TargetOptions()), _run(TargetOptions(kind=TargetKind.CASSETTE))


def _verdicts(result: RunResult) -> dict[tuple[str, str, str], Verdict]:
    return {(c.check, c.provider, c.endpoint):
            (c.outcome.value, tuple(f.message for f in c.findings if f.is_error))
            for c in result.cases}


def test_replay_gives_every_case_the_mocks_outcome_and_error_findings(
        runs: tuple[RunResult, RunResult]) -> None:
    mock, replay = runs
    skipped = {(c.check, c.provider): c.reason for c in replay.cases if c.outcome is Outcome.SKIP}
    theirs, ours = _verdicts(mock), _verdicts(replay)
    differ = [f"{key}: mock {theirs.get(key)} vs cassette {ours.get(key)}"
              for key in sorted(set(theirs) | set(ours))
              if theirs.get(key) != ours.get(key) and key[:2] not in skipped]
    assert not differ, f"cassette replay departs from the mock; {RERECORD}\n" + "\n".join(differ)
    assert not [f for f in replay.findings if "CassetteMiss" in f.message]


def test_what_replay_cannot_run_is_skipped_with_a_reason(runs: tuple[RunResult, RunResult]) -> None:
    mock, replay = runs
    ran_on_mock = {(c.check, c.provider) for c in mock.cases if c.outcome is not Outcome.SKIP}
    skipped = [c for c in replay.cases if c.outcome is Outcome.SKIP
               and (c.check, c.provider) in ran_on_mock]
    assert skipped, "realtime at least cannot be replayed"
    assert all(c.reason for c in skipped)
    realtime = [c for c in skipped if c.capability == "realtime"]
    assert realtime and all("WebSocket" in c.reason for c in realtime)
    assert not [c for c in skipped if "no cassettes" in c.reason], RERECORD


def test_the_shipped_set_is_small_and_holds_no_media() -> None:
    assert FILES, f"no cassettes under {SHIPPED}; {RERECORD}"
    total = sum(p.stat().st_size for p in FILES)
    assert total < 2 * 1024 * 1024, f"cassettes/ is {total:,} bytes"
    big_base64 = re.compile(r"[A-Za-z0-9+/]{4096,}")
    assert not [p for p in FILES if big_base64.search(p.read_text())]
    # The edge and edge+1 probes, each megabytes of PNG, are one placeholder line apiece.
    limits = (SHIPPED / "mimo" / "media-limits.yaml").read_text()
    assert len(re.findall(r"<media\s+sha256=[0-9a-f]{16}\s+size=\d{7,}\s+format=png>", limits)) == 2


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_each_cassette_is_vcrpy_format_with_its_provenance(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    assert raw["version"] == 1 and raw["interactions"]
    meta = metadata_of(path)
    assert meta["origin"] == "reference-mock" and meta["target"] == "mock"
    assert meta["provider"] == path.parent.name and meta["scenario"] == path.stem
    assert {"recorded_at", "harness_version", "schema_version", "media_threshold"} <= set(meta)
    cassette = load(path)  # vcrpy's own loader
    assert len(cassette) == len(raw["interactions"])
    for request, _ in cassette.data:
        assert request.uri.startswith("http://mock.invalid/"), request.uri


@pytest.mark.parametrize("order", [("cancel-honoured",),
                                   ("cancel-honoured", "async-job-lifecycle") * 2],
                         ids=["alone", "interleaved-twice"])
def test_checks_replay_alone_or_again_although_they_open_with_the_same_request(
        order: tuple[str, ...]) -> None:
    """fal's lifecycle and cancel checks both open with the same submit; replay cannot know
    which is running, yet each must continue in its own cassette, in any order, any number
    of times on one target."""
    target = make_target(TargetOptions(kind=TargetKind.CASSETTE))
    try:
        for check in order:
            result = engine.run(engine.Plan(target=target, provider_spec="fal", check_spec=check))
            assert [c.outcome for c in result.cases if c.check == check] == [Outcome.PASS], \
                [f.message for f in result.findings]
    finally:
        target.close()
