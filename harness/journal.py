"""What a chat request and its answer mean, read the same way on both sides of a gateway.

A gateway sits between a client speaking one protocol and an upstream speaking the same or
another one (Anthropic in, OpenAI out). To compare the two sides the harness reads each wire
message into protocol-neutral values: a request's :class:`RequestFacts` (user texts, the
SHA-256 of every image/video's *decoded* bytes, the sampling parameters under their wire
names) and an answer's :class:`AnswerFacts` (text, stop reason on a common scale, token usage),
for OpenAI Chat Completions and Anthropic Messages, bodies and SSE streams alike. The mock's
journal (:mod:`harness.mock.journaling`) stores these facts for what it received, and the
``gateway`` checks compute them for what the client sent and got, so no code that decides
validity is shared: this module only reads.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from harness import media

CORRELATION_HEADER = "x-harness-correlation"
# Parameters whose mapping a gateway owes its upstream, under both protocols' wire names.
PARAMS = ("model", "max_tokens", "max_completion_tokens", "stop", "stop_sequences", "temperature",
          "top_p", "seed", "stream", "stream_options")
# Stop reasons on one scale: OpenAI's finish_reason and Anthropic's stop_reason.
STOP_SCALE = {"stop": "stop", "end_turn": "stop", "stop_sequence": "stop", "length": "length",
              "max_tokens": "length", "tool_calls": "tool", "tool_use": "tool",
              "content_filter": "filter", "refusal": "filter"}
TEXT_CAP = 8192  # answer text kept per entry: enough to compare, bounded for the journal


def key_digest(key: str | None) -> str:
    """A short, non-reversible name for a key: which key was presented, never the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:16] if key else ""


def media_digest(value: str) -> str:
    """``sha256:<hex>`` of the decoded bytes (``url:<sha>`` of a URL, ``bad:`` if unreadable)."""
    try:
        payload = media.parse(value)
    except media.MediaError:
        return "bad:" + hashlib.sha256(value.encode()).hexdigest()[:16]
    return payload_digest(payload)


def payload_digest(payload: media.Payload) -> str:
    """:func:`media_digest` of a value already parsed (the mock decodes each medium once)."""
    if payload.url is not None:
        return "url:" + hashlib.sha256(payload.url.encode()).hexdigest()[:16]
    return "sha256:" + payload.sha256


def _parts(content: Any) -> Iterator[dict[str, Any]]:
    if isinstance(content, str):
        yield {"type": "text", "text": content}
    elif isinstance(content, list):
        yield from (p for p in content if isinstance(p, dict))


