"""Canonical requests per protocol: the smallest honest request for each capability.

:func:`sample` returns the request that exercises a capability (text, one image, several images
of different formats, a video, a stream) on one provider API, choosing the model with
:func:`model_for`; :func:`media_sample` builds the same shape around caller-chosen media (the
limit probes), :func:`any_sample` the cheapest request an API can express, and :func:`call`
sends a :class:`Sample` through a probe. :func:`answer_of` says where each protocol puts the
answer text. A protocol that cannot express a capability raises :class:`Unsupported`, which the
engine reports as a skip.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from harness.checks.exchange import Exchange, Probe
from harness.checks.registry import Skip
from harness.checks.request_media import MP4, images
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
