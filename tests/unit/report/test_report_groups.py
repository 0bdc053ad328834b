"""Findings grouped by cause: what varies between occurrences is generic, what differs is kept.

The headline case is LiteLLM's: streamed chunks without ``finish_reason`` yield one finding per
chunk per exchange (52 here, from the real schema check), which must read as one cause.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from harness import providers
from harness.checks.conformance import response_schema_conformance
from harness.checks.exchange import Exchange, Probe, SseEvent
from harness.checks.registry import CheckContext
from harness.findings import Finding, Severity
from harness.output import table
from harness.report import junit
from harness.report.groups import EXAMPLES, cause_of, group
from harness.report.html import render
from harness.report.results import CaseResult, Outcome, RunMeta, RunResult
from harness.runner_cli import causes_table
from harness.secrets import Scrubber
from harness.targets import TargetOptions, make_target

META = RunMeta("url", "2026-12-03T08:00:00+00:00", "2026-12-03T08:01:00+00:00", "0.1.0", "abc",
               0, ("modelbest",), "CPython 3.11", "vlm-harness run")


def _stream(n: int, chunks: int) -> Exchange:
    """A stream whose chunks lack finish_reason, as LiteLLM 1.108.7 sends them."""
    events = [SseEvent(None, json.dumps({
        "id": f"chatcmpl-{n:04d}a{i:03d}f9e", "object": "chat.completion.chunk", "created": 1,
        "model": "MiniCPM-V-4.6-Instruct", "choices": [{"index": 0, "delta": {"content": "x"}}]}))
        for i in range(chunks)]
    events.append(SseEvent(None, "[DONE]"))
    return Exchange("modelbest", "openai-chat", "chat", "POST", "http://gw/v1/chat/completions",
                    {"stream": True}, 200, {"content-type": "text/event-stream",
                                            "x-request-id": f"req-{n}"}, b"", 1.0,
                    streamed=True, events=tuple(events), stream_schema="openai-chat/chunk")


@pytest.fixture
def per_chunk() -> Iterator[list[Finding]]:
    target = make_target(TargetOptions())
    profile = providers.get("modelbest")
    api = profile.apis[0]
    ctx = CheckContext(target, profile, api, Probe(target, profile, api), Scrubber.from_env(),
                       check="response-schema-conformance")
    yield [f for n in range(4) for f in response_schema_conformance(_stream(n, 13), ctx)]
    target.close()


def _result(findings: list[Finding]) -> RunResult:
    return RunResult(META, (CaseResult("response-schema-conformance", "modelbest", "chat",
                                       "errors", Outcome.FAIL, findings=tuple(findings)),))


def test_52_per_chunk_findings_are_one_cause(per_chunk: list[Finding]) -> None:
    assert len(per_chunk) == 52 and len({f.message for f in per_chunk}) == 13
    [only] = group(("modelbest", "chat", f) for f in per_chunk)
    assert only.count == 52 and len(only.examples) == EXAMPLES
    assert only.cause == "event N /choices/N: 'finish_reason' is a required property"
    assert only.schema_pointer.endswith("#/properties/choices/items/required")
    assert [e.request_id for e in only.examples] == ["req-0"] * 3


def test_every_writer_shows_the_group_and_results_keep_the_raw_findings(
        per_chunk: list[Finding]) -> None:
    result = _result(per_chunk)
    data = result.to_dict()
    assert len(data["cases"][0]["findings"]) == 52  # raw, for tools
    [g] = data["groups"]
    assert (g["count"], g["status"], len(g["examples"])) == (52, "error", 3)
    xml = junit.to_xml(result)
    # the failure's message, the cause's head line, then its three examples
    assert xml.count("'finish_reason' is a required property") == 1 + 1 + 3
    assert 'message="52 × event N /choices/N' in xml and "... and 49 more like these" in xml
    page = render([result])
    assert page.count("is a required property") == 4 and "and 49 more like these" in page
    from rich.console import Console

    console = Console(record=True, width=200)
    console.print(table(result.cases, "contract suite"))
    console.print(causes_table(result))
    text = console.export_text()
    assert "52 × event N /choices/N: 'finish_reason' is a required property" in text


def _f(message: str, pointer: str = "", check: str = "c") -> Finding:
    return Finding(check, Severity.ERROR, message, schema_pointer=pointer)


@pytest.mark.parametrize("a, b", [
    ("event 3 /choices/0: 'index' is a required property",
     "event 17 /choices/0: 'index' is a required property"),
    ("id 'chatcmpl-8f3a9Qz01' does not match", "id 'chatcmpl-77bbX2kk9' does not match"),
    ("job 3f2b9c1e-1d2a-4c4b-9a8e-0123456789ab never finished",
     "job a0b1c2d3-e4f5-4a6b-8c7d-8e9fa0b1c2d3 never finished"),
    ("took 1234.5 ms", "took 87 ms"),
])
def test_what_varies_is_made_generic(a: str, b: str) -> None:
    assert cause_of(a) == cause_of(b)
    assert len(group(("p", "e", _f(m)) for m in (a, b))) == 1


@pytest.mark.parametrize("a, b", [
    ("'finish_reason' is a required property", "'index' is a required property"),
    ("HTTP 500 with a non-JSON body", "HTTP 429 with a non-JSON body"),
    ("status 404 is not documented for chat", "status 502 is not documented for chat"),
])
def test_different_causes_stay_apart(a: str, b: str) -> None:
    assert len(group(("p", "e", _f(m)) for m in (a, b))) == 2


def test_the_schema_pointer_check_and_place_are_part_of_the_cause() -> None:
    findings = [("p", "chat", _f("x", "/a")), ("p", "chat", _f("x", "/b")),
                ("p", "chat", _f("x", "/a", check="d")), ("q", "chat", _f("x", "/a")),
                ("p", "messages", _f("x", "/a")), ("p", "chat", _f("x", "/a"))]
    groups = group(findings)
    assert len(groups) == 5 and groups[0].count == 2


def test_per_case_pytest_items_fail_with_one_line_per_cause(per_chunk: list[Finding]) -> None:
    from harness.cases import findings_message

    message = findings_message(_result(per_chunk).cases)
    assert message.splitlines() == [
        "response-schema-conformance on chat: 52 × event N /choices/N: 'finish_reason' is a "
        "required property (schema openai-chat/chunk#/properties/choices/items/required)"]
