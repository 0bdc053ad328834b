"""Capability checks: pass on the reference mock, name what is missing on a broken one."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from harness import engine
from harness.engine import Plan
from harness.findings import Severity
from harness.report.results import Outcome
from harness.targets.base import Target

CASES = [("mimo", "openai-chat", "text"), ("mimo", "anthropic-messages", "text"),
         ("modelbest", "openai-chat", "image"), ("mimo", "anthropic-messages", "image"),
         ("wavespeed", "wavespeed-v3", "image"), ("fal", "fal-queue", "image"),
         ("local", "openai-chat", "multi-image"), ("mimo", "anthropic-messages", "multi-image"),
         ("fal", "fal-queue", "multi-image"), ("mimo", "openai-chat", "video"),
         ("wavespeed", "wavespeed-v3", "video"), ("fal", "fal-queue", "video")]


def edit_json(when: str, fn: Callable[[Any], Any], status: int | None = None) -> Any:
    """A response edit that rewrites the JSON of answers whose path contains ``when``."""
    def edit(wire: Any, code: int, headers: dict[str, str], body: bytes
             ) -> tuple[int, dict[str, str], bytes]:
        if when not in wire.path or code != 200:
            return code, headers, body
        return status or code, headers, json.dumps(fn(json.loads(body))).encode()
    return edit


@pytest.mark.parametrize(("provider", "protocol", "name"), CASES)
def test_passes_on_the_reference_mock(mock_target: Target, run_check: Any, provider: str,
                                      protocol: str, name: str) -> None:
    assert run_check(mock_target, provider, protocol, name) == []


def test_engine_runs_every_capability_for_mimo(mock_target: Target) -> None:
    result = engine.run(Plan(mock_target, provider_spec="mimo",
                             check_spec="text,image,multi-image,video,error-shape"))
    rows = {(c.check, c.endpoint): c for c in result.cases}
    assert rows[("video", "chat")].outcome is Outcome.PASS  # video: OpenAI format only
    assert ("video", "messages") not in rows
    scenario = [c for c in result.cases if c.check != "error-shape"]
    assert len(scenario) == 7 and all(c.outcome is Outcome.PASS for c in scenario)
    assert {c.capability for c in scenario} == {"text", "image", "multi-image", "video"}


def _set_content(value: Any) -> Callable[[Any], Any]:
    def fn(body: Any) -> Any:
        body["choices"][0]["message"]["content"] = value
        return body
    return fn


@pytest.mark.parametrize(("edit", "message"), [
    (_set_content(""), "answer at /choices/0/message/content is an empty string"),
    (_set_content(42), "answer at /choices/0/message/content is int (\'42\'), expected a string"),
    (lambda b: b | {"choices": []}, "answer has no /choices/0; the answer text belongs at"),
])
def test_openai_answer_defects_are_named(broken_target: Any, run_check: Any,
                                         edit: Callable[[Any], Any], message: str) -> None:
    target = broken_target(response=edit_json("/chat/completions", edit))
    findings = run_check(target, "modelbest", "openai-chat", "image")
    assert len(findings) == 1 and message in findings[0].message
    assert findings[0].severity is Severity.ERROR and findings[0].check == "image"


def test_anthropic_without_a_text_block_is_named(broken_target: Any, run_check: Any) -> None:
    target = broken_target(response=edit_json("/v1/messages", lambda b: b | {"content": []}))
    [finding] = run_check(target, "mimo", "anthropic-messages", "multi-image")
    assert "multi-image answer has no /content/0" in finding.message


def test_fal_without_output_is_named(broken_target: Any, run_check: Any) -> None:
    target = broken_target(response=edit_json("/fal-ai/mini-cpm", lambda b: {"result": "hi"}))
    [finding] = run_check(target, "fal", "fal-queue", "video")
    assert "video answer has no /output" in finding.message


def test_a_server_error_is_reported_with_its_status(broken_target: Any, run_check: Any) -> None:
    target = broken_target(response=edit_json("/chat/completions", lambda b: b, status=503))
    [finding] = run_check(target, "mimo", "openai-chat", "text")
    assert "text request to chat (mimo-v2-omni) answered HTTP 503, expected 200" in finding.message


def test_wavespeed_failure_inside_http_200_is_caught(broken_target: Any, run_check: Any) -> None:
    def failed(body: Any) -> Any:
        body["data"] |= {"status": "failed", "outputs": [], "error": "GPU fell over"}
        return body
    target = broken_target(response=edit_json("/api/v3/wavespeed-ai", failed))
    [finding] = run_check(target, "wavespeed", "wavespeed-v3", "image")
    assert "data.status 'failed'" in finding.message and "GPU fell over" in finding.message


def test_wavespeed_ignoring_sync_mode_is_a_warning_then_polled(broken_target: Any,
                                                              run_check: Any) -> None:
    def unfinished(body: Any) -> Any:
        body["data"] |= {"status": "processing", "outputs": []}
        return body
    target = broken_target(response=edit_json("/api/v3/wavespeed-ai", unfinished))
    [finding] = run_check(target, "wavespeed", "wavespeed-v3", "image", probe_out=(probes := []))
    assert finding.severity is Severity.WARNING
    assert "enable_sync_mode=true but the submit answered data.status 'processing'" in finding.message
    assert [ex.endpoint for ex in probes[0].exchanges][-1] == "result"  # it waited, and passed
