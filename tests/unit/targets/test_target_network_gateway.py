"""Routing headers and model aliases, applied once for every network target.

A stand-in gateway (an httpx transport in front of the in-process reference mock) refuses a
request without its routing header, serves ``MiniCPM-V-4.6-Instruct`` only as ``minicpm`` and
answers with its own name; the whole suite must run clean through it and the checks must see
the documented model, while the gateway saw only the alias.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from harness import engine, providers
from harness.mock.app import build_app
from harness.mock.transport import httpx_sync_transport
from harness.targets import clients
from harness.targets.aliases import AliasTransport
from harness.targets.endpoints import target_options
from harness.targets.url import UrlTarget

MODEL, ALIAS = b'"MiniCPM-V-4.6-Instruct"', b'"minicpm"'


class Gateway(httpx.BaseTransport):
    def __init__(self) -> None:
        self.mock = httpx_sync_transport(build_app())
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        if request.headers.get("x-gw-route") != "modelbest":
            return httpx.Response(400, json={"error": {"message": "no route", "type": "gw"}})
        body = request.read()
        if MODEL in body:
            return httpx.Response(400, json={"error": {"message": "unknown model", "type": "gw"}})
        upstream = self.mock.handle_request(httpx.Request(
            request.method, request.url, headers=[h for h in request.headers.raw
                                                  if h[0].lower() != b"content-length"],
            content=body.replace(ALIAS, MODEL)))
        content = upstream.read().replace(MODEL, ALIAS)
        headers = [h for h in upstream.headers.raw if h[0].lower() != b"content-length"]
        return httpx.Response(upstream.status_code, headers=headers, content=content)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Gateway]:
    gw = Gateway()
    monkeypatch.setattr(clients, "network_transport", lambda base: gw)
    yield gw


def test_the_suite_runs_clean_through_a_gateway_with_headers_and_aliases(gateway: Gateway) -> None:
    target = UrlTarget(target_options(kind="url", base_url="http://gw.test",
                                      header=["openai-chat:x-gw-route=modelbest"],
                                      model=["MiniCPM-V-4.6-Instruct=minicpm"]))
    try:
        result = engine.run(engine.Plan(target=target, provider_spec="modelbest",
                                        check_spec="text,image,stream-equals-non-stream,"
                                        "response-schema-conformance"))
    finally:
        target.close()
    assert result.errors == () and any(c.outcome.value == "pass" for c in result.cases)
    chat = [r for r in gateway.seen if r.url.path.endswith("/chat/completions")]
    assert chat and all(r.headers["x-gw-route"] == "modelbest" for r in chat)
    sent = b"".join(r.content for r in chat)
    assert ALIAS in sent and MODEL not in sent  # only the alias went out


def test_without_the_header_the_gateway_refuses(gateway: Gateway) -> None:
    target = UrlTarget(target_options(kind="url", base_url="http://gw.test"))
    profile = providers.get("modelbest")
    with target.client(profile, profile.api("openai-chat")) as client:
        assert client.post("/chat/completions", json={}).status_code == 400
    target.close()


def test_a_header_scoped_to_another_api_is_not_sent_and_caller_headers_win(gateway: Gateway) -> None:
    target = UrlTarget(target_options(kind="url", base_url="http://gw.test",
                                      header=["anthropic-messages:x-only=1", "x-gw-route=nope"]))
    profile = providers.get("modelbest")
    with target.client(profile, profile.api("openai-chat"),
                       headers={"x-gw-route": "modelbest"}) as client:
        client.get("/models")
    assert "x-only" not in gateway.seen[-1].headers
    assert gateway.seen[-1].headers["x-gw-route"] == "modelbest"
    target.close()


def test_streams_are_mapped_back_line_by_line_even_when_split_mid_name() -> None:
    chunks = [b'data: {"model": "mini', b'cpm", "x": 1}\n\ndata: {"model":"minicpm"}\n\n',
              b"data: [DONE]\n\n"]

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.read() == b'{"model":"minicpm","messages":"minicpm"}'
        return httpx.Response(200, headers={"content-type": "text/event-stream"},
                              stream=_Chunks(chunks))

    transport = AliasTransport(httpx.MockTransport(handler), {"MiniCPM-V-4.6-Instruct": "minicpm"})
    with httpx.Client(transport=transport) as client:
        text = client.post("http://gw/x", json={"model": "MiniCPM-V-4.6-Instruct",
                                                 "messages": "minicpm"}).text
    assert text.count('"MiniCPM-V-4.6-Instruct"') == 2 and "minicpm" not in text


class _Chunks(httpx.SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


def test_websocket_handshakes_carry_the_routing_headers(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.targets import ws

    sent: list[dict[str, str]] = []
    monkeypatch.setattr(ws, "over_socket", lambda url, headers, timeout: sent.append(headers))
    target = UrlTarget(target_options(kind="url", base_url="http://gw.test",
                                      header=["minicpm-o-realtime:x-gw-route=realtime",
                                              "openai-chat:x-other=1", "x-all=1"]))
    profile = providers.get("modelbest")
    target.websocket(profile, profile.api("minicpm-o-realtime"), "/realtime", {})
    assert sent[0]["x-gw-route"] == "realtime" and sent[0]["x-all"] == "1"
    assert "x-other" not in sent[0]
    target.close()