def _media_of(part: dict[str, Any]) -> tuple[str, str] | None:
    """(the medium as one string, the string of the body it was read from)."""
    kind = part.get("type")
    if kind in ("image_url", "video_url"):  # OpenAI: {"image_url": {"url": ...}} or a string
        inner = part.get(kind)
        url = inner.get("url") if isinstance(inner, dict) else inner
        return (url, url) if isinstance(url, str) else None
    if kind == "image":  # Anthropic: base64 source with media_type, or a URL source
        source: dict[str, Any] = part["source"] if isinstance(part.get("source"), dict) else {}
        data = source.get("data")
        if source.get("type") == "base64" and isinstance(data, str):
            return f"data:{source.get('media_type', '')};base64,{data}", data
        url = source.get("url")
        return (url, url) if isinstance(url, str) else None
    return None


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """A chat request, protocol-neutral: who says what, which media, which parameters."""

    texts: tuple[str, ...] = ()  # text of the user turns, in order
    system: str = ""  # the system prompt (OpenAI system messages, Anthropic ``system``)
    media: tuple[str, ...] = ()  # digests, in order of appearance
    params: Mapping[str, Any] = field(default_factory=dict)  # PARAMS present, as sent

    @property
    def fingerprint(self) -> str:
        """Same for the same user content whatever the protocol: correlates the two sides."""
        raw = json.dumps([self.texts, self.media], ensure_ascii=False)
        return hashlib.sha256(raw.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {"texts": list(self.texts), "system": self.system, "media": list(self.media),
                "params": dict(self.params), "fingerprint": self.fingerprint}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RequestFacts:
        return cls(tuple(data.get("texts", ())), str(data.get("system", "")),
                   tuple(data.get("media", ())), dict(data.get("params") or {}))


def request_facts(body: Any, known: Mapping[int, tuple[str, str]] | None = None) -> RequestFacts:
    """Facts of an OpenAI or Anthropic chat body (anything else yields empty facts); ``known``
    holds digests already made, by ``id`` of the body's string (the mock's own decoding)."""
    if not isinstance(body, dict):
        return RequestFacts()
    texts: list[str] = []
    # The journal sees every body, invalid ones too (a system part whose text is a list)
    system: list[str] = [t for p in _parts(body.get("system")) if isinstance(t := p.get("text"), str)]
    digests: list[str] = []
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        for part in _parts(message.get("content")):
            if part.get("type") == "text" and isinstance(part.get("text"), str):
                (system if message.get("role") in ("system", "developer") else
                 texts if message.get("role") == "user" else []).append(part["text"])
            found = _media_of(part)
            if found is not None:
                value, origin = found
                made = (known or {}).get(id(origin))
                digests.append(made[1] if made and made[0] is origin else media_digest(value))
    params = {k: body[k] for k in PARAMS if k in body}
    return RequestFacts(tuple(texts), "\n".join(s for s in system if s), tuple(digests), params)


@dataclass(frozen=True, slots=True)
class AnswerFacts:
    """An answer, protocol-neutral; ``complete`` is False for a stream that was cut short."""

    text: str = ""
    stop: str | None = None  # raw finish_reason / stop_reason
    usage: Mapping[str, int] = field(default_factory=dict)  # {"input": n, "output": n}
    complete: bool = True
    error: str = ""  # error type or message of an error answer

    @property
    def stop_scale(self) -> str | None:
        return STOP_SCALE.get(self.stop, self.stop) if self.stop else None

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text, "stop": self.stop, "usage": dict(self.usage),
                "complete": self.complete, "error": self.error}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnswerFacts:
        return cls(str(data.get("text", "")), data.get("stop"), dict(data.get("usage") or {}),
                   bool(data.get("complete", True)), str(data.get("error", "")))


def _usage(raw: Any) -> dict[str, int]:
    if not isinstance(raw, dict):
        return {}
    pairs = (("input", ("prompt_tokens", "input_tokens")),
             ("output", ("completion_tokens", "output_tokens")))
    return {name: raw[k] for name, keys in pairs for k in keys if isinstance(raw.get(k), int)}


def _error(body: Any) -> str:
    inner = body.get("error") if isinstance(body, dict) else None
    if isinstance(inner, dict):
        return str(inner.get("type") or inner.get("code") or inner.get("message") or "error")
    return str(inner or "")


def _events(raw: bytes) -> Iterator[tuple[str | None, Any]]:
    for frame in re.split(rb"\r?\n\r?\n", raw):
        name, data = None, []
        for line in frame.decode("utf-8", "replace").splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if data:
            text = "\n".join(data)
            try:
                yield name, (text if text.strip() == "[DONE]" else json.loads(text))
            except ValueError:
                yield name, None


def _stream(raw: bytes) -> AnswerFacts:
    text: list[str] = []
    stop: str | None = None
    usage: dict[str, int] = {}
    done, error = False, ""
    for _, event in _events(raw):
        if event == "[DONE]":
            done = True
            continue
        if not isinstance(event, dict):
            continue
        kind = event.get("type")
        if kind == "error" or ("error" in event and "choices" not in event):
            error = _error(event)
        elif kind == "message_start":
            usage.update(_usage((event.get("message") or {}).get("usage")))
        elif kind == "content_block_delta":
            text.append(str((event.get("delta") or {}).get("text") or ""))
        elif kind == "message_delta":
            stop = (event.get("delta") or {}).get("stop_reason") or stop
            usage.update({k: v for k, v in _usage(event.get("usage")).items() if v or k not in usage})
        elif kind == "message_stop":
            done = True
        else:  # an OpenAI chunk: choice 0 is the one the checks compare
            usage.update(_usage(event.get("usage")))
            for choice in event.get("choices") or []:
                if isinstance(choice, dict) and choice.get("index", 0) == 0:
                    text.append(str((choice.get("delta") or {}).get("content") or ""))
                    stop = choice.get("finish_reason") or stop
    return AnswerFacts("".join(text)[:TEXT_CAP], stop, usage, done and not error, error)


