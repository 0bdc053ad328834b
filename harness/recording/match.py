"""Request matchers for cassettes, and the error a replay miss raises.

Cassettes hold requests in the canonical mock layout (``http://mock.invalid/{provider}[/{host}]
{documented base}`` + the path relative to the API base; see :mod:`harness.recording.scrub`),
so matching never looks at the origin: a request matches a recorded one when its **method**,
**path**, **query** (credential parameters by kind only), **body** (JSON parsed, keys sorted,
media replaced by the same placeholders as when recording, so a replayed 10 MB image matches
its digest), **auth** (no key, our key, or which other key) and **harness_headers**
(``x-harness-*``, which make the mock answer differently) agree. Each matcher is a vcrpy
matcher: a two-argument function that raises ``AssertionError`` with a diff, usable with
``vcr.VCR(match_on=...)``. :func:`key` is all of them at once as a hashable value, which is how
replay finds a match without comparing every pair; :class:`CassetteMiss` lists the closest
recorded requests and the matchers each failed, as vcrpy's own miss error does.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from vcr.matchers import get_matchers_results
from vcr.request import Request

from harness.errors import HarnessError
from harness.recording.scrub import (
    MATCH_THRESHOLD,
    credential,
    json_body,
    media_placeholder,
    walk_strings,
)
from harness.secrets import CREDENTIAL_HEADERS, CREDENTIAL_PARAMS, Scrubber

SHOWN = 3  # closest recorded requests listed in a miss
DIFF_LINES = 16
_CACHE = "_vlmh_match"  # the normalised parts, kept on the vcr Request they describe


@dataclass(frozen=True, slots=True)
class Parts:
    """What matching compares, normalised once per request."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: str
    auth: tuple[tuple[str, str], ...]
    harness_headers: tuple[tuple[str, str], ...]


def _raw(request: Request) -> bytes:
    body = request.body
    if body is None:
        return b""
    if hasattr(body, "read"):
        body = body.read()
    return body.encode() if isinstance(body, str) else bytes(body)


def normalised_body(body: bytes) -> str:
    """JSON bodies parsed, media (from :data:`MATCH_THRESHOLD` characters on) replaced by its
    placeholder, keys sorted; anything else as text (or its size, when it is binary)."""
    data = json_body(body)
    if data is None:
        try:
            return body.decode()
        except UnicodeDecodeError:
            return f"<{len(body)} bytes of binary data>"
    data, _ = walk_strings(data, lambda s: media_placeholder(s, MATCH_THRESHOLD))
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1)


def parts(request: Request, own: Iterable[str] | None = None) -> Parts:
    """The normalised parts of ``request``, computed once; ``own`` are the keys the sender
    counts as its own (the cassette target's replay key), shown as ``<REDACTED>`` like the
    recording's own keys; by default the keys in the environment."""
    cached = getattr(request, _CACHE, None)
    if cached is not None:
        return cached
    own = Scrubber.from_env().secrets if own is None else tuple(own)
    headers = {k.lower(): v for k, v in request.headers.items()}
    result = Parts(
        method=request.method.upper(),
        path=request.path or "/",
        query=tuple(sorted((k, credential(v, own) if k.lower() in CREDENTIAL_PARAMS else v)
                           for k, v in parse_qsl(request.parsed_uri.query, keep_blank_values=True))),
        body=normalised_body(_raw(request)),
        auth=tuple(sorted((k, credential(v, own)) for k, v in headers.items()
                          if k in CREDENTIAL_HEADERS)),
        harness_headers=tuple(sorted((k, v) for k, v in headers.items() if k.startswith("x-harness-"))))
    setattr(request, _CACHE, result)
    return result


def key(request: Request, own: Iterable[str] | None = None) -> Parts:
    """Every matcher at once: two requests match exactly when their keys are equal."""
    return parts(request, own)


def _differ(name: str, new: Any, recorded: Any) -> None:
    if new != recorded:
        raise AssertionError(f"{name} {new!r} != recorded {recorded!r}")


def method(r1: Request, r2: Request) -> None:
    _differ("method", parts(r1).method, parts(r2).method)


def path(r1: Request, r2: Request) -> None:
    """The path in the canonical layout: API identity + the path relative to the API base."""
    _differ("path", parts(r1).path, parts(r2).path)


