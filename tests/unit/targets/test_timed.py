"""No wait without a deadline: servers that accept and never answer, or trickle forever.

Each server here is a raw loopback socket doing the worst thing a server can do to a client
that only bounds the gap between bytes. The request timeout must bound the whole exchange,
the check budget must bound a check's many requests, and the run goes on to the next case.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest

from harness import deadlines, engine, providers
from harness.deadlines import Deadline, DeadlineExceeded
from harness.errors import TargetUnreachable
from harness.report.results import Outcome
from harness.targets import clients, ws
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.local import LocalTarget

Behaviour = Callable[[socket.socket], None]
SSE_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\n"


def silent(conn: socket.socket) -> None:
    """Accept, read the request, never answer."""
    conn.recv(65536)
    time.sleep(30)


def _models_first(behaviour: Behaviour) -> Behaviour:
    """``behaviour`` for chat requests; ``GET /v1/models`` (the preflight) answered at once."""

    def serve(conn: socket.socket) -> None:
        head = conn.recv(65536, socket.MSG_PEEK)
        if head.startswith(b"GET /v1/models"):
            conn.recv(65536)
            body = b'{"object": "list", "data": []}'
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                         b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            return
        behaviour(conn)

    return serve


def trickle_body(conn: socket.socket) -> None:
    """Answer a head at once, then one body byte a second, forever."""
    conn.recv(65536)
    conn.sendall(SSE_HEAD)
    while True:
        conn.sendall(b":")
        time.sleep(1)


def trickle_head(conn: socket.socket) -> None:
    """Even the status line arrives one byte a second."""
    conn.recv(65536)
    for byte in SSE_HEAD * 100:
        conn.sendall(bytes([byte]))
        time.sleep(1)


@pytest.fixture
def server() -> Iterator[Callable[[Behaviour], str]]:
    """``server(behaviour)`` -> base URL of a loopback socket running ``behaviour`` per
    connection; connections are dropped when the test ends (the threads are daemons)."""
    listeners: list[socket.socket] = []

    def start(behaviour: Behaviour) -> str:
        sock = socket.create_server(("127.0.0.1", 0))
        listeners.append(sock)

        def accept() -> None:
            while True:
                try:
                    conn, _ = sock.accept()
                except OSError:
                    return

                def handle(conn: socket.socket = conn) -> None:
                    try:
                        behaviour(conn)
                    except OSError:
                        pass
                    finally:
                        conn.close()

                threading.Thread(target=handle, daemon=True).start()

        threading.Thread(target=accept, daemon=True).start()
        return f"http://127.0.0.1:{sock.getsockname()[1]}"

    yield start
    for sock in listeners:
        sock.close()


def client(base: str, timeout_s: float) -> httpx.Client:
    return clients.build_client(base, clients.network_transport(base), {}, timeout_s)


@pytest.mark.parametrize("behaviour", [silent, trickle_body, trickle_head])
def test_one_request_ends_by_its_timeout(server: Callable[[Behaviour], str],
                                         behaviour: Behaviour) -> None:
    base = server(behaviour)
    started = time.monotonic()
    with client(base, 1.5) as http, pytest.raises(DeadlineExceeded) as caught:
        http.post("/v1/chat/completions", json={"stream": True})
    elapsed = time.monotonic() - started
    assert 1.4 < elapsed < 4.0  # the whole exchange (unbounded, these run 30 s or more)
    assert "POST /v1/chat/completions" in str(caught.value)
    assert "the request timeout (1.5 s, --timeout)" in str(caught.value)


def test_a_streamed_read_ends_by_its_timeout(server: Callable[[Behaviour], str]) -> None:
    started = time.monotonic()
    with client(server(trickle_body), 2.0) as http, http.stream("GET", "/events") as response:
        assert response.status_code == 200
        with pytest.raises(DeadlineExceeded, match="the body of GET /events"):
            for _ in response.iter_bytes():
                pass
    assert time.monotonic() - started < 5.0


def test_the_check_budget_cuts_a_request_short(server: Callable[[Behaviour], str]) -> None:
    started = time.monotonic()
    with deadlines.scope(Deadline.after(1.0, "the check budget (1 s, --check-timeout)")), \
            client(server(silent), 60.0) as http, \
            pytest.raises(DeadlineExceeded, match=r"--check-timeout"):
        http.get("/v1/models")
    assert time.monotonic() - started < 4.0


def test_a_spent_budget_sends_nothing(server: Callable[[Behaviour], str]) -> None:
    with deadlines.scope(Deadline.after(-1, "the run budget (5 s, --run-timeout)")), \
            client(server(silent), 60.0) as http, \
            pytest.raises(DeadlineExceeded, match=r"after 0\.0 s: the run budget"):
        http.get("/v1/models")


def test_a_server_that_never_answers_the_preflight_is_unreachable(
        server: Callable[[Behaviour], str]) -> None:
    target = LocalTarget(TargetOptions(kind=TargetKind.LOCAL, base_url=f"{server(silent)}/v1",
                                       timeout_s=1.0))
    with pytest.raises(TargetUnreachable, match=r"no answer from http://127\.0\.0\.1:\d+/v1/ "
                       r"\(DeadlineExceeded: gave up waiting for the answer to GET /v1/models"):
        engine.run(engine.Plan(target=target, provider_spec="local", check_spec="text"))
    target.close()


def test_a_websocket_that_never_answers_the_handshake(server: Callable[[Behaviour], str]) -> None:
    url = server(silent).replace("http", "ws", 1)
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="WebSocket handshake"), \
            ws.over_socket(f"{url}/v1/realtime?key=never-shown", {}, 1.0):
        pass
    assert time.monotonic() - started < 4.0


def test_the_suite_on_a_silent_server_ends_each_check_with_one_finding(
        server: Callable[[Behaviour], str]) -> None:
    target = LocalTarget(TargetOptions(kind=TargetKind.LOCAL,
                                       base_url=f"{server(_models_first(silent))}/v1",
                                       timeout_s=30.0))
    plan = engine.Plan(target=target, provider_spec="local", check_spec="text,image",
                       check_timeout_s=1.0)
    started = time.monotonic()
    try:
        result = engine.run(plan)
    finally:
        target.close()
    # discovery's text probe and two checks, 1 s each (unbounded: 3 x 30 s)
    assert time.monotonic() - started < 12.0
    scenarios = {c.check: c for c in result.cases if c.check in ("text", "image")}
    assert set(scenarios) == {"text", "image"}  # the run went on after the first timed out
    for case in scenarios.values():
        assert case.outcome is Outcome.FAIL
        (finding,) = case.findings
        assert "gave up waiting for the answer to POST /v1/chat/completions" in finding.message
        assert dict(finding.extra)["budget"] == "the check budget (1 s, --check-timeout)"


def test_cases_left_when_the_run_budget_ends_are_skipped_with_the_reason(
        server: Callable[[Behaviour], str]) -> None:
    target = LocalTarget(TargetOptions(kind=TargetKind.LOCAL,
                                       base_url=f"{server(_models_first(trickle_body))}/v1",
                                       timeout_s=30.0))
    plan = engine.Plan(target=target, provider_spec="local", check_spec="text,image,sse-framing",
                       run_timeout_s=1.0, capabilities=frozenset({"text", "image", "stream"}))
    try:
        result = engine.run(plan)
    finally:
        target.close()
    by_check = {c.check: c for c in result.cases}
    assert by_check["text"].outcome is Outcome.FAIL
    assert "the run budget (1 s, --run-timeout) ran out" in by_check["text"].findings[0].message
    for name in ("image", "sse-framing"):
        assert by_check[name].outcome is Outcome.SKIP
        assert by_check[name].reason == "not started: the run budget (1 s, --run-timeout) was spent"
    assert providers.get("local").name == result.meta.providers[0]
