"""Protocol-neutral facts of requests and answers: the two sides of a gateway read alike."""

from __future__ import annotations

import json

from harness import journal
from harness.checks import requests


def _openai(url: str) -> dict[str, object]:
    return {"model": "m", "max_completion_tokens": 9, "stop": "x", "seed": 3,
            "messages": [{"role": "system", "content": "be brief"},
                         {"role": "user", "content": [{"type": "text", "text": "hi"},
                                                      {"type": "image_url", "image_url": {"url": url}}]}]}


def _anthropic(data: str) -> dict[str, object]:
    return {"model": "m", "max_tokens": 9, "stop_sequences": ["x"], "system": "be brief",
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": "hi"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}]}]}


def test_the_same_content_has_the_same_facts_in_both_protocols() -> None:
    url = requests.images(1)[0]
    a, b = journal.request_facts(_openai(url)), journal.request_facts(_anthropic(url.split(",", 1)[1]))
    assert a.texts == b.texts == ("hi",)
    assert a.system == b.system == "be brief"
    assert a.media == b.media and a.media[0].startswith("sha256:")
    assert a.fingerprint == b.fingerprint
    assert a.params["max_completion_tokens"] == 9 and b.params["stop_sequences"] == ["x"]


def test_a_changed_image_byte_changes_the_digest_and_a_url_is_named_not_fetched() -> None:
    url = requests.images(1)[0]
    other = journal.media_digest(url[:-8] + "AAAAAAA=")
    assert other != journal.media_digest(url)
    assert journal.media_digest("https://example.invalid/a.png").startswith("url:")
    assert journal.media_digest("data:image/png;base64,@@@@").startswith("bad:")


def test_openai_and_anthropic_answers_read_to_one_scale() -> None:
    openai = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hey"},
                           "finish_reason": "length"}],
              "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}}
    anthropic = {"type": "message", "content": [{"type": "text", "text": "hey"}],
                 "stop_reason": "max_tokens", "usage": {"input_tokens": 3, "output_tokens": 4}}
    a = journal.answer_facts(200, "application/json", json.dumps(openai).encode())
    b = journal.answer_facts(200, "application/json", json.dumps(anthropic).encode())
    assert (a.text, a.stop_scale, dict(a.usage)) == (b.text, b.stop_scale, dict(b.usage)) == (
        "hey", "length", {"input": 3, "output": 4})


def _sse(*events: object, done: bool = True) -> bytes:
    frames = [f"data: {json.dumps(e)}\n\n" for e in events] + (["data: [DONE]\n\n"] if done else [])
    return "".join(frames).encode()


def test_an_openai_stream_is_complete_only_with_its_done_marker() -> None:
    chunks = [{"choices": [{"index": 0, "delta": {"content": "he"}, "finish_reason": None}]},
              {"choices": [{"index": 0, "delta": {"content": "y"}, "finish_reason": "stop"}]},
              {"choices": [], "usage": {"prompt_tokens": 1, "completion_tokens": 2}}]
    whole = journal.answer_facts(200, "text/event-stream", _sse(*chunks))
    assert (whole.text, whole.stop, whole.complete, dict(whole.usage)) == (
        "hey", "stop", True, {"input": 1, "output": 2})
    cut = journal.answer_facts(200, "text/event-stream", _sse(chunks[0], done=False))
    assert (cut.text, cut.stop, cut.complete) == ("he", None, False)


def test_an_anthropic_stream_error_event_marks_it_incomplete() -> None:
    events = (b'event: message_start\ndata: {"type":"message_start","message":{"usage":'
              b'{"input_tokens":5,"output_tokens":0}}}\n\n'
              b'event: content_block_delta\ndata: {"type":"content_block_delta","delta":'
              b'{"type":"text_delta","text":"ok"}}\n\n'
              b'event: error\ndata: {"type":"error","error":{"type":"overloaded_error"}}\n\n')
    facts = journal.answer_facts(200, "text/event-stream", events)
    assert (facts.text, facts.complete, facts.error, facts.usage["input"]) == (
        "ok", False, "overloaded_error", 5)


def test_an_error_answer_names_its_type_and_entries_round_trip() -> None:
    facts = journal.answer_facts(429, "application/json",
                                 b'{"error":{"type":"rate_limit_error","message":"slow"}}')
    assert facts.error == "rate_limit_error"
    entry = journal.Entry(seq=1, at=1.0, method="POST", path="/p", answer=facts,
                          request=journal.request_facts(_openai(requests.images(1)[0])))
    assert journal.Entry.from_dict(json.loads(json.dumps(entry.to_dict()))) == entry


def test_a_key_digest_names_a_key_without_showing_it() -> None:
    digest = journal.key_digest("sk-secret-value")
    assert digest and "secret" not in digest and digest == journal.key_digest("sk-secret-value")
    assert journal.key_digest(None) == ""


def test_facts_of_an_invalid_body_skip_what_is_not_text() -> None:
    """The journal reads every body, invalid ones too: a system part whose text is a list
    raised inside the journal (schemathesis found it on MiMo's Anthropic endpoint)."""
    body = {"system": [{"type": "text", "text": ["x"]}, {"type": "text", "text": "be brief"}],
            "messages": [{"role": "user", "content": "hi"}]}
    facts = journal.request_facts(body)
    assert facts.system == "be brief" and facts.texts == ("hi",)
