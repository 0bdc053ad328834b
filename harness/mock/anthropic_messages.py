"""The mock's Anthropic-compatible Messages API (the MiMo gateway's ``/anthropic``).

``POST /v1/messages`` as both SDK generations send it: anthropic 2.x authenticates with
``Authorization: Bearer`` and ``anthropic-version: 2026-10-21``, 0.x/1.x with ``x-api-key`` and
``2023-06-01``, and the gateway's own curl with ``api-key`` and no version at all; every style
the profile lists is accepted and an unknown version is refused naming the known ones. Image
blocks arrive as base64 (their ``media_type`` is checked against the bytes) or as URLs, which
are described, never fetched. The answer is one ``message`` or the full named-event stream
(every frame has an ``event:`` line, there is no ``[DONE]``) built from the same text, so
stream and non-stream agree; a ``cut`` fault ends a stream with ``event: error``, as the API
does when it is overloaded mid-answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from harness import media
from harness.mock import catalogue, faults, generate, sse
from harness.mock.context import MockContext
from harness.mock.routing import Route
from harness.mock.validation import MediaItem, short

SCHEMA = "anthropic-messages/request"
VERSION_HEADER = "anthropic-version"
OVERLOADED = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}


def media_items(messages: list[dict[str, Any]]) -> Iterator[MediaItem]:
    """Every image block of the user turns; base64 data keeps its declared media_type."""
    for i, message in enumerate(messages):
        if message["role"] != "user" or isinstance(message["content"], str):
            continue
        for j, block in enumerate(message["content"]):
            if block["type"] != "image":
                continue
            source, where = block["source"], f"/messages/{i}/content/{j}/source"
            if source["type"] == "base64":
                yield MediaItem(f"{where}/data", source["data"], media.MediaKind.IMAGE,
                                declared_mime=source["media_type"])
            else:
                yield MediaItem(f"{where}/url", source["url"], media.MediaKind.IMAGE)


def texts_of(content: str | list[dict[str, Any]]) -> list[str]:
    return [content] if isinstance(content, str) else [
        b["text"] for b in content if b["type"] == "text"]


def message(mid: str, model: str, text: str | None, stop_reason: str | None,
            usage: dict[str, int]) -> dict[str, Any]:
    """A ``message``: the whole answer, or (``text`` None) the empty one of message_start."""
    return {"id": mid, "type": "message", "role": "assistant", "model": model,
            "content": [] if text is None else [{"type": "text", "text": text}],
            "stop_reason": stop_reason, "stop_sequence": None, "usage": usage}


def event_frames(mid: str, model: str, answer: generate.Answer, stop_reason: str,
                 input_tokens: int) -> list[sse.Frame]:
    """The named-event stream of one text answer, in the order the API sends it."""
    def event(data: dict[str, Any], *, token: bool = False) -> sse.Frame:
        return sse.encode(data, data["type"], token=token)

    start_usage = {"input_tokens": input_tokens, "output_tokens": 0}
    return [
        event({"type": "message_start", "message": message(mid, model, None, None, start_usage)}),
        event({"type": "content_block_start", "index": 0,
               "content_block": {"type": "text", "text": ""}}),
        event({"type": "ping"}),
        *(event({"type": "content_block_delta", "index": 0,
                 "delta": {"type": "text_delta", "text": piece}}, token=True)
          for piece in generate.tokens(answer.text)),
        event({"type": "content_block_stop", "index": 0}),
        event({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
               "usage": {"output_tokens": answer.n_tokens}}),
        event({"type": "message_stop"}),
    ]


def routes(ctx: MockContext, host: str) -> list[BaseRoute]:
    versions = ctx.api.auth.versions

    async def messages(request: Request) -> Response:
        denied = ctx.authenticate(request)
        if denied is not None:
            return denied
        version = request.headers.get(VERSION_HEADER)
        # Absent is accepted: the gateway's documented curl sends no version header.
        if version is not None and versions and version not in versions:
            return ctx.error(400, f"{VERSION_HEADER}: {short(version)} is not a supported "
                                  f"version; supported: {', '.join(versions)}")
        body = await ctx.read_json(request)
        if isinstance(body, JSONResponse):
            return body
        tool_at = catalogue.tool_role_at(body)
        if tool_at is not None and "tool_role" in ctx.profile.errors:
            return ctx.documented("tool_role", f"messages.{tool_at}.role")  # seed 004's words
        invalid = ctx.schema_error(body, SCHEMA)
        if invalid is not None:
            return invalid
        payloads = await ctx.media(list(media_items(body["messages"])))
        if isinstance(payloads, JSONResponse):
            return payloads

        model = body["model"]
        user_turns = [m for m in body["messages"] if m["role"] == "user"]
        prompt = "\n".join(texts_of((user_turns or body["messages"])[-1]["content"]))
        texts = texts_of(body.get("system") or []) + [
            t for m in body["messages"] for t in texts_of(m["content"])]
        answer = generate.answer(model, prompt, payloads, ctx.config.seed,
                                 max_tokens=body["max_tokens"])
        stop_reason = "max_tokens" if answer.truncated else "end_turn"
        input_tokens = generate.prompt_tokens(texts, len(payloads))
        mid = "msg_" + generate.request_id(model, prompt, *(p.sha256 or p.url for p in payloads),
                                           ctx.config.seed, body["max_tokens"])
        fault = faults.fault_of(request.scope)
        headers = {"request-id": ctx.request_id()}
        if body.get("stream"):
            frames = event_frames(mid, model, answer, stop_reason, input_tokens)
            return sse.response(frames, fault, headers=headers,
                                on_cut=sse.encode(OVERLOADED, "error"))
        delay = sse.generation_delay(fault, answer.n_tokens)
        if delay:
            await asyncio.sleep(delay)
        usage = {"input_tokens": input_tokens, "output_tokens": answer.n_tokens}
        return sse.json_response(message(mid, model, answer.text, stop_reason, usage), headers)

    return [Route("/v1/messages", messages, methods=["POST"])]
