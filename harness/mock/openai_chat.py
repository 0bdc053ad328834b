"""The mock's OpenAI-compatible Chat Completions API (ModelBest, the MiMo gateway, local servers).

``POST /chat/completions`` and ``GET /models`` under the provider's base URL; the three
providers differ only by their profiles (models offered, auth styles such as MiMo's ``api-key``
header, media limits, documented error messages). A request is authenticated, parsed, checked
against the dialect-overlaid schema and its media decoded once; the answer text is generated
deterministically and served either as one ``chat.completion`` or as SSE
``chat.completion.chunk`` frames built from the same text, so stream and non-stream answers
(content, finish_reason, usage) agree. Thinking models return their reasoning separately, in
``reasoning_content``, as vLLM and SGLang do.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from typing import Any, NamedTuple

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from harness import media
from harness.mock import catalogue, faults, generate, sse
from harness.mock.context import MockContext
from harness.mock.routing import Route
from harness.mock.validation import MediaItem, short
from harness.providers import Api

SCHEMA = "openai-chat/request"
# Answers must be the same bytes for the same request, so `created` is a fixed instant
# (2026-01-01T00:00:00Z) rather than the clock.
CREATED = 1_767_225_600
# No document bounds `n` (above 16 is advisory, in the schema); this guard only keeps one
# request from asking the mock for 10^6 answers, and says it is the mock's, not a provider's.
MAX_CHOICES = 128
_THINK_OPEN, _THINK_CLOSE = "<think>", "</think>"


class Choice(NamedTuple):  # not a frozen dataclass: made per answer, in a third of the time
    reasoning: str | None  # None for models that do not think
    content: str
    finish_reason: str
    n_tokens: int


def offered_models(api: Api) -> list[str]:
    """The models this API answers for: its profile's, plus a local server's configured one."""
    ids = list(api.models)
    configured = os.environ.get(api.model_env) if api.model_env else None
    if configured and configured not in ids:
        ids.append(configured)
    return ids


_MEDIA_KINDS = {"image_url": media.MediaKind.IMAGE, "video_url": media.MediaKind.VIDEO}


def media_items(messages: list[dict[str, Any]]) -> Iterator[MediaItem]:
    """Every image_url / video_url part of the user turns, with its JSON pointer."""
    for i, message in enumerate(messages):
        if message["role"] != "user" or isinstance(message["content"], str):
            continue
        for j, part in enumerate(message["content"]):
            kind = _MEDIA_KINDS.get(part["type"])
            if kind is not None:
                yield MediaItem(f"/messages/{i}/content/{j}/{part['type']}/url",
                                part[part["type"]]["url"], kind)


def texts_of(message: dict[str, Any]) -> list[str]:
    content = message["content"]
    return [content] if isinstance(content, str) else [
        p["text"] for p in content if p["type"] == "text"]


def split_reasoning(text: str) -> tuple[str, str]:
    """(reasoning, content) of a thinking model's ``<think>...</think>`` answer."""
    if not text.startswith(_THINK_OPEN):
        return "", text
    end = text.find(_THINK_CLOSE)
    if end < 0:  # cut by max_tokens while still thinking
        return text[len(_THINK_OPEN):], ""
    return text[len(_THINK_OPEN):end], text[end + len(_THINK_CLOSE):].lstrip("\n")


def choice(answer: generate.Answer, reasoning: bool) -> Choice:
    thought, content = split_reasoning(answer.text) if reasoning else (None, answer.text)
    return Choice(thought, content, "length" if answer.truncated else "stop", answer.n_tokens)


def completion(cid: str, model: str, choices: list[Choice], usage: dict[str, int]) -> dict[str, Any]:
    def message(c: Choice) -> dict[str, Any]:
        out: dict[str, Any] = {"role": "assistant", "content": c.content}
        if c.reasoning is not None:
            out["reasoning_content"] = c.reasoning
        return out

    return {"id": cid, "object": "chat.completion", "created": CREATED, "model": model,
            "choices": [{"index": i, "message": message(c), "finish_reason": c.finish_reason}
                        for i, c in enumerate(choices)],
            "usage": usage}