def query(r1: Request, r2: Request) -> None:
    _differ("query", dict(parts(r1).query), dict(parts(r2).query))


def auth(r1: Request, r2: Request) -> None:
    """Which credential headers were sent, and whether each carried our key or another."""
    _differ("credentials", dict(parts(r1).auth) or "none", dict(parts(r2).auth) or "none")


def harness_headers(r1: Request, r2: Request) -> None:
    _differ("x-harness headers", dict(parts(r1).harness_headers), dict(parts(r2).harness_headers))


def body(r1: Request, r2: Request) -> None:
    """The normalised body; the failure shows a unified diff, recorded first."""
    new, recorded = parts(r1).body, parts(r2).body
    if new == recorded:
        return
    diff = list(difflib.unified_diff(recorded.splitlines(), new.splitlines(), "recorded",
                                     "this request", n=1, lineterm=""))
    shown = [line if len(line) <= 160 else line[:160] + "…" for line in diff[:DIFF_LINES]]
    if len(diff) > DIFF_LINES:
        shown.append(f"… ({len(diff) - DIFF_LINES} more lines)")
    raise AssertionError("\n".join(shown))


Matcher = Callable[[Request, Request], None]
MATCH_ON: tuple[Matcher, ...] = (method, path, query, body, auth, harness_headers)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One recorded request and where it lives (for messages)."""

    request: Request
    cassette: Path
    index: int


def closest(request: Request, recorded: Iterable[Recorded], matchers: Sequence[Matcher] = MATCH_ON,
            n: int = SHOWN) -> list[tuple[Recorded, list[tuple[str, str]]]]:
    """The ``n`` recorded requests failing the fewest matchers (among those, the most similar
    bodies first), with those failures."""
    scored = []
    body_of = parts(request).body
    for order, rec in enumerate(recorded):
        _, failed = get_matchers_results(request, rec.request, matchers)
        similar = difflib.SequenceMatcher(None, body_of, parts(rec.request).body).quick_ratio()
        scored.append((len(failed), -similar, order, rec, failed))
    scored.sort(key=lambda t: t[:3])
    return [(rec, failed) for *_, rec, failed in scored[:n]]


def _preview(request: Request) -> str:
    text = re.sub(r"\n\s*", " ", parts(request).body)
    return text if len(text) <= 200 else f"{text[:200]}… ({len(text)} characters)"


class CassetteMiss(HarnessError):
    """No recorded interaction matches a request on a replay-only cassette target."""

    def __init__(self, request: Request, provider: str, folder: Path, searched: Sequence[Recorded],
                 *, hint: str = "") -> None:
        self.request, self.provider = request, provider
        self.similar = closest(request, searched)
        p = parts(request)
        lines = [f"no recorded interaction for {p.method} {p.path}"
                 + (f"?{'&'.join(f'{k}={v}' for k, v in p.query)}" if p.query else "")
                 + f" ({provider})"]
        if p.body:
            lines.append(f"  body: {_preview(request)}")
        files = sorted({r.cassette.name for r in searched})
        lines.append(f"searched {len(searched)} interaction(s) in {len(files)} cassette(s) under "
                     f"{folder}" + (f": {', '.join(files)}" if files else ""))
        if self.similar:
            lines.append("closest recorded requests:")
        for number, (rec, failed) in enumerate(self.similar, start=1):
            rp = parts(rec.request)
            lines.append(f"  {number}. {rec.cassette.name} #{rec.index}: {rp.method} {rp.path}")
            for name, message in failed:
                detail = (message or "").strip()
                if "\n" in detail:
                    lines.append(f"     {name} differs:")
                    lines.extend(f"       {line}" for line in detail.splitlines())
                else:
                    lines.append(f"     {name} differs: {detail}")
        lines.append(hint or (f"if the request changed on purpose, record again: vlm-harness record "
                              f"--target mock --provider {provider}"))
        super().__init__("\n".join(lines))


__all__ = ["MATCH_ON", "CassetteMiss", "Parts", "Recorded", "auth", "body", "closest",
           "harness_headers", "key", "method", "normalised_body", "parts", "path",
           "query"]
