"""Streaming checks: SSE framing and stream == non-stream, on the mock and on broken streams."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest

from harness import engine
from harness.engine import Plan
from harness.findings import Severity
from harness.report.results import Outcome
from harness.targets.base import Target, TargetKind

Frames = list[str]


def edit_sse(fn: Callable[[Frames], Frames]) -> Any:
    """A response edit that rewrites the SSE frames of streamed answers only."""
    def edit(wire: Any, status: int, headers: dict[str, str], body: bytes
             ) -> tuple[int, dict[str, str], bytes]:
        if not headers.get("content-type", "").startswith("text/event-stream"):
            return status, headers, body
        frames = [f for f in body.decode().split("\n\n") if f]
        return status, headers, "".join(f"{f}\n\n" for f in fn(frames)).encode()
    return edit


def data_of(frame: str) -> Any:
    return json.loads(frame.split("data: ", 1)[1])


def with_data(frame: str, data: Any) -> str:
    return frame.split("data: ", 1)[0] + "data: " + json.dumps(data)


@pytest.mark.parametrize("check", ["sse-framing", "stream-equals-non-stream"])
@pytest.mark.parametrize(("provider", "protocol"), [
    ("mimo", "openai-chat"), ("mimo", "anthropic-messages"), ("modelbest", "openai-chat"),
    ("local", "openai-chat")])
def test_passes_on_the_reference_mock(mock_target: Target, run_check: Any, provider: str,
                                      protocol: str, check: str) -> None:
    assert run_check(mock_target, provider, protocol, check) == []


def test_engine_runs_both_checks_with_event_schemas(mock_target: Target) -> None:
    result = engine.run(Plan(mock_target, provider_spec="mimo",
                             check_spec="sse-framing,stream-equals-non-stream,"
                                        "response-schema-conformance"))
    assert {(c.check, c.endpoint) for c in result.cases} >= {
        ("sse-framing", "chat"), ("sse-framing", "messages"),
        ("stream-equals-non-stream", "chat"), ("stream-equals-non-stream", "messages")}
    assert all(c.outcome is Outcome.PASS for c in result.cases), [
        (c.check, c.findings) for c in result.cases if c.outcome is not Outcome.PASS]
    assert {c.capability for c in result.cases if "stream" in c.check} == {"stream"}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda fs: [f for f in fs if f != "data: [DONE]"], "stream does not end with data: [DONE]"),
    (lambda fs: [*fs, fs[0]], "1 event(s) after data: [DONE]"),
    (lambda fs: [*fs, "data: [DONE]"], "data: [DONE] sent 2 times"),
    (lambda fs: [f for f in fs if '"choices":[]' not in f],
     "the last chunk before [DONE] must have choices [] and a usage object"),
    (lambda fs: [fs[0], "event: ping", *fs[1:]], "frame 1 has no data: line"),
])
def test_openai_framing_defects(broken_target: Any, run_check: Any,
                                edit: Callable[[Frames], Frames], message: str) -> None:
    findings = run_check(broken_target(response=edit_sse(edit)), "mimo", "openai-chat", "sse-framing")
    assert [message in f.message for f in findings] == [True], [f.message for f in findings]


def _drop_event_lines(frames: Frames) -> Frames:
    return [re.sub(r"^event: .*\n", "", f) for f in frames]


def _misname_first_delta(frames: Frames) -> Frames:
    i = next(i for i, f in enumerate(frames) if "content_block_delta" in f)
    return [*frames[:i], frames[i].replace("event: content_block_delta", "event: delta"), *frames[i + 1:]]


@pytest.mark.parametrize(("edit", "message"), [
    (_drop_event_lines, "event 0 (message_start) has no event: line"),
    (_misname_first_delta, "event: line says 'delta' but data.type is 'content_block_delta'"),
    (lambda fs: [f for f in fs if "content_block_stop" not in f],
     "is 'message_delta' where content_block_delta, ping or content_block_stop was expected"),
    (lambda fs: [f for f in fs if "message_stop" not in f], "stream ended before message_stop"),
    (lambda fs: [*fs, "data: [DONE]"], "Anthropic streams end with message_stop and have no [DONE]"),
    (lambda fs: [*fs[:3], 'event: error\ndata: {"type":"error","error":{"type":"overloaded_error",'
                           '"message":"Overloaded"}}'], "is a mid-stream error"),
])
def test_anthropic_framing_defects(broken_target: Any, run_check: Any,
                                   edit: Callable[[Frames], Frames], message: str) -> None:
    findings = run_check(broken_target(response=edit_sse(edit)), "mimo", "anthropic-messages",
                         "sse-framing")
    assert any(message in f.message for f in findings), [f.message for f in findings]
    assert all(f.severity is Severity.ERROR for f in findings)


def _bump_openai_usage(frames: Frames) -> Frames:
    out = []
    for f in frames:
        if '"choices":[]' in f:
            data = data_of(f)
            data["usage"]["completion_tokens"] += 1
            f = with_data(f, data)
        out.append(f)
    return out


def _bump_anthropic_output(frames: Frames) -> Frames:
    return [with_data(f, data_of(f) | {"usage": {"output_tokens": 999}})
            if f.startswith("event: message_delta") else f for f in frames]


def _change_text(frames: Frames) -> Frames:
    i = next(i for i, f in enumerate(frames) if '"content":"' in f and '"content":""' not in f)
    data = data_of(frames[i])
    data["choices"][0]["delta"]["content"] += " EXTRA"
    return [*frames[:i], with_data(frames[i], data), *frames[i + 1:]]


def test_streamed_usage_that_differs_is_reported_with_both_values(broken_target: Any,
                                                                  run_check: Any) -> None:
    target = broken_target(response=edit_sse(_bump_openai_usage))
    [finding] = run_check(target, "mimo", "openai-chat", "stream-equals-non-stream")
    n = int(re.search(r"vs non-stream (\d+)", finding.message).group(1))  # type: ignore[union-attr]
    assert finding.message == f"usage.completion_tokens differs: stream {n + 1} vs non-stream {n}"


def test_a_stream_without_usage_is_sse_framings_finding_alone(broken_target: Any,
                                                              run_check: Any) -> None:
    # llama-cpp-python ignores stream_options.include_usage: one cause, said by sse-framing
    target = broken_target(response=edit_sse(lambda frames: [
        f for f in frames if '"choices":[]' not in f]))
    assert run_check(target, "mimo", "openai-chat", "stream-equals-non-stream") == []
    assert any("usage" in f.message for f in run_check(target, "mimo", "openai-chat",
                                                         "sse-framing"))


def test_anthropic_output_tokens_that_differ_are_reported(broken_target: Any, run_check: Any) -> None:
    target = broken_target(response=edit_sse(_bump_anthropic_output))
    [finding] = run_check(target, "mimo", "anthropic-messages", "stream-equals-non-stream")
    assert finding.message.startswith("usage.output_tokens differs: stream 999 vs non-stream ")


def test_different_text_is_an_error_here_and_a_warning_live(broken_target: Any,
                                                            run_check: Any) -> None:
    target = broken_target(response=edit_sse(_change_text))
    [finding] = run_check(target, "modelbest", "openai-chat", "stream-equals-non-stream")
    assert "streamed content differs" in finding.message and "EXTRA" in finding.message
    assert finding.severity is Severity.ERROR
    target.kind = TargetKind.LIVE  # type: ignore[misc]  (seeds are best-effort on hosted APIs)
    [finding] = run_check(target, "modelbest", "openai-chat", "stream-equals-non-stream")
    assert finding.severity is Severity.WARNING


def test_finish_reason_that_differs_is_reported(broken_target: Any, run_check: Any) -> None:
    target = broken_target(response=edit_sse(
        lambda fs: [f.replace('"finish_reason":"stop"', '"finish_reason":"length"') for f in fs]))
    [finding] = run_check(target, "mimo", "openai-chat", "stream-equals-non-stream")
    assert finding.message == "finish_reason differs: stream 'length' vs non-stream 'stop'"
