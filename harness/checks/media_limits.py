"""Media-limit checks: the documented image limits hold exactly, at the edge and one past it.

A provider profile states how big an image may be (decoded bytes, base64 characters) and how
many one request may carry. ``media-limits`` sends a valid PNG padded to exactly the largest
size every stated limit allows (it must be accepted), the same plus one byte (it must be refused
with the 413 the protocol documents for oversize), and, when a count limit is stated, one image
more than allowed (refused with a 4xx). Big payloads are made in-process and sent at most twice
per provider, on its first media API; against a live provider they are only sent when the run
allows it (``allow_large``), since uploading 10 MB twice costs time and possibly money.
"""

from __future__ import annotations

from collections.abc import Iterator

from harness.checks import requests
from harness.checks.registry import CheckContext, Skip, check
from harness.findings import Finding, Severity
from harness.media import MediaLimits, data_url
from harness.providers import Api, Profile
from harness.targets.base import TargetKind

_MEDIA = ("openai-chat", "anthropic-messages", "wavespeed-v3", "fal-queue")


def edge_size(limits: MediaLimits) -> tuple[int, str] | None:
    """The largest decoded size every size limit allows, and which limit binds there."""
    bounds = []
    if limits.max_bytes is not None:
        bounds.append((limits.max_bytes, f"max_bytes {limits.max_bytes:,}"))
    if limits.max_base64_chars is not None:  # 4 base64 characters carry 3 bytes
        bounds.append((limits.max_base64_chars // 4 * 3,
                       f"max_base64_chars {limits.max_base64_chars:,}"))
    return min(bounds) if bounds else None


def _carries_images(api: Api) -> bool:
    return api.protocol.name in _MEDIA and any("image" in m.capabilities for m in api.models.values())


def _size_skip(ctx: CheckContext, profile: Profile, limits: MediaLimits) -> str | None:
    """Why the oversize probes do not run here, or None."""
    if edge_size(limits) is None:
        return f"{profile.name} documents no image size limit"
    if ctx.target.kind == TargetKind.LIVE and not ctx.options.get("allow_large"):
        return "live budget: oversize probes disabled (set allow_large to send them)"
    first = next((a for a in profile.apis if _carries_images(a)), None)
    if first is not None and first is not ctx.api:
        return f"oversize probes run once per provider, on its {first.protocol.name} API"
    return None


def _size_probes(ctx: CheckContext, limits: MediaLimits) -> Iterator[Finding]:
    edge = edge_size(limits)
    assert edge is not None
    size, binding = edge
    for n, must_pass in ((size, True), (size + 1, False)):
        sample = requests.media_sample(ctx.api, "image", [data_url(requests.png_of_size(n))],
                                       seed=ctx.seed)
        ex = requests.call(ctx.probe, sample)
        chars = (n + 2) // 3 * 4
        what = f"a PNG of {n:,} bytes ({chars:,} base64 chars)"
        oversize = ctx.probe.operation(sample.endpoint, sample.model).endpoint.responses
        expected = 413 if 413 in oversize else None
        if must_pass and not 200 <= ex.status < 300:
            yield ctx.finding(f"{what}, exactly at the documented limit ({binding}), was refused "
                              f"with HTTP {ex.status}", exchange=ex)
        elif not must_pass and ex.status < 400:
            yield ctx.finding(f"{what}, one byte over the documented limit ({binding}), was "
                              f"accepted with HTTP {ex.status}", exchange=ex)
        elif not must_pass and ex.status >= 500:
            yield ctx.finding(f"{what}, one byte over the limit ({binding}), got a server error "
                              f"HTTP {ex.status} instead of {expected or 'a 4xx'}", exchange=ex)
        elif not must_pass and expected is not None and ex.status != expected:
            yield ctx.finding(f"{what}, one byte over the limit ({binding}), was refused with "
                              f"HTTP {ex.status}; the protocol documents {expected} for oversize",
                              severity=Severity.WARNING, exchange=ex)


def _count_probe(ctx: CheckContext, limits: MediaLimits) -> Iterator[Finding]:
    assert limits.max_count is not None
    n = limits.max_count + 1
    sample = requests.media_sample(ctx.api, "image", requests.images(n), seed=ctx.seed)
    ex = requests.call(ctx.probe, sample)
    if not 400 <= ex.status < 500:
        yield ctx.finding(f"{n} images in one request, one more than the documented max_count "
                          f"{limits.max_count}, answered HTTP {ex.status}; expected a 4xx",
                          exchange=ex)


@check(capability="limits", protocols=_MEDIA)
def media_limits(ctx: CheckContext) -> Iterator[Finding]:
    """An image exactly at the size limit passes, one byte over gets 413, too many get a 4xx."""
    limits = ctx.profile.limits.get("image")
    if limits is None or not _carries_images(ctx.api):
        raise Skip(f"{ctx.profile.name} {ctx.api.protocol.name}: no image input with "
                   "documented limits")
    reasons = []
    size_skip = _size_skip(ctx, ctx.profile, limits)
    if size_skip is None:
        yield from _size_probes(ctx, limits)
    else:
        reasons.append(size_skip)
    if limits.max_count is None:
        reasons.append("no documented image count limit")
    else:
        try:
            yield from _count_probe(ctx, limits)
        except requests.Unsupported as exc:
            reasons.append(str(exc))
    if len(reasons) == 2:  # neither probe ran: say why instead of passing
        raise Skip("; ".join(reasons))
