"""Canonical requests: the one place that knows how to ask each protocol for a capability.

Scenario checks and drift probes never build bodies themselves: :func:`sample` returns the
smallest honest request that exercises a capability (text, one image, several images of
different formats, a video, a stream) on one provider API, :func:`media_sample` the same shape
around caller-chosen media (the limit probes), and :func:`invalid_samples` the documented ways
to get a request wrong (bad JSON, a missing or mistyped field, an unknown model or enum value,
undecodable or mislabelled media). :func:`answer_of` says where each protocol puts the answer
text. Media is made in-process with the standard library only (Pillow is a test dependency).
A protocol that cannot express a capability raises :class:`Unsupported`, which the engine
reports as a skip.
"""

from __future__ import annotations

import base64
import copy
import math
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness import providers
from harness.checks.exchange import Exchange, Probe
from harness.checks.registry import Skip
from harness.errors import UnknownNameError
from harness.media import data_url
from harness.providers import Api

CAPABILITIES = ("text", "image", "multi-image", "video", "stream")
PROMPT = "Describe what you see in one short sentence."
TEXT_PROMPT = "Reply with one short sentence about the sea."
MAX_TOKENS = 64
# MiMo documents max_completion_tokens (seed 004 "OpenAI API"); others take max_tokens.
_TOKEN_FIELD = {"mimo": "max_completion_tokens"}
# Where the answer text lives in a successful body (wavespeed: inside its envelope).
ANSWER_AT = {"openai-chat": "/choices/0/message/content", "anthropic-messages": "/content/0/text",
             "wavespeed-v3": "/data/outputs/0", "fal-queue": "/output"}
_ENDPOINT = {"openai-chat": "chat", "anthropic-messages": "messages", "wavespeed-v3": "submit",
             "fal-queue": "run"}  # fal's sync host keeps a capability probe to one request


class Unsupported(Skip):
    """The protocol, or this provider's models, cannot express the capability asked for."""


# --- media, made by hand ------------------------------------------------------------------

def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, rgb: tuple[int, int, int] = (220, 40, 40), *,
        comment: bytes = b"") -> bytes:
    """A valid RGB PNG; ``comment`` goes into a tEXt chunk (how sizes are padded exactly)."""
    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    text = _chunk(b"tEXt", b"Comment\x00" + comment) if comment else b""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + text + _chunk(b"IDAT", zlib.compress(rows)) + _chunk(b"IEND", b""))


_PNG_TEXT_OVERHEAD = 12 + len(b"Comment\x00")


def png_of_size(n: int) -> bytes:
    """A valid 1x1 PNG of exactly ``n`` bytes (a padded comment), for size-limit probes."""
    base = len(png())
    if n < base + _PNG_TEXT_OVERHEAD + 1:
        raise ValueError(f"a padded PNG needs at least {base + _PNG_TEXT_OVERHEAD + 1} bytes, not {n}")
    return png(comment=b"a" * (n - base - _PNG_TEXT_OVERHEAD))


# A 1x1 baseline JPEG and a 1x1 GIF, written once with an image library and kept as bytes.
JPEG = base64.b64decode(
    "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDABALDA4MChAODQ4SERATGCgaGBYWGDEjJR0oOjM9PDkzODdASFxOQERXRTc4"
    "UG1RV19iZ2hnPk1xeXBkeFxlZ2P/2wBDARESEhgVGC8aGi9jQjhCY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2NjY2Nj"
    "Y2NjY2NjY2NjY2NjY2NjY2NjY2P/wAARCAABAAEDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcI"
    "CQoL/8QAtRAAAgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRol"
    "JicoKSo0NTY3ODk6Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ip"
    "qrKztLW2t7i5usLDxMXGx8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAA"
    "AAECAwQFBgcICQoL/8QAtREAAgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLR"
    "ChYkNOEl8RcYGRomJygpKjU2Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaX"
    "mJmaoqOkpaanqKmqsrO0tba3uLm6wsPExcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEA"
    "PwDLoooriPpj/9k=")
GIF = base64.b64decode("R0lGODdhAQABAIEAACgoyAAAAAAAAAAAACwAAAAAAQABAAAIBAABBAQAOw==")


