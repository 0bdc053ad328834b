"""Unit tests of harness.drift.shape: types, required keys, enums, formats and stream patterns."""

from __future__ import annotations

import json

import pytest

from harness.drift.shape import (
    BodyShape,
    StreamShape,
    compress,
    infer,
    infer_stream,
    shape_from_dict,
    skeleton,
    string_format,
)

CHAT = [
    {"id": "chatcmpl-a1", "object": "chat.completion", "created": 1700000000,
     "choices": [{"index": 0, "finish_reason": "stop",
                  "message": {"role": "assistant", "content": "A red square."}}],
     "usage": {"prompt_tokens": 12, "completion_tokens": 4}},
    {"id": "chatcmpl-b2", "object": "chat.completion", "created": 1700000001,
     "choices": [{"index": 0, "finish_reason": "length",
                  "message": {"role": "assistant", "content": "A blue"}}]},
]


def test_types_required_and_enums_are_inferred() -> None:
    shape = infer(CHAT).by_pointer()
    assert shape[""].types == ("object",)
    assert shape["/created"].types == ("integer",)
    assert shape["/choices/*/message/content"].types == ("string",)
    assert shape["/id"].required and not shape["/usage"].required  # usage seen once of twice
    assert shape["/choices/*/finish_reason"].enum == ("length", "stop")
    assert shape["/choices/*/message/role"].enum == ("assistant",)
    # ids and free text are values, never enums
    assert shape["/id"].enum == () and shape["/choices/*/message/content"].enum == ()


def test_nested_required_is_relative_to_the_parent() -> None:
    shape = infer([{"a": {"b": 1, "c": 2}}, {"a": {"b": 3}}, {}]).by_pointer()
    assert not shape["/a"].required
    assert shape["/a/b"].required  # present whenever /a was
    assert not shape["/a/c"].required


@pytest.mark.parametrize(("value", "fmt"), [
    ("2026-11-23T10:00:00Z", "date-time"),
    ("2026-11-23T10:00:00.123+08:00", "date-time"),
    ("https://v3.fal.media/files/x.png", "uri"),
    ("data:image/png;base64,iVBORw0KGgo=", "data-url"),
    ("0f8fad5b-d9cb-469f-a165-70867728950e", "uuid"),
    ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB", "base64"),
    ("A red square on white.", ""),
    ("HelloWorldHelloWorld", ""),  # letters only: not taken for base64
])
def test_string_formats(value: str, fmt: str) -> None:
    assert string_format(value) == fmt


def test_format_only_when_every_value_shares_it() -> None:
    same = infer([{"u": "https://a.example/x"}, {"u": "https://b.example/y"}]).by_pointer()
    mixed = infer([{"u": "https://a.example/x"}, {"u": "not a url"}]).by_pointer()
    assert same["/u"].format == "uri" and mixed["/u"].format == ""


def test_null_and_mixed_types_are_recorded() -> None:
    shape = infer([{"x": None}, {"x": 1.5}, {"x": True}]).by_pointer()
    assert shape["/x"].types == ("null", "boolean", "number")


def test_compress_runs_and_groups() -> None:
    names = ["message_start", "content_block_start", "content_block_delta",
             "content_block_delta", "content_block_delta", "content_block_stop",
             "message_delta", "message_stop"]
    assert compress(names) == ("message_start, content_block_start, (content_block_delta)+, "
                               "content_block_stop, message_delta, message_stop")
    assert compress(["a", "b", "c", "b", "c", "b", "c", "d"]) == "a, (b, c)+, d"
    assert compress(["a"]) == "a" and compress([]) == ""
    assert skeleton("a, (b)+, (c, d)+, e") == ("a", "b", "c", "d", "e")


def test_stream_shape_per_event_type_and_sse_pairs() -> None:
    sessions = [
        [{"type": "message_start", "message": {"id": "m1"}},
         {"type": "content_block_delta", "delta": {"text": "a"}},
         {"type": "content_block_delta", "delta": {"text": "b"}},
         {"type": "message_stop"}],
        [("chunk", {"choices": []}), ("chunk", {"choices": []}), "[DONE]"],
    ]
    shape = infer_stream(sessions)
    assert shape.patterns == ("message_start, (content_block_delta)+, message_stop",
                              "(chunk)+, [DONE]")
    events = dict(shape.events)
    assert "/delta/text" in events["content_block_delta"].by_pointer()
    assert "[DONE]" not in events  # a sentinel has no body
    assert shape.event_types == ("message_start", "content_block_delta", "message_stop",
                                 "chunk", "[DONE]")


def test_shapes_round_trip_through_json() -> None:
    body = infer(CHAT)
    stream = infer_stream([[{"type": "a"}, {"type": "b", "x": 1}]])
    for shape in (body, stream):
        again = shape_from_dict(json.loads(json.dumps(shape.to_dict())))
        assert again == shape
    assert isinstance(shape_from_dict(body.to_dict()), BodyShape)
    assert isinstance(shape_from_dict(stream.to_dict()), StreamShape)
