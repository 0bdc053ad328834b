"""Streaming checks: SSE framing per protocol, and a stream that tells the same story as a reply.

SDKs are strict about framing in ways a schema cannot express: the ``openai`` SDK stops at
``data: [DONE]`` (anything after it is lost, a stream without it never ends cleanly) and reads
usage from a last chunk with no choices; the ``anthropic`` SDK silently drops a frame without
an ``event:`` line and expects the event order message_start, content_block_start, deltas,
content_block_stop, message_delta, message_stop (providers.md §5, §6). ``sse-framing`` checks
those rules on the raw stream; ``stream-equals-non-stream`` sends one request (same seed, zero
temperature) both ways and compares the reassembled text, finish reason and token usage, as
vLLM's own tests do. Each event's JSON is schema-checked by the exchange checks.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from harness.checks import requests
from harness.checks.exchange import Exchange, SseEvent
from harness.checks.registry import CheckContext, check
from harness.findings import Finding, Severity
from harness.targets.base import TargetKind

_CHAT = ("openai-chat", "anthropic-messages")
# Anthropic's event grammar as (state, event) -> next state; ping may come anywhere mid-stream.
_ANTHROPIC_NEXT = {
    ("start", "message_start"): "message",
    ("message", "ping"): "message", ("message", "content_block_start"): "block",
    ("block", "ping"): "block", ("block", "content_block_delta"): "block",
    ("block", "content_block_stop"): "between",
    ("between", "ping"): "between", ("between", "content_block_start"): "block",
    ("between", "message_delta"): "delta",
    ("delta", "ping"): "delta", ("delta", "message_stop"): "done",
}
_EXPECTED = {"start": "message_start", "message": "content_block_start or ping",
             "block": "content_block_delta, ping or content_block_stop",
             "between": "content_block_start, message_delta or ping",
             "delta": "message_stop or ping", "done": "nothing (the stream has ended)"}


def _frames(ex: Exchange) -> list[str]:
    """The raw SSE frames (blank-line separated), comments-only frames left out."""
    frames = re.split(r"\r?\n\r?\n", ex.body.decode("utf-8", "replace"))
    return [f for f in frames if f.strip() and not all(
        line.startswith(":") for line in f.splitlines() if line.strip())]


def _json(event: SseEvent) -> Any:
    try:
        return event.json()
    except ValueError:
        return None


def _stream(ctx: CheckContext) -> Exchange:
    sample = requests.sample(ctx.api, "stream", seed=ctx.seed)
    return requests.call(ctx.probe, sample, stream=True)


def _openai_framing(ctx: CheckContext, ex: Exchange) -> Iterator[Finding]:
    for i, frame in enumerate(_frames(ex)):
        if not any(line.startswith("data:") for line in frame.splitlines()):
            yield ctx.finding(f"frame {i} has no data: line ({frame[:60]!r})", exchange=ex)
    done = [i for i, e in enumerate(ex.events) if e.data.strip() == "[DONE]"]
    if not done:
        yield ctx.finding("stream does not end with data: [DONE]; the openai SDK waits for it",
                          exchange=ex)
        return
    if len(done) > 1:
        yield ctx.finding(f"data: [DONE] sent {len(done)} times (events {done}); exactly one "
                          "ends the stream", exchange=ex)
    after = len(ex.events) - 1 - done[0] - (len(done) - 1)  # extra [DONE]s are reported above
    if after:
        yield ctx.finding(f"{after} event(s) after data: [DONE]; the openai SDK never reads them",
                          exchange=ex)
    chunks = [_json(e) for e in ex.events[:done[0]]]
    if not chunks:
        yield ctx.finding("stream has no chunk before data: [DONE]", exchange=ex)
        return
    last = chunks[-1]
    # The sample asks for stream_options.include_usage (see requests.sample).
    if not (isinstance(last, dict) and last.get("choices") == [] and isinstance(last.get("usage"), dict)):
        got = {k: last.get(k) for k in ("choices", "usage")} if isinstance(last, dict) else last
        yield ctx.finding("with stream_options.include_usage the last chunk before [DONE] must "
                          f"have choices [] and a usage object; got {str(got)[:160]}", exchange=ex)


def _anthropic_framing(ctx: CheckContext, ex: Exchange) -> Iterator[Finding]:
    state = "start"
    for i, event in enumerate(ex.events):
        payload = _json(event)
        kind = payload.get("type") if isinstance(payload, dict) else None
        if event.data.strip() == "[DONE]":
            yield ctx.finding(f"event {i} is data: [DONE]; Anthropic streams end with "
                              "message_stop and have no [DONE]", exchange=ex)
            continue
        if event.event is None:
            yield ctx.finding(f"event {i} ({kind or 'non-JSON'}) has no event: line; the anthropic "
                              "SDK silently drops such frames", exchange=ex)
        elif kind is not None and event.event != kind:
            yield ctx.finding(f"event {i}: event: line says {event.event!r} but data.type is "
                              f"{kind!r}", exchange=ex)
        name = kind or event.event
        if name == "error":
            yield ctx.finding(f"event {i} is a mid-stream error: {event.data[:160]}", exchange=ex)
            return
        following = _ANTHROPIC_NEXT.get((state, name or ""))
        if following is None:
            yield ctx.finding(f"event {i} is {name!r} where {_EXPECTED[state]} was expected "
                              "(order: message_start, content_block_start, deltas, "
                              "content_block_stop, message_delta, message_stop)", exchange=ex)
            return
        state = following
    if state != "done":
        yield ctx.finding(f"stream ended before message_stop (last state: expected "
                          f"{_EXPECTED[state]})", exchange=ex)


@check(capability="stream", protocols=_CHAT)
def sse_framing(ctx: CheckContext) -> Iterator[Finding]:
    """A stream is framed as the protocol's SDK reads it ([DONE] / named events, in order)."""
    ex = _stream(ctx)
    if ex.status != 200:
        yield ctx.finding(f"stream request answered HTTP {ex.status}, expected 200", exchange=ex)
        return
    if not ex.events:
        yield ctx.finding(f"stream request answered {ex.content_type or 'no content type'} with "
                          "no SSE events", exchange=ex)
        return
    framing = _openai_framing if ctx.api.protocol.name == "openai-chat" else _anthropic_framing
    yield from framing(ctx, ex)


