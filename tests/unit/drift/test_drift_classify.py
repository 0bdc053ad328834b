"""Unit tests of harness.drift.classify on constructed bodies and streams: each kind detected."""

from __future__ import annotations

import copy
from typing import Any

from harness.drift.classify import Change, Kind, compare
from harness.drift.shape import infer, infer_stream

BODY: dict[str, Any] = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1700000000,
    "model": "mimo-v2-omni",
    "choices": [{"index": 0, "finish_reason": "stop",
                 "message": {"role": "assistant", "content": "A red square."}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 4},
}
ANTHROPIC = ["message_start", "content_block_start", "content_block_delta",
             "content_block_delta", "content_block_stop", "message_delta", "message_stop"]


def changed(**edits: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODY)
    body.update(edits)
    return body


def kinds(changes: list[Change]) -> dict[str, Kind]:
    return {c.pointer: c.kind for c in changes}


def events(names: list[str], **extra: Any) -> list[dict[str, Any]]:
    return [{"type": n, **({"delta": {"text": "x"}} if n.endswith("delta") else {}), **extra}
            for n in names]


def test_unchanged_is_no_drift() -> None:
    assert compare(infer([BODY]), infer([copy.deepcopy(BODY)])) == []
    stream = [events(ANTHROPIC)]
    assert compare(infer_stream(stream), infer_stream(stream)) == []


def test_values_only_are_cosmetic() -> None:
    new = changed(id="chatcmpl-2", created=1700000099)
    new["choices"][0]["message"]["content"] = "A blue circle."
    out = compare(infer([BODY]), infer([new]))
    assert {c.kind for c in out} == {Kind.COSMETIC}
    assert set(kinds(out)) == {"/id", "/created", "/choices/*/message/content"}


def test_removed_field_is_breaking_once_per_subtree() -> None:
    new = copy.deepcopy(BODY)
    del new["usage"]
    out = compare(infer([BODY]), infer([new]))
    assert kinds(out) == {"/usage": Kind.BREAKING}  # not /usage/prompt_tokens as well


def test_retyped_field_is_breaking() -> None:
    out = compare(infer([BODY]), infer([changed(created="2026-11-23T10:00:00Z")]))
    assert kinds(out)["/created"] is Kind.BREAKING
    assert "retyped" in out[0].message


def test_integer_to_number_widening_is_breaking_but_number_to_integer_is_not() -> None:
    ints, floats = infer([{"x": 1}]), infer([{"x": 1.5}])
    assert kinds(compare(ints, floats)) == {"/x": Kind.BREAKING}
    assert all(c.kind is not Kind.BREAKING for c in compare(floats, ints))


def test_required_now_sometimes_missing_is_breaking() -> None:
    without = copy.deepcopy(BODY)
    del without["model"]
    out = compare(infer([BODY, BODY]), infer([BODY, without]))
    assert kinds(out)["/model"] is Kind.BREAKING
    assert "sometimes missing" in next(c.message for c in out if c.pointer == "/model")


def test_new_optional_field_is_additive() -> None:
    out = compare(infer([BODY]), infer([changed(system_fingerprint="fp_1")]))
    assert kinds(out) == {"/system_fingerprint": Kind.ADDITIVE}


def test_enum_value_removed_is_breaking_added_is_additive() -> None:
    def with_reason(*reasons: str) -> list[dict[str, Any]]:
        out = []
        for r in reasons:
            body = copy.deepcopy(BODY)
            body["choices"][0]["finish_reason"] = r
            out.append(body)
        return out

    pointer = "/choices/*/finish_reason"
    gone = compare(infer(with_reason("stop", "length")), infer(with_reason("stop")))
    assert [c.kind for c in gone if c.pointer == pointer] == [Kind.BREAKING]
    added = compare(infer(with_reason("stop")), infer(with_reason("stop", "content_filter")))
    assert [c.kind for c in added if c.pointer == pointer] == [Kind.ADDITIVE]


def test_string_format_change_is_breaking() -> None:
    old = infer([{"url": "https://cdn.example/a.png"}])
    new = infer([{"url": "data:image/png;base64,iVBORw0KGgo="}])
    assert kinds(compare(old, new)) == {"/url": Kind.BREAKING}


def test_stream_event_removed_is_breaking() -> None:
    new = [n for n in ANTHROPIC if n != "message_delta"]
    out = compare(infer_stream([events(ANTHROPIC)]), infer_stream([events(new)]))
    assert kinds(out)["/events/message_delta"] is Kind.BREAKING


def test_stream_event_added_without_removal_is_additive() -> None:
    new = [*ANTHROPIC[:2], "ping", *ANTHROPIC[2:]]
    out = compare(infer_stream([events(ANTHROPIC)]), infer_stream([events(new)]))
    assert kinds(out) == {"/events/ping": Kind.ADDITIVE}


def test_stream_event_renamed_is_breaking() -> None:
    new = [n.replace("content_block_delta", "block_delta") for n in ANTHROPIC]
    out = compare(infer_stream([events(ANTHROPIC)]), infer_stream([events(new)]))
    rename = [c for c in out if "renamed" in c.message]
    assert len(rename) == 1 and rename[0].kind is Kind.BREAKING
    assert (rename[0].old, rename[0].new) == ("content_block_delta", "block_delta")


def test_stream_events_reordered_is_breaking() -> None:
    new = ["message_start", "message_delta", "content_block_start", "content_block_delta",
           "content_block_stop", "message_stop"]
    out = compare(infer_stream([events(ANTHROPIC)]), infer_stream([events(new)]))
    assert [c.message for c in out] == ["event sequence changed"]
    assert out[0].kind is Kind.BREAKING


def test_repetition_count_alone_is_no_drift() -> None:
    longer = ANTHROPIC[:3] + ["content_block_delta"] * 5 + ANTHROPIC[3:]
    once = [n for i, n in enumerate(ANTHROPIC) if not (n == "content_block_delta" and i == 3)]
    base = infer_stream([events(ANTHROPIC)])
    assert compare(base, infer_stream([events(longer)])) == []
    assert compare(base, infer_stream([events(once)])) == []


def test_field_inside_an_event_is_compared() -> None:
    old = [[{"type": "delta", "text": "a", "end_of_turn": False}]]
    new = [[{"type": "delta", "text": "a"}]]
    out = compare(infer_stream(old), infer_stream(new))
    assert kinds(out) == {"/events/delta/end_of_turn": Kind.BREAKING}


def test_body_became_stream_is_breaking() -> None:
    out = compare(infer([BODY]), infer_stream([events(ANTHROPIC)]))
    assert [c.kind for c in out] == [Kind.BREAKING]


def test_breaking_changes_sort_first_and_round_trip() -> None:
    new = changed(system_fingerprint="fp", id="other")
    del new["usage"]
    out = compare(infer([BODY]), infer([new]))
    assert [c.kind for c in out] == sorted((c.kind for c in out), key=lambda k: -k.rank)
    assert out[0].kind is Kind.BREAKING
    assert [Change.from_dict(c.to_dict()) for c in out] == out
