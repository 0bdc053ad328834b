"""The in-process WebSocket session against tiny apps: refusals, stalls and odd frames."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import anyio
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from harness.targets import ws
from harness.targets.base import WebSocketClosed


async def returns_without_answering(websocket: WebSocket) -> None:
    return None


async def stalls(websocket: WebSocket) -> None:
    await anyio.sleep(30)


async def bytes_then_close(websocket: WebSocket) -> None:
    await websocket.accept()
    await websocket.send_bytes(b'{"type": "hello"}')
    await websocket.close(4001, "bye")


@pytest.fixture
def runner() -> Iterator[Callable[[Callable[[WebSocket], Awaitable[None]]], TestClient]]:
    started: list[TestClient] = []

    def start(endpoint: Callable[[WebSocket], Awaitable[None]]) -> TestClient:
        app = Starlette(routes=[WebSocketRoute("/ws", endpoint)])
        client = TestClient(ws.answered_handshakes(app, timeout_s=0.2))
        client.__enter__()
        started.append(client)
        return client

    yield start
    for client in started:
        client.__exit__(None, None, None)


@pytest.mark.parametrize(("endpoint", "status"), [(returns_without_answering, 500), (stalls, 504)])
def test_an_unanswered_handshake_is_refused_not_hung(
        runner: Callable[..., TestClient], endpoint: Callable[[WebSocket], Awaitable[None]],
        status: int) -> None:
    with pytest.raises(WebSocketClosed) as info:
        with ws.in_process(runner(endpoint), "ws://testserver/ws", {}):
            pass
    assert info.value.status == status and "handshake" in str(info.value)


def test_binary_json_frames_and_custom_close_codes(runner: Callable[..., TestClient]) -> None:
    with ws.in_process(runner(bytes_then_close), "ws://testserver/ws", {}) as session:
        assert session.receive_json() == {"type": "hello"}
        with pytest.raises(WebSocketClosed, match="4001") as info:
            session.receive_json()
    assert (info.value.code, info.value.reason, session.close_code) == (4001, "bye", 4001)


def test_ws_url_keeps_secure_schemes_and_encodes_the_query() -> None:
    assert ws.ws_url("https://h/v1/", "/realtime", {"mode": "chat"}) == "wss://h/v1/realtime?mode=chat"
    assert ws.ws_url("wss://h/v1", "/realtime", {}) == "wss://h/v1/realtime"
    assert ws.ws_url("http://h", "/r", {"a": "b c"}) == "ws://h/r?a=b+c"


def test_a_refusal_body_echoing_the_key_is_scrubbed(
        runner: Callable[..., TestClient], monkeypatch: pytest.MonkeyPatch) -> None:
    planted = "sk-planted-0123456789abcdef"
    monkeypatch.setenv("MIMO_API_KEY", planted)

    async def echoes_the_key(websocket: WebSocket) -> None:
        await websocket.send_denial_response(PlainTextResponse(f"bad key {planted}", 401))

    with pytest.raises(WebSocketClosed) as info:
        with ws.in_process(runner(echoes_the_key), "ws://testserver/ws", {}):
            pass
    assert info.value.status == 401 and "bad key" in str(info.value)
    assert planted not in str(info.value) and planted not in info.value.reason