def chunk_frames(cid: str, model: str, choices: list[Choice], usage: dict[str, int] | None
                 ) -> list[sse.Frame]:
    """The SSE frames of a stream: per choice a role delta, token deltas and a finish chunk;
    then, with ``stream_options.include_usage``, a usage chunk with no choices; then [DONE]."""
    head: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": CREATED,
                            "model": model}
    if usage is not None:
        head["usage"] = None  # OpenAI sends an explicit null on every chunk but the last

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None, *,
              token: bool = False) -> sse.Frame:
        return sse.encode({**head, "choices": [{"index": index, "delta": delta,
                                                "finish_reason": finish}]}, token=token)

    frames = []
    for i, c in enumerate(choices):
        frames.append(chunk(i, {"role": "assistant", "content": ""}))
        frames += [chunk(i, {"reasoning_content": t}, token=True)
                   for t in generate.tokens(c.reasoning or "")]
        frames += [chunk(i, {"content": t}, token=True) for t in generate.tokens(c.content)]
        frames.append(chunk(i, {}, c.finish_reason))
    if usage is not None:
        frames.append(sse.encode({**head, "choices": [], "usage": usage}))
    frames.append(sse.encode("[DONE]"))
    return frames


def routes(ctx: MockContext, host: str) -> list[BaseRoute]:
    api = ctx.api

    async def chat(request: Request) -> Response:
        denied = ctx.authenticate(request)
        if denied is not None:
            return denied
        body = await ctx.read_json(request)
        if isinstance(body, JSONResponse):
            return body
        tool_at = catalogue.tool_role_at(body)
        if tool_at is not None and "tool_role" in ctx.profile.errors:
            return ctx.documented("tool_role", f"messages.{tool_at}.role")  # seed 004's words
        invalid = ctx.schema_error(body, SCHEMA)
        if invalid is not None:
            return invalid
        model, offered = body["model"], offered_models(api)
        if model not in offered:
            return ctx.error(404, f"model {short(model)} does not exist; available: "
                                  f"{', '.join(offered)}", "model")
        profile_model = api.models.get(model)
        capabilities = profile_model.capabilities if profile_model else tuple(
            c for m in api.models.values() for c in m.capabilities)
        items = list(media_items(body["messages"]))
        for item in items:
            if item.kind is media.MediaKind.VIDEO and "video" not in capabilities:
                param = item.pointer.lstrip("/").replace("/", ".")
                return ctx.error(400, f"{param}: model {model} does not accept video input", param)
        n = body.get("n", 1)
        if n > MAX_CHOICES:
            return ctx.error(400, f"n: {n} is more than the {MAX_CHOICES} choices this mock serves "
                                  "(a guard of the mock, not a provider limit)", "n")
        payloads = await ctx.media(items)
        if isinstance(payloads, JSONResponse):
            return payloads

        user_turns = [m for m in body["messages"] if m["role"] == "user"]
        prompt = "\n".join(texts_of((user_turns or body["messages"])[-1]))
        texts = [t for m in body["messages"] for t in texts_of(m)]
        seed = body.get("seed", ctx.config.seed)
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        reasoning = bool(profile_model and profile_model.reasoning)
        choices = [choice(generate.answer(model, prompt, payloads, seed + i, max_tokens=max_tokens,
                                          reasoning=reasoning), reasoning) for i in range(n)]
        completion_tokens = sum(c.n_tokens for c in choices)
        prompt_tokens = generate.prompt_tokens(texts, len(payloads))
        usage = {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                 "total_tokens": prompt_tokens + completion_tokens}
        cid = "chatcmpl-" + generate.request_id(model, prompt, *(p.sha256 or p.url for p in payloads),
                                                seed, n, max_tokens)
        fault = faults.fault_of(request.scope)
        headers = {"x-request-id": ctx.request_id()}
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            frames = chunk_frames(cid, model, choices, usage if include_usage else None)
            return sse.response(frames, fault, headers=headers)
        delay = sse.generation_delay(fault, completion_tokens)
        if delay:
            await asyncio.sleep(delay)
        return sse.json_response(completion(cid, model, choices, usage), headers)

    # a flavoured local server names itself as owner, as vLLM and llama.cpp do
    owner = ctx.profile.served_as.owned_by if ctx.profile.served_as else ""
    owner = owner or ctx.profile.name

    async def models(request: Request) -> Response:
        denied = ctx.authenticate(request)
        if denied is not None:
            return denied
        data = [{"id": m, "object": "model", "created": CREATED, "owned_by": owner}
                for m in offered_models(api)]
        return JSONResponse({"object": "list", "data": data},
                            headers={"x-request-id": ctx.request_id()})

    return [Route("/chat/completions", chat, methods=["POST"]),
            Route("/models", models, methods=["GET"]), *catalogue.endpoint_routes(ctx)]
