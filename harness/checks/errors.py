"""Error checks: bad input is refused helpfully, and keys are required and never echoed.

``bad-input-errors`` sends every invalid request of :func:`harness.checks.requests.invalid_samples`
(bad JSON, a missing or mistyped field, an unknown model or enum value, undecodable or
mislabelled media) and wants a 4xx for each, never a 5xx (a server error on bad input is how
vLLM and llama.cpp have been seen to fail, providers.md §7), with a message that names the
offending field so a user can fix the request. ``auth-enforced`` sends a request without a key
and one with a wrong key and wants 401/403 for both, with neither the wrong key nor the real one
anywhere in the answer. The error *shape* of every answer is judged by the exchange checks.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

from harness.checks import requests
from harness.checks.exchange import Exchange
from harness.checks.registry import CheckContext, Skip, check
from harness.findings import Finding, Severity
from harness.secrets import Scrubber

_HTTP = ("openai-chat", "anthropic-messages", "wavespeed-v3", "fal-queue")
# A key-shaped value no provider will ever have issued.
WRONG_KEY = "vlmh-wrong-key-0000000000000000000000000000"


def error_text(protocol: str, body: Any) -> str:
    """The human-readable part of an error body (message, param, FastAPI loc/msg)."""
    if not isinstance(body, dict):
        return ""
    inner = body.get("error")
    if protocol in ("openai-chat", "anthropic-messages") and isinstance(inner, dict):
        return " ".join(str(inner.get(k)) for k in ("message", "param") if inner.get(k))
    if protocol == "fal-queue" and isinstance(body.get("detail"), list):
        return " ".join(f"{'.'.join(map(str, d.get('loc') or []))}: {d.get('msg', '')}"
                        for d in body["detail"] if isinstance(d, dict))
    for key in ("message", "detail", "error"):
        if isinstance(body.get(key), str):
            return str(body[key])
    return json.dumps(body, ensure_ascii=False)[:500]


@check(capability="errors", protocols=_HTTP)
def bad_input_errors(ctx: CheckContext) -> Iterator[Finding]:
    """Each invalid request gets a 4xx (never a 5xx) whose message names the field."""
    protocol = ctx.api.protocol.name
    for sample in requests.invalid_samples(ctx.api):
        ex = sample.send(ctx.probe)
        if ex.status >= 500:
            yield ctx.finding(f"{sample.name}: HTTP {ex.status} on bad input; a client error "
                              "must get a 4xx, not a server error", exchange=ex)
            continue
        if ex.status < 400:
            yield ctx.finding(f"{sample.name}: HTTP {ex.status}, the invalid request was accepted "
                              f"(expected a 4xx naming {_names(sample.fields)})", exchange=ex,
                              severity=Severity.ERROR if sample.strict else Severity.WARNING)
            continue
        if ex.status not in sample.expected:
            yield ctx.finding(f"{sample.name}: HTTP {ex.status}, expected one of "
                              f"{', '.join(map(str, sorted(sample.expected)))}", exchange=ex,
                              severity=Severity.WARNING)
        text = error_text(protocol, ex.json())
        if sample.fields and not any(f.lower() in text.lower() for f in sample.fields):
            yield ctx.finding(f"{sample.name}: the HTTP {ex.status} error message does not name "
                              f"{_names(sample.fields)}: {text[:160]!r}", exchange=ex,
                              severity=Severity.WARNING)


def _names(fields: tuple[str, ...]) -> str:
    return " or ".join(repr(f) for f in fields) or "the problem"


def _leaks(ex: Exchange, secrets: dict[str, str]) -> list[str]:
    """Which of ``secrets`` (label -> value) appear in the answer's body or headers."""
    haystack = ex.body.decode("utf-8", "replace") + "\n" + "\n".join(
        f"{k}: {v}" for k, v in ex.headers.items())
    return [label for label, value in secrets.items() if value and value in haystack]


@check(capability="auth", protocols=_HTTP)
def auth_enforced(ctx: CheckContext) -> Iterator[Finding]:
    """No key and a wrong key both get 401/403, and the answer never echoes either key."""
    if ctx.api.auth.optional:
        raise Skip(f"{ctx.profile.name} {ctx.api.protocol.name}: auth is optional "
                   f"({ctx.api.auth.env} may be unset), so an unauthenticated request may succeed")
    real = ctx.target.key(ctx.profile, ctx.api) or ""
    # Findings may quote the answer: scrub both keys from them whatever the environment holds.
    ctx = dataclasses.replace(ctx, scrubber=Scrubber(tuple(sorted(
        {*ctx.scrubber.secrets, WRONG_KEY, *([real] if real else [])}, key=len, reverse=True))))
    sample = requests.any_sample(ctx.api, seed=ctx.seed)
    style = ctx.api.auth.styles[0]
    attempts: list[tuple[str, dict[str, str]]] = [
        ("no key", {}), (f"a wrong key in {style.header}", {style.header: style.value(WRONG_KEY)})]
    for label, headers in attempts:
        ex = requests.call(ctx.probe, sample, auth=False, headers=headers)
        if ex.status not in (401, 403):
            yield ctx.finding(f"request with {label} answered HTTP {ex.status}, expected 401 "
                              "(or 403)", exchange=ex)
        leaked = _leaks(ex, {"the wrong key": WRONG_KEY, "the real key": real})
        if leaked:
            yield ctx.finding(f"request with {label}: the answer contains {' and '.join(leaked)} "
                              "(key leak)", exchange=ex)
