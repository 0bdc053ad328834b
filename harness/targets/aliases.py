"""Model aliases on the wire: requests carry the gateway's name, answers the documented one.

Gateways often serve a model under their own name (``minicpm`` for ``MiniCPM-V-4.6-Instruct``).
:class:`AliasTransport` sits under every network client: it rewrites the ``"model"`` member of
a JSON request body from the documented name to the alias, and the ``"model"`` members of the
answer (a JSON body, or each line of an event stream, as it arrives) back, so checks keep
comparing answers with the provider's documented model and never learn an alias was used.
Only the ``"model"`` member is touched (a prompt that mentions the model is left alone), and a
compressed answer is passed through as is: rewriting it would mean decoding it first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import cast

import httpx

_MODEL = rb'("model"\s*:\s*)"(%s)"'


def _rewriter(mapping: Mapping[str, str]) -> tuple[re.Pattern[bytes], dict[bytes, bytes]] | None:
    if not mapping:
        return None
    table = {k.encode(): v.encode() for k, v in mapping.items()}
    names = b"|".join(re.escape(k) for k in sorted(table, key=len, reverse=True))
    return re.compile(_MODEL % names), table


def _apply(rule: tuple[re.Pattern[bytes], dict[bytes, bytes]], data: bytes) -> bytes:
    pattern, table = rule
    return pattern.sub(lambda m: m.group(1) + b'"' + table[m.group(2)] + b'"', data)


class _Lines(httpx.SyncByteStream):
    """The answer's bytes rewritten line by line, so a stream stays a stream."""

    def __init__(self, inner: httpx.SyncByteStream,
                 rule: tuple[re.Pattern[bytes], dict[bytes, bytes]]) -> None:
        self.inner, self.rule = inner, rule

    def __iter__(self) -> Iterator[bytes]:
        pending = b""
        for chunk in self.inner:
            pending += chunk
            head, newline, pending = pending.rpartition(b"\n")
            if newline:
                yield _apply(self.rule, head + newline)
        if pending:
            yield _apply(self.rule, pending)

    def close(self) -> None:
        self.inner.close()


class AliasTransport(httpx.BaseTransport):
    """Maps documented model names to ``aliases`` on the way out and back on the way in."""

    def __init__(self, inner: httpx.BaseTransport, aliases: Mapping[str, str]) -> None:
        self.inner = inner
        self.out = _rewriter(aliases)
        self.back = _rewriter({alias: model for model, alias in aliases.items()})

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.out is None or self.back is None:
            return self.inner.handle_request(request)
        if "json" in request.headers.get("content-type", ""):
            body = request.read()
            new = _apply(self.out, body)
            if new != body:
                headers = httpx.Headers(request.headers)
                headers["content-length"] = str(len(new))
                request = httpx.Request(request.method, request.url, headers=headers, content=new,
                                        extensions=request.extensions)
        response = self.inner.handle_request(request)
        if response.headers.get("content-encoding", "identity") != "identity":
            return response
        headers = httpx.Headers(response.headers)
        headers.pop("content-length", None)  # the alias and the model differ in length
        stream = cast(httpx.SyncByteStream, response.stream)  # a sync transport's stream
        return httpx.Response(response.status_code, headers=headers,
                              stream=_Lines(stream, self.back), request=request,
                              extensions=response.extensions)