def _box(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", 8 + len(data)) + kind + data


# An ISO-BMFF header (ftyp isom + an empty mdat): enough for format detection and for a mock,
# not a decodable video; a live provider that decodes it may reject it, which is a finding.
MP4 = _box(b"ftyp", b"isom" + struct.pack(">I", 0x200) + b"isomiso2mp41") + _box(b"mdat", b"\x00" * 16)


def images(n: int) -> list[str]:
    """``n`` small data URLs cycling through PNG, JPEG and GIF (different formats on purpose)."""
    def one(i: int) -> bytes:
        return png(rgb=(i % 256, 80, 160)) if i % 3 == 0 else JPEG if i % 3 == 1 else GIF

    return [data_url(one(i)) for i in range(n)]


# --- samples ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Sample:
    """One canonical request: which endpoint (and model) to call with which body."""

    endpoint: str
    model: str | None
    json_body: dict[str, Any]
    capability: str


def call(probe: Probe, sample: Sample, **kwargs: Any) -> Exchange:
    """Send ``sample`` through ``probe`` (``kwargs``: auth=, headers=...)."""
    return probe.call(sample.endpoint, model=sample.model, json_body=sample.json_body, **kwargs)


def model_for(api: Api, capability: str, model: str | None = None) -> str:
    """The model to ask: ``model``, else the default one if it has ``capability``, else the
    first model that does; a model the profile does not list (set by env) is taken on trust."""
    if model:
        return model
    default = api.default_model()
    listed = api.models.get(default)
    offered = any(capability in m.capabilities for m in api.models.values())
    if (listed is None and offered) or (listed is not None and capability in listed.capabilities):
        return default
    for m in api.models.values():
        if capability in m.capabilities:
            return m.id
    raise Unsupported(f"no {api.provider} {api.protocol.name} model lists {capability!r} "
                      f"(models: {', '.join(api.models)})")


def _token_field(api: Api) -> str:
    return _TOKEN_FIELD.get(api.provider, "max_tokens")


def _chat_body(api: Api, model: str, content: Any, seed: int, stream: bool) -> dict[str, Any]:
    if api.protocol.name == "anthropic-messages":
        # Anthropic has no seed field, and its API refuses unknown fields.
        body: dict[str, Any] = {"model": model, "max_tokens": MAX_TOKENS, "temperature": 0,
                                "messages": [{"role": "user", "content": content}]}
        if stream:
            body["stream"] = True
        return body
    body = {"model": model, "messages": [{"role": "user", "content": content}],
            _token_field(api): MAX_TOKENS, "temperature": 0, "seed": seed}
    if stream:
        body |= {"stream": True, "stream_options": {"include_usage": True}}
    return body


def _anthropic_image(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        return {"type": "image", "source": {"type": "base64", "data": data,
                                            "media_type": header[5:].split(";")[0]}}
    return {"type": "image", "source": {"type": "url", "url": url}}


def media_sample(api: Api, kind: str, urls: Sequence[str], *, model: str | None = None,
                 seed: int = 0, stream: bool = False, capability: str | None = None) -> Sample:
    """A request carrying ``urls`` (data: or http(s) URLs) as ``kind`` ("image"/"video")."""
    capability = capability or (kind if len(urls) == 1 or kind == "video" else "multi-image")
    protocol = api.protocol.name
    if stream and protocol not in ("openai-chat", "anthropic-messages"):
        raise Unsupported(f"{protocol} has no streaming answers")
    chosen = model_for(api, capability, model)
    endpoint = _ENDPOINT.get(protocol)
    if protocol == "openai-chat":
        part = "image_url" if kind == "image" else "video_url"
        content = [{"type": "text", "text": PROMPT},
                   *({"type": part, part: {"url": u}} for u in urls)]
        body = _chat_body(api, chosen, content, seed, stream)
    elif protocol == "anthropic-messages":
        if kind != "image":
            raise Unsupported("anthropic-messages has no video content block")
        body = _chat_body(api, chosen, [{"type": "text", "text": PROMPT},
                                        *map(_anthropic_image, urls)], seed, stream)
    elif protocol == "wavespeed-v3":
        if len(urls) != 1:
            raise Unsupported(f"wavespeed-v3 carries exactly one {kind} per request")
        # Sync mode keeps a capability probe to one request; the lifecycle checks poll.
        body = {kind: urls[0], "enable_sync_mode": True, "seed": seed}
    elif protocol == "fal-queue":
        if kind == "video" and len(urls) != 1:
            raise Unsupported("fal mini-cpm/video carries exactly one video_url")
        body = ({"image_urls": list(urls)} if kind == "image" else {"video_url": urls[0]}) | {
            "prompt": PROMPT}
    else:
        raise Unsupported(f"{protocol} has no request/response form for {capability}")
    assert endpoint is not None
    return Sample(endpoint, chosen, body, capability)


def sample(api: Api, capability: str, *, model: str | None = None, seed: int = 0,
           stream: bool = False) -> Sample:
    """The canonical request for ``capability`` on ``api`` (see :data:`CAPABILITIES`)."""
    if capability not in CAPABILITIES:
        raise Unsupported(f"no canonical request for capability {capability!r}; "
                          f"known: {', '.join(CAPABILITIES)}")
    protocol = api.protocol.name
    if protocol not in _ENDPOINT:
        raise Unsupported(f"{protocol} is not a request/response protocol; its own checks cover it")
    if capability in ("text", "stream"):
        if protocol not in ("openai-chat", "anthropic-messages"):
            raise Unsupported(f"{protocol} requests need media; it has no text-only form")
        chosen = model_for(api, capability, model)
        body = _chat_body(api, chosen, TEXT_PROMPT, seed, stream or capability == "stream")
        return Sample(_ENDPOINT[protocol], chosen, body, capability)
    if capability == "video":
        return media_sample(api, "video", [data_url(MP4, "video/mp4")], model=model, seed=seed,
                            stream=stream, capability=capability)
    urls = images(3 if capability == "multi-image" else 1)
    return media_sample(api, "image", urls, model=model, seed=seed, stream=stream,
                        capability=capability)


def any_sample(api: Api, *, seed: int = 0) -> Sample:
    """The cheapest request ``api`` can express (text, else one image, else a video)."""
    for capability in ("text", "image", "video"):
        try:
            return sample(api, capability, seed=seed)
        except Unsupported:
            continue
    raise Unsupported(f"{api.protocol.name}: no canonical request fits {api.provider}'s models")


def answer_of(protocol: str, body: Any) -> tuple[str, bool, Any]:
    """``(pointer, present, value)`` of the answer text in a successful ``body``; when absent,
    ``pointer`` names the first missing step. Anthropic: the first ``text`` block."""
    pointer = ANSWER_AT[protocol]
    if protocol == "anthropic-messages" and isinstance(body, dict):
        blocks = body.get("content")
        if isinstance(blocks, list):  # thinking blocks may precede the text
            first = next((i for i, b in enumerate(blocks)
                          if isinstance(b, dict) and b.get("type") == "text"), 0)
            pointer = f"/content/{first}/text"
    node, path = body, ""
    for part in pointer.strip("/").split("/"):
        path += f"/{part}"
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict) and part in node:
            node = node[part]
        else:
            return path, False, None
    return pointer, True, node


# --- invalid samples ----------------------------------------------------------------------

ANY_4XX = frozenset(range(400, 500))


@dataclass(frozen=True, slots=True)
class InvalidSample:
    """A request that must be refused with a 4xx whose message names one of ``fields``."""

    name: str
    endpoint: str
    model: str | None
    json_body: Any = None
    content: bytes | None = None  # raw body, for JSON that does not parse
    expected: frozenset[int] = ANY_4XX
    fields: tuple[str, ...] = ()  # empty: no single field to name (bad JSON)
    strict: bool = True  # False: providers commonly tolerate it, so accepting it is a warning

    def send(self, probe: Probe) -> Exchange:
        if self.content is None:
            return probe.call(self.endpoint, model=self.model, json_body=self.json_body)
        return probe.call(self.endpoint, model=self.model, content=self.content,
                          headers={"content-type": "application/json"})


def _truncated_base64(data: bytes) -> str:
    """Base64 text of a length no base64 can have (4k+1): undecodable yet schema-shaped."""
    text = base64.b64encode(data).decode().rstrip("=")
    return text[: len(text) - (len(text) - 1) % 4]


def _model_enum(api: Api) -> bool:
    """Whether the provider documents a closed list of model ids for this protocol."""
    try:
        overlay = providers.get(api.provider).overlay(f"{api.protocol.name}/request") or {}
    except UnknownNameError:  # a profile loaded from elsewhere: no documented list known
        return False
    return "enum" in overlay.get("properties", {}).get("model", {})


def invalid_samples(api: Api) -> list[InvalidSample]:
    """Every documented way to get a request to ``api`` wrong, each with what must be named."""
    protocol = api.protocol.name
    base = sample(api, "image")
    bad_b64, mislabelled = _truncated_base64(png()), base64.b64encode(JPEG).decode()
    out = [InvalidSample("invalid-json", base.endpoint, base.model,
                         content=b'{"model": "x", "messages": [')]

    def variant(name: str, fields: tuple[str, ...], edit: Any, **kw: Any) -> None:
        body = copy.deepcopy(base.json_body)
        edit(body)
        out.append(InvalidSample(name, base.endpoint, base.model, json_body=body, fields=fields, **kw))

    if protocol in ("openai-chat", "anthropic-messages"):
        tokens = "max_tokens" if protocol == "anthropic-messages" else _token_field(api)
        required = "max_tokens" if protocol == "anthropic-messages" else "messages"
        variant("missing-field", (required,), lambda b: b.pop(required))
        variant("wrong-type", (tokens,), lambda b: b.update({tokens: "sixty-four"}))
        # A closed documented list makes accepting any model id a broken promise; without one
        # (a local server, which may ignore the field) it is only worth a warning.
        variant("unknown-model", ("model",), lambda b: b.update(model="no-such-model-vlm-harness"),
                expected=frozenset({400, 404}), strict=_model_enum(api))
    if protocol == "openai-chat":
        def set_url(url: str) -> Any:
            return lambda b: b["messages"][0]["content"][1]["image_url"].update(url=url)

        variant("undecodable-media", ("image_url", "url"), set_url(f"data:image/png;base64,{bad_b64}"))
        variant("mislabelled-media", ("image_url", "url"), set_url(f"data:image/png;base64,{mislabelled}"),
                strict=False)
    elif protocol == "anthropic-messages":
        def set_source(**source: str) -> Any:
            return lambda b: b["messages"][0]["content"][1]["source"].update(source)

        variant("undecodable-media", ("data", "source"), set_source(data=bad_b64))
        variant("mislabelled-media", ("media_type", "source", "data"),
                set_source(media_type="image/png", data=mislabelled), strict=False)
    elif protocol == "wavespeed-v3":
        variant("missing-field", ("image",), lambda b: b.pop("image"))
        variant("wrong-type", ("seed",), lambda b: b.update(seed="zero"))
        variant("out-of-range", ("seed",), lambda b: b.update(seed=2**31))
        variant("unknown-enum", ("preset_prompt",), lambda b: b.update(preset_prompt="summarise"))
        variant("undecodable-media", ("image",), lambda b: b.update(image=f"data:image/png;base64,{bad_b64}"))
        variant("mislabelled-media", ("image",),
                lambda b: b.update(image=f"data:image/png;base64,{mislabelled}"), strict=False)
    elif protocol == "fal-queue":
        variant("missing-field", ("prompt",), lambda b: b.pop("prompt"))
        variant("wrong-type", ("image_urls",), lambda b: b.update(image_urls="not-a-list"))
        variant("undecodable-media", ("image_urls",),
                lambda b: b.update(image_urls=[f"data:image/png;base64,{bad_b64}"]))
        variant("mislabelled-media", ("image_urls",),
                lambda b: b.update(image_urls=[f"data:image/png;base64,{mislabelled}"]), strict=False)
    return out


# --- queued jobs and realtime turns (the lifecycle and realtime checks) -------------------

def async_sample(api: Api, *, seed: int = 0, prompt: str | None = None) -> Sample:
    """The canonical image request submitted as a job: WaveSpeed with sync mode off, fal on
    its queue host; ``prompt`` replaces the instruction (WaveSpeed's ``custom_prompt``)."""
    protocol = api.protocol.name
    if protocol not in ("wavespeed-v3", "fal-queue"):
        raise Unsupported(f"{protocol} has no queued jobs")
    base = sample(api, "image", seed=seed)
    body = dict(base.json_body)
    if protocol == "wavespeed-v3":
        body["enable_sync_mode"] = False
    if prompt is not None:
        body["custom_prompt" if protocol == "wavespeed-v3" else "prompt"] = prompt
    return Sample("submit", base.model, body, "async")


def pcm_tone(seconds: float = 0.5, rate: int = 16000, freq: float = 440.0) -> str:
    """Base64 little-endian float32 mono PCM of a sine: input audio a duplex model answers."""
    n = int(seconds * rate)
    wave = (0.5 * math.sin(2 * math.pi * freq * i / rate) for i in range(n))
    return base64.b64encode(struct.pack(f"<{n}f", *wave)).decode("ascii")


def realtime_turn(revision: str, mode: str, *, rate: int = 16000) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(init, input)`` client events of one MiniCPM-o Realtime turn (providers.md §3): a
    system prompt, then 0.5 s of tone (plus one JPEG frame in video mode) or, in chat mode
    (current revision only), a text-and-image message. Media is bare base64."""
    def b64(data: bytes) -> str:
        return base64.b64encode(data).decode("ascii")

    chunk: dict[str, Any] = {"audio": pcm_tone(rate=rate)}
    if mode == "video":
        chunk["video_frames"] = [b64(JPEG)]
    if revision == "earlier":
        if mode == "chat":
            raise Unsupported("the earlier realtime revision has no chat mode")
        return ({"type": "session.update", "session": {"instructions": PROMPT}},
                {"type": "input_audio_buffer.append", **chunk})
    if mode == "chat":
        chunk = {"messages": [{"type": "text", "text": PROMPT}, {"type": "image", "data": b64(png())}]}
    init = {"type": "session.init", "payload": {"system_prompt": PROMPT}}
    return init, {"type": "input.append", "input": chunk}
