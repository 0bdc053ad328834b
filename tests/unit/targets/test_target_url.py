"""The url target against a served mock: same answers as the in-process mock, over sockets."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from harness import providers
from harness.errors import UsageError
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.serve import ServedMock
from harness.targets.base import TargetKind, TargetOptions, WebSocketClosed
from harness.targets.budget import BudgetExceeded
from harness.targets.clients import RedirectRefused
from harness.targets.mock import MockTarget
from harness.targets.url import UrlTarget

MODELBEST = providers.get("modelbest")
WAVESPEED = providers.get("wavespeed")
MIMO = providers.get("mimo")
REALTIME = MODELBEST.api("minicpm-o-realtime")
PLANTED = "sk-planted-0123456789abcdef"


@pytest.fixture(scope="module")
def served_mock() -> Iterator[ServedMock]:
    with ServedMock() as served:
        yield served


@pytest.fixture(scope="module")
def served(served_mock: ServedMock) -> str:
    return served_mock.url


def url_target(root: str, **options: Any) -> UrlTarget:
    return UrlTarget(TargetOptions(kind=TargetKind.URL, base_url=root, **options))


@pytest.fixture(scope="module")
def both(served: str) -> Iterator[tuple[MockTarget, UrlTarget]]:
    mock, url = MockTarget(), url_target(served)
    yield mock, url
    mock.close()
    url.close()


@pytest.fixture(autouse=True)
def no_real_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODELBEST_API_KEY", "WAVESPEED_API_KEY", "MIMO_API_KEY"):
        monkeypatch.delenv(name, raising=False)


REQUESTS = [
    (MODELBEST, "GET", "/models", None, True),
    (MODELBEST, "GET", "/models", None, False),
    (MODELBEST, "POST", "/chat/completions", {"model": "nope", "messages": []}, True),
    (WAVESPEED, "POST", "/api/v3/wavespeed-ai/minicpm-v/image", {"prompt": "no image"}, True),
    (WAVESPEED, "GET", "/api/v3/predictions/does-not-exist/result", None, True),
]


@pytest.mark.parametrize(("profile", "method", "path", "body", "auth"), REQUESTS)
def test_same_answers_as_the_in_process_mock(
        both: tuple[MockTarget, UrlTarget], profile: providers.Profile, method: str, path: str,
        body: Any, auth: bool) -> None:
    answers = []
    for target in both:
        with target.client(profile, profile.apis[0], auth=auth) as client:
            response = client.request(method, path, json=body)
        answers.append((response.status_code, response.headers["content-type"], response.json()))
    assert answers[0] == answers[1]


def test_wavespeed_job_through_the_served_mock(both: tuple[MockTarget, UrlTarget]) -> None:
    _, url = both
    with url.client(WAVESPEED, WAVESPEED.apis[0]) as client:
        submitted = client.post("/api/v3/wavespeed-ai/minicpm-v/image",
                                json={"image": "https://example.com/cat.png"})
        assert submitted.status_code == 200, submitted.text
        job = submitted.json()["data"]
        polled = client.get(job["urls"]["get"])  # an absolute URL on the same origin
    assert polled.status_code == 200 and polled.json()["data"]["id"] == job["id"]


def test_mock_layout_base_urls_and_key_fallback(served: str, monkeypatch: pytest.MonkeyPatch) -> None:
    target = url_target(served + "/")
    with target.client(MODELBEST, MODELBEST.apis[0]) as client:
        assert str(client.base_url) == f"{served}/modelbest/v1/"
        assert client.headers["authorization"] == f"Bearer {MOCK_KEY}"
    assert target.key(MIMO, MIMO.apis[0]) == MOCK_KEY
    monkeypatch.setenv("MIMO_API_KEY", PLANTED)
    assert target.key(MIMO, MIMO.apis[0]) == PLANTED
    assert PLANTED not in repr(target)
    keyed = UrlTarget(TargetOptions(kind=TargetKind.URL, base_url=served),
                      mock_config=MockConfig(keys={"wavespeed": "served-key"}))
    assert keyed.key(WAVESPEED, WAVESPEED.apis[0]) == "served-key"


def test_base_urls_are_the_ones_the_served_mock_advertises(served_mock: ServedMock) -> None:
    target = url_target(served_mock.url)
    for profile in providers.all_profiles():
        for api in profile.apis:
            if api.protocol.name.endswith("realtime"):
                continue  # advertised as ws://, opened by websocket() from the same base
            for host in api.base_urls:
                label = api.protocol.name if host == "default" else f"{api.protocol.name}:{host}"
                assert target.api_base(profile, api, host) == served_mock.base_url(profile.name, label)


def test_a_url_with_a_path_is_the_first_api_base_only() -> None:
    target = url_target("https://gw.example/v1/")
    assert target.skip_reason(MIMO, MIMO.api("openai-chat")) is None
    reason = target.skip_reason(MIMO, MIMO.api("anthropic-messages")) or ""
    assert "first API (openai-chat)" in reason
    with target.client(MIMO, MIMO.api("openai-chat")) as client:
        assert str(client.base_url) == "https://gw.example/v1/"


@pytest.mark.parametrize("bad", [None, "", "gw.example/v1", "ftp://gw.example"])
def test_a_missing_or_odd_url_is_a_usage_error(bad: str | None) -> None:
    with pytest.raises(UsageError, match="--vlm-base-url"):
        UrlTarget(TargetOptions(kind=TargetKind.URL, base_url=bad))


def test_request_budget_applies(served: str) -> None:
    target = url_target(served, max_requests=1)
    with target.client(MODELBEST, MODELBEST.apis[0]) as client:
        assert client.get("/models").status_code == 200
        with pytest.raises(BudgetExceeded, match="'modelbest'"):
            client.get("/models")
    target.close()


def test_realtime_session_over_a_socket(both: tuple[MockTarget, UrlTarget]) -> None:
    _, url = both
    with url.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"}) as session:
        assert session.receive_json()["type"] == "session.queue_done"
        with pytest.raises(TimeoutError):
            session.receive_json(timeout=0.05)
        session.send_json({"type": "session.close"})
        assert session.receive_json() == {"type": "session.closed", "reason": "stopped"}
        with pytest.raises(WebSocketClosed) as info:
            session.receive_json()
    assert info.value.code == 1000 and session.close_code == 1000


def test_realtime_close_codes_match_the_in_process_mock(both: tuple[MockTarget, UrlTarget]) -> None:
    codes = []
    for target in both:
        with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "bogus"}) as session:
            error = session.receive_json()["error"]["code"]
            with pytest.raises(WebSocketClosed):
                session.receive_json()
            codes.append((error, session.close_code))
    assert codes == [("invalid_payload", 1008)] * 2


def test_realtime_without_a_key_is_refused(both: tuple[MockTarget, UrlTarget]) -> None:
    statuses = []
    for target in both:
        with pytest.raises(WebSocketClosed) as info:
            with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"}, auth=False):
                pass
        statuses.append(info.value.status)
    assert statuses == [401, 401]


class _Redirect(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        self.wfile.write(b"HTTP/1.1 307 Temporary Redirect\r\nLocation: ws://elsewhere.invalid/x\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")


def test_realtime_redirect_to_another_host_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MODELBEST_API_KEY", PLANTED)
    with socketserver.TCPServer(("127.0.0.1", 0), _Redirect) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        target = url_target(f"http://127.0.0.1:{server.server_address[1]}")
        try:
            with pytest.raises(RedirectRefused, match=r"elsewhere\.invalid") as info:
                with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"}):
                    pass
        finally:
            server.shutdown()
    assert PLANTED not in str(info.value)


def test_a_dropped_session_ends_with_1006_on_both_targets(both: tuple[MockTarget, UrlTarget]) -> None:
    ends = []
    for target in both:
        with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"},
                              headers={"x-harness-fault": "ws-drop=1"}) as session:
            assert session.receive_json()["type"] == "session.queue_done"
            with pytest.raises(WebSocketClosed) as info:
                session.receive_json()
            ends.append((info.value.code, session.close_code))
    assert ends == [(1006, 1006)] * 2


def test_a_refused_handshake_looks_the_same_on_both_targets(both: tuple[MockTarget, UrlTarget]) -> None:
    refusals = []
    for target in both:  # a fault spec the mock cannot parse: refused, whatever the status
        with pytest.raises(WebSocketClosed) as info:
            with target.websocket(MODELBEST, REALTIME, "/realtime", {"mode": "chat"},
                                  headers={"x-harness-fault": "no-such-fault=1"}):
                pass
        refusals.append((info.value.status, info.value.code))
    assert refusals[0] == refusals[1] and refusals[0][0] is not None
