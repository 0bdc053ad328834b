"""Exchanges: one request and its answer, as the checks see it, and the probe that makes them.

A :class:`Probe` sends requests for one provider API through a target's client (so it works on
every target alike), parses SSE streams into events, times each call and records an
:class:`Exchange`. Exchanges know which schema the protocol promises for the status received,
and render a scrubbed, media-free excerpt for findings and reports. On a two-sided target (the
gateway's) an exchange also carries the upstream requests made for it, read from the journal.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from harness.errors import UsageError
from harness.journal import Entry
from harness.providers import Api, Operation, Profile
from harness.secrets import Scrubber
from harness.targets.base import Target

EXCERPT_CHARS = 600
_B64_RUN = re.compile(r"[A-Za-z0-9+/]{120,}={0,2}")


@dataclass(frozen=True, slots=True)
class SseEvent:
    event: str | None
    data: str

    def json(self) -> Any:
        return json.loads(self.data)


@dataclass(frozen=True, slots=True)
class Exchange:
    provider: str
    protocol: str
    endpoint: str
    method: str
    url: str
    request_json: Any
    status: int
    headers: Mapping[str, str]
    body: bytes
    latency_ms: float
    streamed: bool = False
    events: tuple[SseEvent, ...] = ()
    response_schema: str | None = None
    stream_schema: str | None = None
    documented: tuple[int, ...] = ()
    # On the gateway target: the requests the upstream mock received for this one, oldest first.
    upstream: tuple[Entry, ...] = ()

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";")[0].strip().lower()

    @property
    def request_id(self) -> str:
        return self.headers.get("x-request-id") or self.headers.get("request-id") or ""

    def json(self) -> Any:
        """The parsed body, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None

    def excerpt(self, scrubber: Scrubber) -> str:
        req = "" if self.request_json is None else json.dumps(self.request_json, ensure_ascii=False)
        body = self.body.decode("utf-8", "replace")
        lines = [f"{self.method} {scrubber.url(self.url)}", _short(req), f"-> {self.status}",
                 _short(body)]
        return scrubber.text("\n".join(x for x in lines if x))


def _short(text: str) -> str:
    # Media payloads are replaced by their length so excerpts stay readable and small.
    text = _B64_RUN.sub(lambda m: f"<base64 {len(m.group(0))} chars>", text)
    return text if len(text) <= EXCERPT_CHARS else f"{text[:EXCERPT_CHARS]}... ({len(text)} chars)"


def parse_sse(raw: bytes) -> tuple[SseEvent, ...]:
    """SSE frames (``event:`` / ``data:`` lines separated by a blank line)."""
    events: list[SseEvent] = []
    for frame in re.split(r"\r?\n\r?\n", raw.decode("utf-8", "replace")):
        name, data = None, []
        for line in frame.splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
        if name is not None or data:
            events.append(SseEvent(name, "\n".join(data)))
    return tuple(events)


@dataclass
class Probe:
    """Sends requests for one provider API through a target and records what came back."""

    target: Target
    profile: Profile
    api: Api
    exchanges: list[Exchange] = field(default_factory=list)

    def operation(self, endpoint: str, model: str | None = None) -> Operation:
        ops = [op for op in self.api.operations() if op.endpoint.name == endpoint
               and (model is None or op.model is None or op.model.id == model)]
        if not ops:
            known = sorted({op.key for op in self.api.operations()})
            raise UsageError(f"{self.profile.name}: no operation {endpoint!r} "
                             f"(model {model!r}); known: {', '.join(known)}")
        return ops[0]

    def call(self, endpoint: str, *, model: str | None = None, json_body: Any = None,
             path_params: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
             content: bytes | None = None, stream: bool = False, auth: bool = True,
             headers: Mapping[str, str] | None = None, url: str | None = None) -> Exchange:
        """Call ``endpoint`` (``url`` overrides the path, e.g. a status URL a server gave us)."""
        op = self.operation(endpoint, model)
        path = op.path.format(**(path_params or {})) if path_params else op.path
        client = self.target.client(self.profile, self.api, op.endpoint.host, auth=auth,
                                    headers=headers)
        # A two-sided target (gateway) says what its upstream received for this request.
        mark = getattr(self.target, "upstream_mark", None)
        since = mark() if mark else 0
        started = time.perf_counter()
        with client:
            request = client.build_request(
                op.endpoint.method, url or path, params=params,
                json=json_body if content is None else None, content=content)
            response = client.send(request, stream=True)
            try:
                body = response.read()
            finally:
                response.close()
        latency = (time.perf_counter() - started) * 1000
        upstream_of = getattr(self.target, "upstream_of", None)
        upstream = upstream_of(request, since) if upstream_of else ()
        is_sse = response.headers.get("content-type", "").startswith("text/event-stream")
        ex = Exchange(
            provider=self.profile.name, protocol=self.api.protocol.name, endpoint=op.key,
            method=op.endpoint.method, url=str(request.url), request_json=json_body,
            status=response.status_code, headers=dict(response.headers), body=body,
            latency_ms=latency, streamed=stream or is_sse,
            events=parse_sse(body) if is_sse else (),
            response_schema=op.endpoint.responses.get(response.status_code),
            stream_schema=op.endpoint.stream,
            documented=tuple(sorted(op.endpoint.responses)), upstream=upstream)
        self.exchanges.append(ex)
        return ex
