"""Media-limit checks: exact edges on the mock, and every way a server can get them wrong."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
from typing import Any

import pytest

from harness import engine, providers
from harness.checks.media_limits import edge_size
from harness.checks.registry import Skip
from harness.engine import Plan
from harness.findings import Severity
from harness.media import MediaLimits
from harness.report.results import Outcome
from harness.strategies import of_size
from harness.targets.base import Target, TargetKind

BIG = 1 << 20  # request bodies above this carry one of the padded PNGs


def test_edge_size_is_the_tightest_limit() -> None:
    assert edge_size(providers.get("mimo").limits["image"]) == (
        7_864_320, "max_base64_chars 10,485,760")  # 10 MB of base64 holds 7.5 MB of image
    # fal states no size limit: its 10 MiB is advisory, so the check does not probe it
    assert edge_size(providers.get("fal").limits["image"]) is None
    assert edge_size(providers.get("fal").media.strict["image"]) == (
        10_485_760, "max_bytes 10,485,760")
    assert edge_size(MediaLimits(max_count=3)) is None


def test_engine_runs_size_probes_once_per_provider(mock_target: Target) -> None:
    result = engine.run(Plan(mock_target, provider_spec="mimo", check_spec="media-limits"))
    rows = {c.endpoint: c for c in result.cases}
    assert {r.capability for r in rows.values()} == {"limits"}
    # at the edge and one byte over; MiMo documents no image count, so no count probe
    assert rows["chat"].outcome is Outcome.PASS and len(rows["chat"].latencies_ms) == 2
    # the second API would only count images, and no count is documented: skipped, with why
    assert rows["anthropic-messages"].outcome is Outcome.SKIP


def test_passes_on_the_reference_mock(mock_target: Target, run_check: Any) -> None:
    probes: list[Any] = []
    assert run_check(mock_target, "mimo", "openai-chat", "media-limits", probe_out=probes) == []
    assert [ex.status for ex in probes[0].exchanges] == [200, 413]


@pytest.mark.parametrize(("provider", "protocol"), [("wavespeed", "wavespeed-v3"),
                                                    ("fal", "fal-queue"),
                                                    ("modelbest", "openai-chat")])
def test_advisory_limits_are_not_probed(mock_target: Target, run_check: Any, provider: str,
                                        protocol: str) -> None:
    """Their size and count limits are advisory (no document states them): nothing to test."""
    with pytest.raises(Skip, match="documents no image size limit"):
        run_check(mock_target, provider, protocol, "media-limits")


def test_live_targets_skip_oversize_unless_allowed(mock_target: Target, run_check: Any) -> None:
    mock_target.kind = TargetKind.LIVE  # type: ignore[misc]
    with pytest.raises(Skip, match="live budget: oversize probes disabled"):
        run_check(mock_target, "mimo", "openai-chat", "media-limits")
    assert run_check(mock_target, "mimo", "openai-chat", "media-limits",
                     options={"allow_large": True}) == []


SMALL_PNG = base64.b64encode(of_size("png", 100))  # whole: the mock walks it to IEND


def _shrink_big_images(wire: Any) -> Any:
    """The defect: the server lets an oversize image through (here: the app never sees it)."""
    if len(wire.body) > BIG:
        wire.body = re.sub(rb"[A-Za-z0-9+/]{100000,}={0,2}", SMALL_PNG, wire.body)
    return wire


def test_an_oversize_image_that_is_accepted_is_an_error(broken_target: Any, run_check: Any) -> None:
    [finding] = run_check(broken_target(request=_shrink_big_images), "mimo", "openai-chat",
                          "media-limits")
    assert finding.message == ("a PNG of 7,864,321 bytes (10,485,764 base64 chars), one byte over "
                               "the documented limit (max_base64_chars 10,485,760), was accepted "
                               "with HTTP 200")
    assert finding.severity is Severity.ERROR


def _big_answered(status: int, *, always: bool = False) -> Any:
    """Answer ``status`` to big requests: always, or only where the mock refused them."""
    def edit(wire: Any, code: int, headers: dict[str, str], body: bytes) -> Any:
        if len(wire.body) > BIG and (always or code >= 400):
            return status, headers, body
        return code, headers, body
    return edit


def test_an_image_at_the_edge_that_is_refused_is_an_error(broken_target: Any, run_check: Any) -> None:
    [finding] = run_check(broken_target(response=_big_answered(413, always=True)), "mimo",
                          "openai-chat", "media-limits")
    assert finding.message == ("a PNG of 7,864,320 bytes (10,485,760 base64 chars), exactly at the "
                               "documented limit (max_base64_chars 10,485,760), was refused with "
                               "HTTP 413")


def test_oversize_refused_with_another_4xx_is_a_warning_and_a_5xx_an_error(
        broken_target: Any, run_check: Any) -> None:
    [warning] = run_check(broken_target(response=_big_answered(400)), "mimo", "openai-chat",
                          "media-limits")
    assert warning.severity is Severity.WARNING
    assert "was refused with HTTP 400; the protocol documents 413 for oversize" in warning.message
    [error] = run_check(broken_target(response=_big_answered(500)), "mimo", "openai-chat",
                        "media-limits")
    assert error.severity is Severity.ERROR and "got a server error HTTP 500 instead of 413" in \
        error.message


def test_too_many_images_accepted_is_an_error(broken_target: Any, run_check: Any,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """Were ModelBest's 8 images a documented limit (it is advisory), 9 accepted would be an error."""
    profile = providers.get("modelbest")
    sourced = dataclasses.replace(profile, media=dataclasses.replace(
        profile.media, lenient=profile.media.strict))
    original = providers.get
    monkeypatch.setattr(providers, "get", lambda name: sourced if name == "modelbest" else
                        original(name))
    def accept_many(wire: Any, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status == 400 and b"too many" in body:
            answer = {"id": "x", "object": "chat.completion", "created": 0, "model": "m",
                      "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"},
                                   "finish_reason": "stop"}]}
            return 200, headers, json.dumps(answer).encode()
        return status, headers, body
    target = broken_target(response=accept_many)
    target.kind = TargetKind.LIVE  # only the count probe, to keep the test quick
    [finding] = run_check(target, "modelbest", "openai-chat", "media-limits")
    assert finding.message == ("9 images in one request, one more than the documented max_count 8, "
                               "answered HTTP 200; expected a 4xx")
