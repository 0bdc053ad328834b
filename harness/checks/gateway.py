"""Gateway checks: what the client sent and got, against what the upstream received and answered.

They run only on a two-sided target (``--target gateway``), where every exchange carries the
upstream requests the reference mock journaled for it (:mod:`harness.mock.journaling`), and
skip with the reason elsewhere. Both sides are read into protocol-neutral facts
(:mod:`harness.journal`), so the same check judges a gateway that forwards OpenAI to OpenAI and
one that bridges Anthropic clients to an OpenAI upstream: media digests must match, sampling
parameters must arrive under a name the upstream protocol has, the answer's text, stop reason
and usage must be the upstream's, the client's key must stay at the gateway, and a bridge must
keep the conversation. Faults live in :mod:`harness.checks.gateway_faults`. Details (digests,
values) go into a finding's extra fields so that one cause reads as one message.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from harness import journal
from harness.checks import requests
from harness.checks.exchange import Exchange
from harness.checks.registry import CheckContext, Skip, check
from harness.findings import Finding, Severity
from harness.secrets import CREDENTIAL_HEADERS, REDACTED

CHAT = ("openai-chat", "anthropic-messages")
SYSTEM_PROMPT = "Answer in plain words."
# Sampling parameters a gateway must pass on, by the name each protocol gives them.
_STOP = {"openai-chat": "stop", "anthropic-messages": "stop_sequences"}
_NO_SEED = {"anthropic-messages"}  # Anthropic has no seed: dropping it is the only mapping


def two_sided(ctx: CheckContext) -> Any:
    """The target, if it can show the upstream side; else the check skips, saying why."""
    if not hasattr(ctx.target, "upstream_fault"):
        raise Skip("gateway checks compare both sides of a gateway; run them with --target gateway")
    return ctx.target


def call(ctx: CheckContext, sample: requests.Sample, what: str
         ) -> tuple[Exchange, journal.Entry | None, list[Finding]]:
    """Send ``sample``; the upstream request that produced the answer (the last attempt), or
    a finding saying none reached the upstream."""
    ex = requests.call(ctx.probe, sample)
    if ex.upstream:
        return ex, ex.upstream[-1], []
    return ex, None, [ctx.finding(
        f"{what}: the gateway answered and no request reached the upstream mock (is the "
        "gateway's upstream the harness's mock?)", exchange=ex, status=str(ex.status),
        upstream=str(getattr(ctx.target, "upstream_url", "")))]


def _offered(ctx: CheckContext, capability: str) -> bool:
    return any(capability in m.capabilities for m in ctx.api.models.values())


@check(capability="image", protocols=CHAT)
def gateway_media_intact(ctx: CheckContext) -> Iterator[Finding]:
    """Every image and video the client sent reaches the upstream with the same bytes."""
    two_sided(ctx)
    for capability in ("image", "multi-image", "video"):
        if not _offered(ctx, capability):
            continue
        try:
            sample = requests.sample(ctx.api, capability, seed=ctx.seed)
        except requests.Unsupported:
            continue
        ex, entry, problems = call(ctx, sample, capability)
        yield from problems
        if entry is None:
            continue
        sent, got = journal.request_facts(ex.request_json).media, entry.request.media
        lost = [d for d in sent if d not in got]
        if lost:
            yield ctx.finding(
                f"{capability}: media the client sent did not reach the upstream intact",
                exchange=ex, sent=" ".join(sent), upstream_received=" ".join(got) or "(none)",
                upstream_api=entry.api)
        elif list(sent) != list(got):
            yield ctx.finding(f"{capability}: the upstream received the media in another order "
                              "or repeated", severity=Severity.WARNING, exchange=ex,
                              sent=" ".join(sent), upstream_received=" ".join(got))


def _limit(params: dict[str, Any]) -> Any:
    return params.get("max_completion_tokens", params.get("max_tokens"))


def _stops(params: dict[str, Any]) -> list[str]:
    value = params.get("stop", params.get("stop_sequences"))
    return [value] if isinstance(value, str) else list(value or [])


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, int | float) and isinstance(b, int | float):
        return math.isclose(a, b, rel_tol=1e-9)
    return bool(a == b)


def _param_samples(ctx: CheckContext) -> Iterator[requests.Sample]:
    """The text request with every mappable parameter set; for OpenAI clients once per name of
    the token limit (older clients send ``max_tokens``, newer ``max_completion_tokens``)."""
    base = requests.sample(ctx.api, "text", seed=ctx.seed)
    body = {k: v for k, v in base.json_body.items() if k not in ("max_tokens", "max_completion_tokens")}
    body |= {"temperature": 0.5, "top_p": 0.9, _STOP[ctx.api.protocol.name]: ["###END###"]}
    names = ("max_tokens",) if ctx.api.protocol.name == "anthropic-messages" else (
        "max_tokens", "max_completion_tokens")
    for name in names:
        yield requests.Sample(base.endpoint, base.model, {**body, name: requests.MAX_TOKENS}, "text")


@check(capability="text", protocols=CHAT)
def gateway_params(ctx: CheckContext) -> Iterator[Finding]:
    """Model, token limit, stop, temperature, top_p and seed arrive upstream, mapped per protocol."""
    two_sided(ctx)
    for sample in _param_samples(ctx):
        ex, entry, problems = call(ctx, sample, "parameters")
        yield from problems
        if entry is None:
            continue
        sent, got = sample.json_body, dict(entry.request.params)
        name = next(k for k in ("max_completion_tokens", "max_tokens") if k in sent)
        if got.get("model") != sample.model:
            yield ctx.finding("the upstream was asked for another model than the client's "
                              "(model alias not resolved to the documented model)", exchange=ex,
                              client_model=str(sample.model), upstream_model=str(got.get("model")))
        checks = [(f"{name} (token limit)", _limit(sent), _limit(got)),
                  ("stop sequences", _stops(sent), _stops(got)),
                  ("temperature", sent.get("temperature"), got.get("temperature")),
                  ("top_p", sent.get("top_p"), got.get("top_p"))]
        if "seed" in sent and entry.api not in _NO_SEED:
            checks.append(("seed", sent["seed"], got.get("seed")))
        for what, mine, theirs in checks:
            if not _same(mine, theirs):
                yield ctx.finding(f"{what} was not passed on to the {entry.api} upstream as sent",
                                  exchange=ex, client_value=repr(mine), upstream_value=repr(theirs),
                                  upstream_api=entry.api)


def _answer_findings(ctx: CheckContext, ex: Exchange, entry: journal.Entry,
                     what: str) -> Iterator[Finding]:
    mine = journal.answer_facts(ex.status, ex.content_type, ex.body)
    theirs = entry.answer
    if entry.status != 200 or ex.status != 200:
        if ex.status == 200:
            yield ctx.finding(f"{what}: the client got HTTP 200 but the upstream answered HTTP "
                              f"{entry.status}", exchange=ex)
        return
    if mine.text != theirs.text:
        yield ctx.finding(f"{what}: the answer text differs from what the upstream produced",
                          exchange=ex, client_text=mine.text[:200], upstream_text=theirs.text[:200])
    if mine.stop_scale != theirs.stop_scale:
        yield ctx.finding(f"{what}: the stop reason differs from the upstream's", exchange=ex,
                          client_stop=str(mine.stop), upstream_stop=str(theirs.stop))
    for side in ("input", "output"):
        if side in mine.usage and side in theirs.usage and mine.usage[side] != theirs.usage[side]:
            yield ctx.finding(f"{what}: {side} token usage differs from the upstream's",
                              exchange=ex, client=str(mine.usage[side]),
                              upstream=str(theirs.usage[side]))


@check(capability="stream", protocols=CHAT)
def gateway_answer_fidelity(ctx: CheckContext) -> Iterator[Finding]:
    """Answer text, finish/stop reason and usage equal what the upstream produced, streamed or not."""
    two_sided(ctx)
    for stream in (False, True):
        if stream and not _offered(ctx, "stream"):
            continue
        what = "streamed answer" if stream else "answer"
        sample = requests.sample(ctx.api, "text", seed=ctx.seed, stream=stream)
        ex, entry, problems = call(ctx, sample, what)
        yield from problems
        if entry is not None:
            yield from _answer_findings(ctx, ex, entry, what)


@check(capability="auth", protocols=CHAT)
def gateway_keys(ctx: CheckContext) -> Iterator[Finding]:
    """The client's key stays at the gateway; the upstream sees the gateway's own key."""
    side = two_sided(ctx)
    client_key, upstream_key = side.key(ctx.profile, ctx.api), side.upstream_key(ctx.profile)
    if client_key == upstream_key:
        raise Skip("the client's key is the upstream's key, so a leak cannot be told apart; set "
                   "VLM_HARNESS_GATEWAY_KEY to the key the gateway gives its clients")
    ex, entry, problems = call(ctx, requests.sample(ctx.api, "text", seed=ctx.seed), "keys")
    yield from problems
    if entry is None:
        return
    if entry.key and entry.key == journal.key_digest(client_key):
        yield ctx.finding("the client's key reached the upstream", exchange=ex,
                          header=entry.key_header)
    elif not entry.key_accepted:
        yield ctx.finding("the gateway did not present its upstream key to the upstream",
                          exchange=ex, header=entry.key_header or "(none)")
    leaked = sorted(k for k, v in entry.headers.items()
                    if k not in CREDENTIAL_HEADERS and REDACTED in v)
    if leaked:
        yield ctx.finding("a key reached the upstream outside the credential headers",
                          exchange=ex, headers=", ".join(leaked))


def _with_system(ctx: CheckContext, sample: requests.Sample) -> requests.Sample:
    body = dict(sample.json_body)
    if ctx.api.protocol.name == "anthropic-messages":
        body["system"] = SYSTEM_PROMPT
    else:
        body["messages"] = [{"role": "system", "content": SYSTEM_PROMPT}, *body["messages"]]
    return requests.Sample(sample.endpoint, sample.model, body, sample.capability)


@check(capability="image", protocols=CHAT)
def gateway_bridging(ctx: CheckContext) -> Iterator[Finding]:
    """A gateway that speaks another protocol upstream keeps system prompt, texts and images."""
    two_sided(ctx)
    sample = _with_system(ctx, requests.sample(ctx.api, "image", seed=ctx.seed))
    ex, entry, problems = call(ctx, sample, "bridging")
    yield from problems
    if entry is None:
        return
    if entry.api == ctx.api.protocol.name:
        raise Skip(f"the gateway spoke {entry.api} upstream too: no format bridge to check")
    sent, got = journal.request_facts(ex.request_json), entry.request
    bridge = f"{ctx.api.protocol.name} -> {entry.api}"
    for what, mine, theirs in (("system prompt", sent.system, got.system),
                               ("user texts", sent.texts, got.texts),
                               ("images", sent.media, got.media)):
        if mine != theirs:
            yield ctx.finding(f"bridge {bridge}: the {what} changed on the way upstream",
                              exchange=ex, client=repr(mine)[:300], upstream=repr(theirs)[:300])
