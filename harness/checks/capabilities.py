"""Capability checks: can the provider actually answer a text, image, multi-image or video request?

One scenario per column of the report's matrix. Each sends the canonical request from
:mod:`harness.checks.requests` and expects HTTP 200 with a non-empty answer *string* where the
protocol puts it (OpenAI ``choices[0].message.content``, Anthropic's first text block,
WaveSpeed ``data.outputs[0]``, fal ``output``), because an SDK that gets a 200 with no text, or
a number where text belongs, hands its caller nothing useful. WaveSpeed and fal are asked in
their one-request forms (sync mode, fal's run host): the queue lifecycle has its own checks,
and a WaveSpeed job that comes back unfinished despite sync mode is only waited for briefly.
Schema, status and error shape are judged by the exchange checks on the same requests.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from harness import deadlines
from harness.checks import requests
from harness.checks.exchange import Exchange
from harness.checks.registry import CheckContext, check
from harness.findings import Finding, Severity

# WaveSpeed statuses after which a job will not change (providers.md §1).
_FINAL = ("completed", "failed", "cancelled", "timeout", "deleted")


def _settle(ctx: CheckContext, ex: Exchange, body: Any) -> tuple[Exchange, Any, Finding | None]:
    """A WaveSpeed job that is not finished despite sync mode: a warning, then a short wait."""
    data = body.get("data") if isinstance(body, dict) else None
    status = data.get("status") if isinstance(data, dict) else None
    if not isinstance(data, dict) or status in _FINAL or not data.get("id"):
        return ex, body, None
    warning = ctx.finding(
        f"enable_sync_mode=true but the submit answered data.status {status!r}; the image page "
        "says the model only supports sync mode (polling the result instead)",
        severity=Severity.WARNING, exchange=ex, instance_pointer="/data/status")
    deadline = time.monotonic() + float(ctx.options.get("poll_timeout_s", 30.0))
    delay = 0.05
    while time.monotonic() < deadline:
        deadlines.sleep(delay, "the next poll of a sync-mode job")
        delay = min(delay * 2, 2.0)
        ex = ctx.probe.call("result", path_params={"id": str(data["id"])})
        body = ex.json()
        inner = body.get("data") if isinstance(body, dict) else None
        if ex.status != 200 or not isinstance(inner, dict) or inner.get("status") in _FINAL:
            break
    return ex, body, warning


def run_capability(ctx: CheckContext, capability: str) -> Iterator[Finding]:
    """Send the canonical ``capability`` request and judge the answer text."""
    protocol = ctx.api.protocol.name
    sample = requests.sample(ctx.api, capability, seed=ctx.seed)
    ex = requests.call(ctx.probe, sample)
    body = ex.json()
    if protocol == "wavespeed-v3" and ex.status == 200:
        ex, body, warning = _settle(ctx, ex, body)
        if warning:
            yield warning
    if ex.status != 200:
        yield ctx.finding(f"{capability} request to {sample.endpoint} ({sample.model}) answered "
                          f"HTTP {ex.status}, expected 200", exchange=ex)
        return
    if protocol == "wavespeed-v3" and isinstance(body, dict):
        data = body.get("data")
        data = data if isinstance(data, dict) else {}
        if data.get("status") not in (None, "completed"):
            # A failed job arrives as HTTP 200; only the envelope says so (providers.md §1).
            yield ctx.finding(f"{capability} job ended with data.status {data.get('status')!r} "
                              f"(data.error: {data.get('error')!r}) inside an HTTP 200", exchange=ex,
                              instance_pointer="/data/status")
            return
    pointer, present, value = requests.answer_of(protocol, body)
    if body is None:
        yield ctx.finding(f"{capability} answer is not JSON; the answer text belongs at "
                          f"{requests.ANSWER_AT[protocol]}", exchange=ex)
    elif not present:
        yield ctx.finding(f"{capability} answer has no {pointer}; the answer text belongs at "
                          f"{requests.ANSWER_AT[protocol]}", exchange=ex, instance_pointer=pointer)
    elif not isinstance(value, str):
        yield ctx.finding(f"{capability} answer at {pointer} is {type(value).__name__} "
                          f"({str(value)[:60]!r}), expected a string", exchange=ex,
                          instance_pointer=pointer)
    elif not value.strip():
        yield ctx.finding(f"{capability} answer at {pointer} is an empty string", exchange=ex,
                          instance_pointer=pointer)


_CHAT = ("openai-chat", "anthropic-messages")


@check(capability="text", protocols=_CHAT)
def text(ctx: CheckContext) -> Iterator[Finding]:
    """A text-only request gets a 200 with a non-empty answer string."""
    yield from run_capability(ctx, "text")


@check(capability="image", protocols=(*_CHAT, "wavespeed-v3", "fal-queue"))
def image(ctx: CheckContext) -> Iterator[Finding]:
    """A request with one small PNG gets a 200 with a non-empty answer string."""
    yield from run_capability(ctx, "image")


@check(capability="multi-image", protocols=(*_CHAT, "fal-queue"))
def multi_image(ctx: CheckContext) -> Iterator[Finding]:
    """A request with a PNG, a JPEG and a GIF gets a 200 with a non-empty answer string."""
    yield from run_capability(ctx, "multi-image")


@check(capability="video", protocols=("openai-chat", "wavespeed-v3", "fal-queue"))
def video(ctx: CheckContext) -> Iterator[Finding]:
    """A request with a small MP4 gets a 200 with a non-empty answer string."""
    yield from run_capability(ctx, "video")