def answer_facts(status: int, content_type: str, raw: bytes) -> AnswerFacts:
    """Facts of an OpenAI or Anthropic answer: a JSON body or an SSE stream."""
    if "text/event-stream" in content_type:
        return _stream(raw)
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return AnswerFacts(complete=False, error=raw[:120].decode("utf-8", "replace") if status >= 400
                           else "")
    if status >= 400 or not isinstance(body, dict):
        return AnswerFacts(error=_error(body) or f"HTTP {status}")
    if body.get("type") == "message":
        text = "".join(str(b.get("text", "")) for b in body.get("content") or []
                       if isinstance(b, dict) and b.get("type") == "text")
        return AnswerFacts(text[:TEXT_CAP], body.get("stop_reason"), _usage(body.get("usage")))
    choices = body.get("choices") or [{}]
    first = choices[0] if isinstance(choices[0], dict) else {}
    message: dict[str, Any] = first["message"] if isinstance(first.get("message"), dict) else {}
    return AnswerFacts(str(message.get("content") or "")[:TEXT_CAP], first.get("finish_reason"),
                       _usage(body.get("usage")))


@dataclass(frozen=True, slots=True)
class Entry:
    """One request the mock received and what it answered, as its journal keeps it.

    Credential headers are replaced by :data:`~harness.secrets.REDACTED`; ``key`` is the
    :func:`key_digest` of the key presented (so a check can tell *which* key reached the
    upstream) and ``key_accepted`` whether it was the one the mock expects."""

    seq: int
    at: float  # wall-clock seconds (time.time()) when the request arrived
    method: str
    path: str
    provider: str = ""
    api: str = ""  # protocol name of the API the path belongs to
    headers: Mapping[str, str] = field(default_factory=dict)
    correlation: str = ""
    key: str = ""
    key_header: str = ""
    key_accepted: bool = False
    # The SHA-256 of the body's bytes; None when the mock let the body go unhashed (past the
    # journal's hold budget before the entry was first read, or answered before the body
    # was read whole); "" while the mock has yet to take it.
    body_sha256: str | None = ""
    body_bytes: int = 0
    request: RequestFacts = RequestFacts()
    status: int = 0
    content_type: str = ""
    answer: AnswerFacts = AnswerFacts()
    fault: str = ""  # the fault spec in force for this request, if any
    duration_ms: float = 0.0

    def excerpt(self) -> str:
        """The upstream side of an exchange as a report shows it next to the client side."""
        params = json.dumps(dict(self.request.params), ensure_ascii=False)
        answer = self.answer
        lines = [f"{self.method} {self.path}  ({self.api}, key {self.key or 'none'}"
                 f"{'' if self.key_accepted else ', not accepted'})", params,
                 f"texts {list(self.request.texts)!r}"[:300],
                 f"media {' '.join(d[:19] for d in self.request.media) or '(none)'}",
                 f"-> {self.status}" + (f" (fault {self.fault})" if self.fault else ""),
                 f"text {answer.text[:200]!r}", f"stop {answer.stop} usage {dict(answer.usage)}"
                 + ("" if answer.complete else " (incomplete)")
                 + (f" error {answer.error}" if answer.error else "")]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "method": self.method, "path": self.path,
                "provider": self.provider, "api": self.api, "headers": dict(self.headers),
                "correlation": self.correlation, "key": self.key, "key_header": self.key_header,
                "key_accepted": self.key_accepted, "body_sha256": self.body_sha256,
                "body_bytes": self.body_bytes, "request": self.request.to_dict(),
                "status": self.status, "content_type": self.content_type,
                "answer": self.answer.to_dict(), "fault": self.fault,
                "duration_ms": self.duration_ms}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Entry:
        return cls(int(data["seq"]), float(data["at"]), str(data["method"]), str(data["path"]),
                   str(data.get("provider", "")), str(data.get("api", "")),
                   dict(data.get("headers") or {}), str(data.get("correlation", "")),
                   str(data.get("key", "")), str(data.get("key_header", "")),
                   bool(data.get("key_accepted")), _digest(data.get("body_sha256", "")),
                   int(data.get("body_bytes", 0)), RequestFacts.from_dict(data.get("request") or {}),
                   int(data.get("status", 0)), str(data.get("content_type", "")),
                   AnswerFacts.from_dict(data.get("answer") or {}), str(data.get("fault", "")),
                   float(data.get("duration_ms", 0.0)))


def _digest(value: Any) -> str | None:
    """A journal entry's ``body_sha256`` as read from JSON: null stays None (not taken)."""
    return None if value is None else str(value)
