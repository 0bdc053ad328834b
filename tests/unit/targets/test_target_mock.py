"""The mock target: in-process clients and WebSockets under each API's mock prefix."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from harness import providers
from harness.mock.config import MOCK_KEY, MockConfig
from harness.targets.base import TargetOptions, WebSocketClosed
from harness.targets.mock import MockTarget

MODELBEST = providers.get("modelbest")
WAVESPEED = providers.get("wavespeed")
REALTIME = MODELBEST.api("minicpm-o-realtime")
IMAGE = "https://example.com/cat.png"


@pytest.fixture(scope="module")
def target() -> Iterator[MockTarget]:
    tgt = MockTarget(TargetOptions(timeout_s=9.0))
    yield tgt
    tgt.close()


def test_models_list_for_modelbest(target: MockTarget) -> None:
    with target.client(MODELBEST, MODELBEST.apis[0]) as client:
        assert str(client.base_url) == "http://mock.invalid/modelbest/v1/"
        assert client.timeout.read == 9.0
        response = client.get("/models")
    assert response.status_code == 200
    ids = {m["id"] for m in response.json()["data"]}
    assert ids == set(MODELBEST.apis[0].models)


def test_wavespeed_submit_then_poll_through_other_clients(target: MockTarget) -> None:
    api = WAVESPEED.apis[0]
    with target.client(WAVESPEED, api) as client:
        submitted = client.post("/api/v3/wavespeed-ai/minicpm-v/image",
                                json={"image": IMAGE, "enable_sync_mode": False})
    assert submitted.status_code == 200, submitted.text
    job = submitted.json()["data"]
    with target.client(WAVESPEED, api) as client:  # the app outlives the first client
        polled = client.get(f"/api/v3/predictions/{job['id']}/result")
    assert polled.status_code == 200 and polled.json()["data"]["id"] == job["id"]


def test_auth_false_sends_no_key_and_gets_401(target: MockTarget) -> None:
    with target.client(MODELBEST, MODELBEST.apis[0], auth=False) as client:
        assert "authorization" not in client.headers
        response = client.get("/models")
    assert response.status_code == 401
    assert MOCK_KEY not in response.text


def test_configured_keys_are_the_ones_sent() -> None:
    tgt = MockTarget(mock_config=MockConfig(keys={"modelbest": "per-provider-key"}))
    try:
        assert tgt.key(MODELBEST, MODELBEST.apis[0]) == "per-provider-key"
        assert tgt.key(WAVESPEED, WAVESPEED.apis[0]) == MOCK_KEY
        with tgt.client(MODELBEST, MODELBEST.apis[0]) as client:
            assert client.get("/models").status_code == 200
        assert "per-provider-key" not in repr(tgt)
    finally:
        tgt.close()


def test_never_opens_a_socket(target: MockTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the mock target opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    with target.client(MODELBEST, MODELBEST.apis[0]) as client:
        assert client.get("/models").status_code == 200
    with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"}) as session:
        assert session.receive_json()["type"] == "session.queue_done"


def test_realtime_session_ends_with_a_close_code(target: MockTarget) -> None:
    with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"}) as session:
        assert session.receive_json()["type"] == "session.queue_done"
        with pytest.raises(TimeoutError):
            session.receive_json(timeout=0.05)  # nothing comes before an init event
        session.send_json({"type": "session.close"})
        assert session.receive_json() == {"type": "session.closed", "reason": "stopped"}
        with pytest.raises(WebSocketClosed) as info:
            session.receive_json()
        assert info.value.code == 1000 and session.close_code == 1000
        with pytest.raises(WebSocketClosed):  # and stays closed
            session.receive_json()


def test_realtime_bad_mode_closes_with_1008(target: MockTarget) -> None:
    with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "bogus"}) as session:
        assert session.receive_json()["error"]["code"] == "invalid_payload"
        with pytest.raises(WebSocketClosed):
            session.receive_json()
        assert session.close_code == 1008


def test_realtime_without_a_key_is_refused_with_401(target: MockTarget) -> None:
    with pytest.raises(WebSocketClosed) as info:
        with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"}, auth=False):
            pass
    assert info.value.status == 401 and info.value.code is None


def test_client_side_close_is_recorded(target: MockTarget) -> None:
    with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"}) as session:
        session.receive_json()
        session.close(4000)
        assert session.close_code == 4000
