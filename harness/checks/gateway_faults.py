"""Gateway fault checks: upstream failures are passed on honestly, promptly and retried sanely.

The check sets each fault on the upstream mock for one request (``PUT /_harness/fault``, so it
works whether or not the gateway forwards ``x-harness-fault``): 429 with ``Retry-After``, 500,
529 (Anthropic's *overloaded*), a stream cut short and a slow first token. What the client
sees is judged here: a status of the same class (a 429 stays a 429 so the client backs off), a
``Retry-After`` it can honour, an answer within its deadline, a cut stream that does not end
like a complete one, retries spaced by the upstream's ``Retry-After`` and not multiplied. The
error *body* is judged by the exchange checks (``error-shape``) on these same exchanges, so a
wrong shape is one finding, not two.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from itertools import pairwise

import httpx

from harness import journal
from harness.checks import requests
from harness.checks.exchange import Exchange
from harness.checks.gateway import CHAT, call, two_sided
from harness.checks.registry import CheckContext, check
from harness.findings import Finding, Severity

MAX_ATTEMPTS = 3  # more upstream attempts than this for one client request multiplies load
TTFT_MS = 1500  # the slow first token: long enough to tell, short enough for CI


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    spec: str
    stream: bool = False
    status: int | None = None  # the status the upstream answers
    retry_after: float | None = None


FAULTS = (
    Fault("429 with Retry-After", "status=429,retry-after=1", status=429, retry_after=1),
    Fault("500", "status=500", status=500),
    Fault("529 overloaded", "error=overloaded", status=529),
    Fault("stream cut after 4 events", "cut=4", stream=True),
    Fault(f"first token after {TTFT_MS} ms", f"ttft={TTFT_MS}", stream=True),
)


def _seconds(value: str | None) -> float | None:
    """A Retry-After value a client can act on (delay-seconds or an HTTP-date), or None."""
    if value is None:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return None


def _status(ctx: CheckContext, fault: Fault, ex: Exchange) -> Iterator[Finding]:
    assert fault.status is not None
    ex_status, ex_headers, attempts = ex.status, ex.headers, ex.upstream
    if fault.status == 429 and ex_status != 429:
        yield ctx.finding(f"upstream {fault.name}: the client got HTTP {ex_status}, not 429, so "
                          "it cannot tell it should back off", exchange=ex)
    elif fault.status >= 500 and not 500 <= ex_status <= 599:
        yield ctx.finding(f"upstream {fault.name}: the client got HTTP {ex_status}, not a 5xx",
                          exchange=ex)
    if fault.retry_after is not None and ex_status == 429:
        given = ex_headers.get("retry-after")
        if _seconds(given) is None:
            renamed = sorted(k for k in ex_headers if "retry-after" in k and k != "retry-after")
            yield ctx.finding(f"upstream {fault.name}: the client's 429 has no usable "
                              "Retry-After header", retry_after=repr(given),
                              renamed_to=", ".join(renamed) or "(none)", exchange=ex)
    if len(attempts) > MAX_ATTEMPTS:
        yield ctx.finding(f"upstream {fault.name}: the gateway made more than {MAX_ATTEMPTS} "
                          "upstream attempts for one request", severity=Severity.WARNING,
                          attempts=str(len(attempts)), exchange=ex)
    if fault.retry_after is not None and len(attempts) > 1:
        gaps = [b.at - a.at for a, b in pairwise(attempts)]
        if min(gaps) < fault.retry_after * 0.9:
            yield ctx.finding(f"upstream {fault.name}: the gateway retried before the "
                              "upstream's Retry-After had passed", severity=Severity.WARNING,
                              attempts=str(len(attempts)), shortest_gap_s=f"{min(gaps):.2f}",
                              exchange=ex)


def _stream(ctx: CheckContext, fault: Fault, ex: Exchange, upstream: journal.Entry,
            ) -> Iterator[Finding]:
    client = journal.answer_facts(ex.status, ex.content_type, ex.body)
    if "cut" in fault.spec:
        if client.complete and not upstream.answer.complete:
            yield ctx.finding(f"upstream {fault.name}: the gateway ended the client's stream as "
                              "if complete", client_stop=str(client.stop),
                              upstream_text_chars=str(len(upstream.answer.text)),
                              client_text_chars=str(len(client.text)), exchange=ex)
        return
    if client.text != upstream.answer.text or client.stop_scale != upstream.answer.stop_scale:
        yield ctx.finding(f"upstream {fault.name}: the streamed answer differs from the upstream's",
                          client_text=client.text[:120], upstream_text=upstream.answer.text[:120],
                          exchange=ex)


@check(capability="errors", protocols=CHAT)
def gateway_faults(ctx: CheckContext) -> Iterator[Finding]:
    """Upstream 429/5xx/529, a cut stream and a slow first token reach the client honestly."""
    side = two_sided(ctx)
    for fault in FAULTS:
        if fault.stream and not any("stream" in m.capabilities for m in ctx.api.models.values()):
            continue
        sample = requests.sample(ctx.api, "text", seed=ctx.seed, stream=fault.stream)
        with side.upstream_fault(fault.spec):
            try:
                ex, entry, problems = call(ctx, sample, f"upstream {fault.name}")
            except httpx.TimeoutException:
                yield ctx.finding(f"upstream {fault.name}: the gateway did not answer within "
                                  f"{side.options.timeout_s:g} s")
                continue
        yield from problems
        if entry is None:
            continue
        if fault.status is not None:
            yield from _status(ctx, fault, ex)
        elif ex.status != 200:
            yield ctx.finding(f"upstream {fault.name}: the client got HTTP {ex.status}, the "
                              "upstream had answered 200", exchange=ex)
        else:
            yield from _stream(ctx, fault, ex, entry)
