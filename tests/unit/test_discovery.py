"""Preflight and capability discovery on servers we do not control (url and local targets)."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from harness import engine
from harness.errors import ExitCode, TargetUnreachable
from harness.mock.serve import ServedMock
from harness.report.results import Outcome, RunResult
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.local import LocalTarget
from harness.targets.url import UrlTarget

ANSWER = {"id": "c1", "object": "chat.completion", "created": 1, "model": "tiny",
          "choices": [{"index": 0, "message": {"role": "assistant", "content": "Waves."},
                       "finish_reason": "stop"}]}


class TextOnly(BaseHTTPRequestHandler):
    """A chat server without vision: it refuses image parts with a 400, as vLLM does for a
    text-only model; it counts requests so a test can see what discovery sent."""

    seen: list[str] = []

    def log_message(self, *args: object) -> None:  # quiet under pytest
        pass

    def _send(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("content-type", kind)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self.seen.append(f"GET {self.path}")
        if self.path == "/v1/models":
            self._send(200, b'{"object": "list", "data": [{"id": "tiny", "object": "model"}]}')
        else:
            self._send(404, b'{"error": {"message": "not found"}}')

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["content-length"])) or b"{}")
        self.seen.append(f"POST {self.path} {'image' if 'image_url' in json.dumps(body) else ''}")
        if self.path != "/v1/chat/completions":
            self._send(404, b'{"error": {"message": "not found"}}')
        elif "image_url" in json.dumps(body):
            self._send(400, b'{"error": {"message": "this model does not take images", '
                       b'"type": "invalid_request_error"}}')
        elif not body.get("messages"):
            self._send(400, b'{"error": {"message": "messages is required"}}')
        else:
            self._send(200, json.dumps(ANSWER).encode())


@pytest.fixture
def text_only() -> Iterator[str]:
    TextOnly.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), TextOnly)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _run(target: LocalTarget | UrlTarget, checks: str, provider: str = "local",
         capabilities: frozenset[str] | None = None) -> RunResult:
    try:
        return engine.run(engine.Plan(target=target, provider_spec=provider, check_spec=checks,
                                      capabilities=capabilities))
    finally:
        target.close()


def local(url: str) -> LocalTarget:
    return LocalTarget(TargetOptions(kind=TargetKind.LOCAL, base_url=url, timeout_s=5))


def test_an_unreachable_server_is_one_error_naming_the_url_and_cause() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed when the block ends: nothing listens there
    with pytest.raises(TargetUnreachable) as caught:
        _run(local(f"http://127.0.0.1:{port}/v1"), "text,image")
    assert f"no answer from http://127.0.0.1:{port}/v1/" in str(caught.value)
    assert "ConnectError" in str(caught.value)
    assert caught.value.exit_code == ExitCode.UNREACHABLE


def test_a_wrong_base_url_is_named_before_any_check_passes_on_a_404(
        served_mock: ServedMock) -> None:
    target = UrlTarget(TargetOptions(kind=TargetKind.URL,
                                     base_url=f"{served_mock.url}/modelbest/v2"))
    with pytest.raises(TargetUnreachable, match="every documented route answered 404") as caught:
        _run(target, "bad-input-errors", provider="modelbest")
    assert "/modelbest/v2/models" in str(caught.value)
    assert "/modelbest/v2/chat/completions" in str(caught.value)


def test_the_served_mock_passes_the_preflight_and_offers_everything(
        served_mock: ServedMock) -> None:
    result = _run(UrlTarget(TargetOptions(kind=TargetKind.URL, base_url=served_mock.url)),
                  "text,image,multi-image,sse-framing", provider="modelbest")
    assert {c.outcome for c in result.cases if c.check != "documented-status"} == {Outcome.PASS}


def test_a_text_only_server_has_images_marked_not_offered_with_the_evidence(
        text_only: str) -> None:
    result = _run(local(text_only), "text,image,multi-image")
    by_check = {c.check: c for c in result.cases}
    assert by_check["text"].outcome is Outcome.PASS
    for name in ("image", "multi-image"):
        assert by_check[name].outcome is Outcome.NOT_OFFERED
        assert by_check[name].reason == (
            "capability discovery: a tiny image request: POST /v1/chat/completions answered "
            'HTTP 400: {"error": {"message": "this model does not take images", '
            '"type": "invalid_request_error"}}')
    assert sum("image" in line for line in TextOnly.seen) == 1  # one probe, no check ran


def test_forced_capabilities_replace_discovery(text_only: str) -> None:
    result = _run(local(text_only), "text,image", capabilities=frozenset({"text"}))
    image = next(c for c in result.cases if c.check == "image")
    assert image.outcome is Outcome.NOT_OFFERED
    assert image.reason == "not in --capabilities (text)"
    assert not any("image" in line for line in TextOnly.seen)  # nothing probed


def test_discovery_proves_nothing_when_text_fails_too(text_only: str,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(TextOnly, "do_POST", lambda self: self._send(500, b"{}"))
    result = _run(local(text_only), "text,image")
    assert {c.check: c.outcome for c in result.cases}["image"] is Outcome.FAIL


def test_a_connection_dropped_during_discovery_leaves_the_verdict_to_the_check(
        text_only: str, monkeypatch: pytest.MonkeyPatch) -> None:
    answer = TextOnly.do_POST

    def drop_images(self: TextOnly) -> None:
        if "image_url" in self.rfile.peek().decode("utf-8", "replace"):
            self.close_connection = True  # read nothing, answer nothing: the client sees EOF
            return
        answer(self)

    monkeypatch.setattr(TextOnly, "do_POST", drop_images)
    result = _run(local(text_only), "text,image")  # before: the dropped probe ended the run
    by_check = {c.check: c for c in result.cases}
    assert by_check["text"].outcome is Outcome.PASS
    assert by_check["image"].outcome is Outcome.FAIL  # judged by the check, not "not offered"