@dataclass(frozen=True, slots=True)
class Told:
    """What an answer says, however it was delivered."""

    text: str | None
    finish: Any
    usage: tuple[Any, Any]  # (prompt/input tokens, completion/output tokens)


def _told(protocol: str, body: Any) -> Told:
    body = body if isinstance(body, dict) else {}
    usage = body.get("usage") if isinstance(body.get("usage"), dict) else {}
    if protocol == "openai-chat":
        choice = (body.get("choices") or [{}])[0]
        message = choice.get("message") if isinstance(choice, dict) else None
        return Told(message.get("content") if isinstance(message, dict) else None,
                    choice.get("finish_reason") if isinstance(choice, dict) else None,
                    (usage.get("prompt_tokens"), usage.get("completion_tokens")))
    _, _, text = requests.answer_of(protocol, body)
    return Told(text, body.get("stop_reason"), (usage.get("input_tokens"), usage.get("output_tokens")))


def _told_by_stream(protocol: str, events: tuple[SseEvent, ...]) -> Told:
    parts: list[str] = []
    finish: Any = None
    prompt: Any = None
    completion: Any = None
    for event in events:
        data = _json(event)
        if not isinstance(data, dict):
            continue
        if protocol == "openai-chat":
            for choice in data.get("choices") or []:
                if isinstance(choice, dict) and choice.get("index", 0) == 0:
                    delta = choice.get("delta") or {}
                    parts.append(delta.get("content") or "")
                    finish = choice.get("finish_reason") or finish
            if isinstance(data.get("usage"), dict):
                prompt = data["usage"].get("prompt_tokens")
                completion = data["usage"].get("completion_tokens")
        elif data.get("type") == "message_start":
            usage = (data.get("message") or {}).get("usage") or {}
            prompt = usage.get("input_tokens")
        elif data.get("type") == "content_block_delta":
            delta = data.get("delta") or {}
            if delta.get("type") == "text_delta":
                parts.append(delta.get("text") or "")
        elif data.get("type") == "message_delta":
            finish = (data.get("delta") or {}).get("stop_reason")
            completion = (data.get("usage") or {}).get("output_tokens")
            prompt = (data.get("usage") or {}).get("input_tokens", prompt)
    return Told("".join(parts), finish, (prompt, completion))


@check(capability="stream", protocols=_CHAT)
def stream_equals_non_stream(ctx: CheckContext) -> Iterator[Finding]:
    """The same request streamed and not streamed gives the same text, finish reason and usage."""
    protocol = ctx.api.protocol.name
    plain = requests.call(ctx.probe, requests.sample(ctx.api, "text", seed=ctx.seed))
    streamed = _stream(ctx)
    for ex, how in ((plain, "non-stream"), (streamed, "stream")):
        if ex.status != 200:
            yield ctx.finding(f"{how} request answered HTTP {ex.status}, expected 200", exchange=ex)
    if plain.status != 200 or streamed.status != 200:
        return
    a, b = _told(protocol, plain.json()), _told_by_stream(protocol, streamed.events)
    finish_name = "finish_reason" if protocol == "openai-chat" else "stop_reason"
    usage_names = (("prompt_tokens", "completion_tokens") if protocol == "openai-chat"
                   else ("input_tokens", "output_tokens"))
    # Hosted models are deterministic per seed only on a best effort: on a live target a
    # different text (and so a different finish and output count) is a warning there.
    differs = a.text != b.text
    drift = Severity.WARNING if differs and ctx.target.kind == TargetKind.LIVE else Severity.ERROR
    if differs:
        yield ctx.finding(f"streamed content differs from non-streamed content: stream "
                          f"{_clip(b.text)} vs non-stream {_clip(a.text)}", severity=drift,
                          exchange=streamed)
    if a.finish != b.finish:
        yield ctx.finding(f"{finish_name} differs: stream {b.finish!r} vs non-stream {a.finish!r}",
                          severity=drift, exchange=streamed)
    # A stream with no usage at all is sse-framing's finding (include_usage ignored), not a
    # difference in counts: said once, there.
    told_usage = any(n is not None for n in b.usage)
    for i, (name, x, y) in enumerate(zip(usage_names, a.usage, b.usage, strict=True)):
        if told_usage and x != y:  # the prompt is the same either way, so its count must agree regardless
            yield ctx.finding(f"usage.{name} differs: stream {y!r} vs non-stream {x!r}",
                              severity=drift if i else Severity.ERROR, exchange=streamed)


def _clip(text: str | None, n: int = 120) -> str:
    return repr(text) if text is None or len(text) <= n else repr(text[:n]) + f"... ({len(text)} chars)"
