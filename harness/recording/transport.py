"""The httpx transport of the cassette target: answers from a pool, or forwards and records.

:class:`ReplayTransport` turns each ``httpx.Request`` into a vcrpy ``Request``, asks the
provider's :class:`~harness.recording.cassettes.Pool` for the recorded answer and rebuilds it
as an ``httpx.Response`` (SSE bodies are handed out frame by frame, as a server sends them). It
has no network transport of its own: when the pool may record, a :class:`Forwarder` sends the
request through a client of the wrapped target (mock, url or live, built with the same auth and
headers the check asked for), reads the answer whole, as vcrpy's httpx stub does, and the pool
keeps the scrubbed copy; the check gets the real answer. Otherwise a miss raises
:class:`~harness.recording.match.CassetteMiss`.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
from vcr.request import Request

from harness.recording.cassettes import Pool
from harness.recording.scrub import Rebase, headers_of
from harness.secrets import CREDENTIAL_HEADERS, REDACTED

# Headers httpx sets itself for each request; forwarding the replay client's copy would clash.
_PER_REQUEST = frozenset({"host", "content-length", "transfer-encoding"})
_SSE_FRAME = re.compile(rb"(?<=\n\n)|(?<=\r\n\r\n)")


class _Frames(httpx.SyncByteStream):
    """A recorded body, handed out in SSE frames (or whole) like the server sent it."""

    def __init__(self, body: bytes, sse: bool) -> None:
        self.body, self.sse = body, sse

    def __iter__(self) -> Iterator[bytes]:
        if not self.sse:
            yield self.body
            return
        yield from (frame for frame in _SSE_FRAME.split(self.body) if frame)


def to_httpx(recorded: Mapping[str, Any], request: httpx.Request, key: str | None) -> httpx.Response:
    """A recorded vcrpy response as httpx hands it to a client.

    Where the recording redacted one of its own keys in the body or an ordinary header (a
    server echoing the key), ``key`` (the key this replay sent) is put back, so a recorded
    key leak is still a finding on replay.
    """
    body: bytes = recorded["body"]["string"] or b""
    if isinstance(body, str):
        body = body.encode()
    headers = headers_of(recorded["headers"])
    if key:
        body = body.replace(REDACTED.encode(), key.encode())
        headers = [(k, v.replace(REDACTED, key) if k.lower() not in CREDENTIAL_HEADERS else v)
                   for k, v in headers]
    message = recorded["status"].get("message")
    sse = any(k.lower() == "content-type" and v.startswith("text/event-stream") for k, v in headers)
    return httpx.Response(recorded["status"]["code"], headers=headers, stream=_Frames(body, sse),
                          request=request,
                          extensions={"reason_phrase": message.encode("ascii")} if message else {})


def vcr_request(request: httpx.Request, body: bytes) -> Request:
    return Request(request.method, str(request.url), body, dict(request.headers))


def serialise(response: httpx.Response, raw: bytes) -> dict[str, Any]:
    """An httpx response in vcrpy's cassette shape (as its httpx stub records it)."""
    headers: dict[str, list[str]] = defaultdict(list)
    for name, value in response.headers.multi_items():
        headers[name].append(value)
    return {"status": {"code": response.status_code, "message": response.reason_phrase},
            "headers": dict(headers), "body": {"string": raw}}


class Forwarder:
    """Sends replay-client requests through a client of the wrapped target, built on first use."""

    def __init__(self, make_client: Callable[[], httpx.Client], defaults: Mapping[str, str],
                 rebase: Rebase) -> None:
        self._make = make_client
        self._client: httpx.Client | None = None
        self.defaults = {k.lower(): v for k, v in defaults.items()}
        self.rebase = rebase

    def __call__(self, request: httpx.Request, body: bytes
                 ) -> tuple[httpx.Response, Request, dict[str, Any]]:
        """The wrapped target's answer (for the check) and the interaction to record."""
        client = self._client = self._client or self._make()
        # The wrapped client adds its own key, user agent and extra headers; only what this
        # request set itself (a content type, say) goes along.
        headers = {k: v for k, v in request.headers.items()
                   if k.lower() not in _PER_REQUEST and self.defaults.get(k.lower()) != v}
        sent = client.build_request(request.method, self.rebase.back(str(request.url)),
                                    content=body, headers=headers)
        response = client.send(sent, stream=True, follow_redirects=False)
        try:
            raw = b"".join(response.iter_raw())
        finally:
            response.close()
        # The check sees the answer as replay will serve it: the server's absolute URLs (fal's
        # status_url, WaveSpeed's urls.get, a Location) on the canonical base its client is on,
        # so it follows them now exactly as a live client follows them on the real base, and
        # the cassette holds what was followed. Unrebased, they would point off the client's
        # base, go unfollowed, and the recording would miss what a replay then asks for.
        # Decoded first (a gzip body hides its URLs); the length and encoding then change.
        plain = httpx.Response(200, headers=response.headers, content=raw).content
        rebased = [(k, self.rebase.text(v)) for k, v in response.headers.multi_items()
                   if k.lower() not in ("content-length", "content-encoding")]
        answer = httpx.Response(response.status_code, headers=rebased,
                                stream=httpx.ByteStream(self.rebase.bytes(plain)), request=request,
                                extensions={"reason_phrase": response.reason_phrase.encode("ascii")})
        return answer, vcr_request(sent, body), serialise(response, raw)

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


class ReplayTransport(httpx.BaseTransport):
    """Answers from ``pool``; forwards and records through ``forward`` when the pool may."""

    def __init__(self, pool: Pool, *, key: str | None, scenario: Callable[[], str],
                 forward: Forwarder | None = None) -> None:
        self.pool, self.key, self.scenario, self.forward = pool, key, scenario, forward

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        asked = vcr_request(request, body)
        recorded = self.pool.find(asked)
        if recorded is not None:
            return to_httpx(recorded, request, self.key)
        scenario = self.scenario()
        if self.forward is None or not self.pool.records(scenario):
            raise self.pool.miss(asked)
        answer, sent, serialised = self.forward(request, body)
        self.pool.add(scenario, sent, serialised)
        return answer

    def close(self) -> None:
        if self.forward is not None:
            self.forward.close()
