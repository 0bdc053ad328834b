"""Unit tests of harness.drift.baseline: storage, comparison, status and latency regressions."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from harness.drift.baseline import (
    Observation,
    ProbeObservation,
    compare_to_baseline,
    latency_changes,
    load_baseline,
    percentile,
    save_baseline,
    update_baseline,
)
from harness.drift.classify import Kind
from harness.errors import UsageError

OK = {"id": "x", "choices": [{"message": {"content": "hi"}, "finish_reason": "stop"}]}
ERR = {"error": {"message": "bad", "type": "invalid_request_error", "code": "bad_request"}}


def probe(status: int = 200, body: dict | None = None, latencies: tuple[float, ...] = (300.0,),
          content_type: str = "application/json", name: str = "text-basic") -> ProbeObservation:
    return ProbeObservation.observe("chat", name, status, content_type,
                                    bodies=[body or OK], latencies_ms=latencies)


def obs(*probes: ProbeObservation, provider: str = "mimo") -> Observation:
    return Observation(provider, probes, "2026-11-23T10:00:00Z", "live")


def test_identical_observation_has_no_drift() -> None:
    assert compare_to_baseline(obs(probe()), obs(probe())) == []


def test_status_change_is_breaking_and_placed() -> None:
    out = compare_to_baseline(obs(probe(status=400, body=ERR)), obs(probe()))
    assert [(c.kind, c.pointer, c.old, c.new) for c in out] == [
        (Kind.BREAKING, "text-basic#/status", 200, 400)]
    assert (out[0].provider, out[0].endpoint) == ("mimo", "chat")


def test_error_shape_change_is_breaking() -> None:
    new_err = {"error": {"message": "bad", "type": "invalid_request_error"}}
    out = compare_to_baseline(obs(probe(400, new_err, name="bad-image")),
                              obs(probe(400, ERR, name="bad-image")))
    assert [(c.kind, c.pointer) for c in out] == [(Kind.BREAKING, "bad-image#/error/code")]


def test_content_type_parameters_are_ignored_but_type_change_is_breaking() -> None:
    same = compare_to_baseline(obs(probe(content_type="application/json; charset=utf-8")),
                               obs(probe()))
    assert same == []
    out = compare_to_baseline(obs(probe(content_type="text/plain")), obs(probe()))
    assert [c.pointer for c in out if c.kind is Kind.BREAKING] == ["text-basic#/content-type"]


def test_stream_shapes_are_compared() -> None:
    old = ProbeObservation.observe("chat", "stream", 200, "text/event-stream",
                                   streams=[[{"type": "a"}, {"type": "b"}]])
    new = ProbeObservation.observe("chat", "stream", 200, "text/event-stream",
                                   streams=[[{"type": "a"}, {"type": "c"}, {"type": "b"}]])
    out = compare_to_baseline(obs(new), obs(old))
    assert [(c.kind, c.pointer) for c in out] == [(Kind.ADDITIVE, "stream#/events/c")]


@pytest.mark.parametrize(("old", "new", "flagged"), [
    ((400.0, 420.0, 450.0), (900.0, 950.0, 990.0), {"/latency/p50", "/latency/p95"}),
    ((100.0, 110.0, 120.0), (160.0, 170.0, 180.0), set()),       # +50% but < 100 ms
    ((2000.0, 2100.0, 2200.0), (2300.0, 2400.0, 2500.0), set()),  # +300 ms but < 50%
    ((400.0, 400.0, 400.0, 400.0, 400.0), (400.0, 400.0, 400.0, 400.0, 2000.0),
     {"/latency/p95"}),                                           # the tail only
    ((900.0,), (300.0,), set()),                                  # faster is fine
])
def test_latency_regression_needs_both_thresholds(old: tuple[float, ...], new: tuple[float, ...],
                                                  flagged: set[str]) -> None:
    out = latency_changes(old, new)
    assert {c.pointer for c in out} == flagged
    assert all(c.kind is Kind.LATENCY for c in out)


def test_latency_regression_reported_against_baseline() -> None:
    out = compare_to_baseline(obs(probe(latencies=(900.0, 1000.0))),
                              obs(probe(latencies=(300.0, 320.0))))
    assert {c.kind for c in out} == {Kind.LATENCY}
    assert all(c.pointer.startswith("text-basic#/latency/") for c in out)


def test_percentile_interpolates() -> None:
    assert percentile([], 50) == 0.0
    assert percentile([10.0], 95) == 10.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 50) == 2.5
    assert percentile([0.0, 100.0], 95) == pytest.approx(95.0)


def test_probes_only_on_one_side_are_not_compared() -> None:
    new = obs(probe(), probe(name="image-basic", status=500))
    assert compare_to_baseline(new, obs(probe())) == []


def test_provider_mismatch_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="baseline"):
        compare_to_baseline(obs(probe()), obs(probe(), provider="fal"))


def test_save_load_update_round_trip(tmp_path: Path) -> None:
    assert load_baseline("mimo", tmp_path) is None
    first = obs(probe(), probe(name="image-basic"))
    path = save_baseline(first, tmp_path)
    assert path == tmp_path / "mimo.json"
    assert load_baseline("mimo", tmp_path) == first
    merged = update_baseline(obs(probe(latencies=(111.0,))), tmp_path)
    names = {p.probe: p for p in merged.probes}
    assert set(names) == {"text-basic", "image-basic"}  # the probe not re-run is kept
    assert names["text-basic"].latencies_ms == (111.0,)
    assert load_baseline("mimo", tmp_path) == merged


def test_baseline_file_is_stable_and_scrubbed(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    key = f"sk-planted-{secrets.token_hex(8)}"
    monkeypatch.setenv("MIMO_API_KEY", key)
    body = {"echo": f"Bearer {key}", "id": "x"}
    path = save_baseline(obs(probe(body=body)), tmp_path)
    text = path.read_text()
    assert key not in text and "<REDACTED>" in text
    assert json.loads(text)["format"] == "vlm-harness-baseline/1"
    assert save_baseline(load_baseline("mimo", tmp_path), tmp_path).read_text() == text


def test_corrupt_baseline_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "mimo.json").write_text("{not json")
    with pytest.raises(UsageError, match=r"mimo\.json"):
        load_baseline("mimo", tmp_path)
