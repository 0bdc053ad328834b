"""The in-process seam (httpx/httpx2, sync/async, respx) and the served mock (ServedMock, CLI).

Small hand-written ASGI apps pin down the transport's contract: bodies stream as the app
sends them, a client that closes early cancels the app, an unfinished response is a
RemoteProtocolError, app exceptions and read timeouts surface in the client's own types. The
served mock must come up on a free port (plain and TLS), and ``vlm-harness serve`` must print
its URLs and stop on Ctrl-C without a traceback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import httpx2
import pytest
import respx

from harness.errors import UsageError
from harness.mock.config import MOCK_KEY
from harness.mock.serve import ServedMock
from harness.mock.transport import (
    httpx2_async_transport,
    httpx2_transport,
    httpx_sync_transport,
    httpx_transport,
    respx_route,
)

KINDS = ["httpx-async", "httpx-sync", "httpx2-async", "httpx2-sync"]
LIBS = {"httpx": httpx, "httpx2": httpx2}
CHAT = {"model": "mimo-v2-omni", "messages": [{"role": "user", "content": "hi"}]}


def ticker(n: int, gap: float, log: list[str]) -> Callable[..., Any]:
    """An ASGI app streaming ``n`` chunks ``gap`` seconds apart; logs how it ended."""
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        try:
            for i in range(n):
                await send({"type": "http.response.body", "body": b"%d;" % i, "more_body": True})
                await asyncio.sleep(gap)
            await send({"type": "http.response.body", "body": b"", "more_body": False})
            log.append("finished")
        except asyncio.CancelledError:
            log.append("cancelled")
            raise
    return app


async def unfinished(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"partial", "more_body": True})


async def boom(scope: dict[str, Any], receive: Any, send: Any) -> None:
    raise RuntimeError("the app broke")


async def sleepy(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await asyncio.sleep(5)


async def echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body, more = b"", True
    while more:
        message = await receive()
        body, more = body + message.get("body", b""), message.get("more_body", False)
    seen = f"{scope['method']} {scope['path']}?{scope['query_string'].decode()} ".encode()
    headers = dict(scope["headers"])
    await send({"type": "http.response.start", "status": 201,
                "headers": [(b"x-got", headers.get(b"x-test", b"")), (b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": seen + body})


def exchange(kind: str, app: Any, method: str = "GET", url: str = "http://t.invalid/x",
             timeout: float = 5.0, stop_after: int | None = None,
             log: list[str] | None = None, observed: list[str] | None = None, **kw: Any,
             ) -> tuple[int, list[tuple[float, bytes]], dict[str, str]]:
    """(status, [(seconds since the head arrived, chunk)], headers) through one transport.
    After the response is closed, what the app wrote to ``log`` by then is copied to
    ``observed``, while the app's loop still runs (asyncio.run cancels every task at its end)."""
    lib_name, mode = kind.split("-")
    lib = LIBS[lib_name]

    def record(r: Any, pieces: list[tuple[float, bytes]], t0: float, chunk: bytes) -> bool:
        pieces.append((time.perf_counter() - t0, chunk))
        return stop_after is not None and len(pieces) >= stop_after

    if mode == "sync":
        transport = (httpx_sync_transport if lib is httpx else httpx2_transport)(app)
        with lib.Client(transport=transport, timeout=timeout) as client, \
                client.stream(method, url, **kw) as r:
            t0, pieces = time.perf_counter(), []
            for chunk in r.iter_raw():
                if record(r, pieces, t0, chunk):
                    break
        for _ in range(100):  # the app runs on the transport's loop thread
            if log is None or log:
                break
            time.sleep(0.01)
        (observed if observed is not None else []).extend(log or [])
        return r.status_code, pieces, dict(r.headers)

    async def run() -> tuple[int, list[tuple[float, bytes]], dict[str, str]]:
        transport = (httpx_transport if lib is httpx else httpx2_async_transport)(app)
        async with lib.AsyncClient(transport=transport, timeout=timeout) as client, \
                client.stream(method, url, **kw) as r:
            t0, pieces = time.perf_counter(), []
            async for chunk in r.aiter_raw():
                if record(r, pieces, t0, chunk):
                    break
        for _ in range(100):
            if log is None or log:
                break
            await asyncio.sleep(0.01)
        (observed if observed is not None else []).extend(log or [])
        return r.status_code, pieces, dict(r.headers)

    return asyncio.run(run())


@pytest.mark.parametrize("kind", KINDS)
def test_bodies_stream_as_the_app_sends_them(kind: str) -> None:
    log: list[str] = []
    status, pieces, _ = exchange(kind, ticker(4, 0.08, log))
    assert status == 200 and b"".join(p for _, p in pieces) == b"0;1;2;3;"
    assert pieces[0][0] < 0.05 and pieces[-1][0] >= 0.2  # not buffered until the end
    assert log == ["finished"]


@pytest.mark.parametrize("kind", KINDS)
def test_closing_a_stream_early_cancels_the_app(kind: str) -> None:
    log: list[str] = []
    observed: list[str] = []
    exchange(kind, ticker(1000, 0.01, log), stop_after=2, log=log, observed=observed)
    assert observed == ["cancelled"]


@pytest.mark.parametrize("kind", KINDS)
def test_an_unfinished_response_is_a_remote_protocol_error(kind: str) -> None:
    with pytest.raises(LIBS[kind.split("-")[0]].RemoteProtocolError):
        exchange(kind, unfinished)


@pytest.mark.parametrize("kind", KINDS)
def test_app_exceptions_and_timeouts_surface_in_the_client(kind: str) -> None:
    with pytest.raises(RuntimeError, match="the app broke"):
        exchange(kind, boom)
    t0 = time.perf_counter()
    with pytest.raises(LIBS[kind.split("-")[0]].ReadTimeout):
        exchange(kind, sleepy, timeout=0.2)
    assert time.perf_counter() - t0 < 2


@pytest.mark.parametrize("kind", KINDS)
def test_requests_arrive_whole(kind: str) -> None:
    status, pieces, headers = exchange(kind, echo, "POST", "http://t.invalid/a%20b/c?q=1&r=2",
                                       content=b"x" * 100_000, headers={"x-test": "yes"})
    body = b"".join(p for _, p in pieces)
    assert status == 201 and headers["x-got"] == "yes"
    assert body == b"POST /a b/c?q=1&r=2 " + b"x" * 100_000


def test_respx_routes_a_provider_url_to_the_mock(mock_app: Any) -> None:
    with respx.mock(assert_all_called=True) as router:
        route = respx_route(router, mock_app, "https://api.shubiaobiao.com/v1", "/mimo/v1")
        r = httpx.post("https://api.shubiaobiao.com/v1/chat/completions", json=CHAT,
                       headers={"api-key": MOCK_KEY})
        assert r.status_code == 200 and r.json()["model"] == "mimo-v2-omni"

        async def streamed() -> bytes:
            async with httpx.AsyncClient() as client:
                r = await client.post("https://api.shubiaobiao.com/v1/chat/completions",
                                      json={**CHAT, "stream": True}, headers={"api-key": MOCK_KEY})
                return r.content

        assert asyncio.run(streamed()).endswith(b"data: [DONE]\n\n")
        assert route.call_count == 2
        assert router.calls.last.request.url.path == "/v1/chat/completions"


def test_respx_route_defaults_to_the_same_paths(mock_app: Any) -> None:
    with respx.mock as router:
        respx_route(router, mock_app, "http://mock.invalid")
        r = httpx.get("http://mock.invalid/local/v1/models")
        assert r.json()["data"][0]["id"] == "openbmb/MiniCPM-V-4_5"


# --- the served mock ---------------------------------------------------------------------


def test_served_mock_answers_and_logs_requests(served_mock: ServedMock) -> None:
    assert httpx.get(f"{served_mock.url}/_harness/health").json()["status"] == "ok"
    assert served_mock.base_url("mimo") == f"{served_mock.url}/mimo/v1"
    assert served_mock.base_url("mimo", "anthropic-messages") == f"{served_mock.url}/mimo/anthropic"
    assert served_mock.base_url("fal", "fal-queue:queue") == f"{served_mock.url}/fal/queue"
    with pytest.raises(UsageError, match="known: openai-chat, anthropic-messages"):
        served_mock.base_url("mimo", "responses")
    with pytest.raises(UsageError, match="not served"):
        served_mock.base_url("openai")
    r = httpx.post(f"{served_mock.base_url('mimo')}/chat/completions", json=CHAT,
                   headers={"api-key": MOCK_KEY, "x-test-case": "served-log"})
    assert r.status_code == 200
    seen = [s for s in served_mock.app.state.mock.journal.entries()
            if s.headers.get("x-test-case") == "served-log"]
    assert len(seen) == 1 and seen[0].path == "/mimo/v1/chat/completions"
    assert seen[0].headers["api-key"] == "<REDACTED>"  # the log never keeps a key


def test_served_mock_tls_is_trusted_through_its_ca_only(served_mock_tls: ServedMock) -> None:
    assert served_mock_tls.url.startswith("https://127.0.0.1:")
    assert served_mock_tls.ca_path is not None and served_mock_tls.ca_path.is_file()
    r = httpx.get(f"{served_mock_tls.url}/_harness/health", verify=served_mock_tls.ssl_context())
    assert r.status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{served_mock_tls.url}/_harness/health")  # the system store does not know it


def test_a_served_mock_closes_cleanly_and_frees_its_port() -> None:
    served = ServedMock(names=["local"]).start()
    url = served.url
    assert httpx.get(f"{url}/local/v1/models").status_code == 200
    served.close()
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/local/v1/models")


def serve(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})


def read_until(proc: subprocess.Popen[str], needle: str, timeout: float = 20) -> list[str]:
    lines: list[str] = []
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines
    raise AssertionError(f"{needle!r} not printed; got {lines}")


@pytest.mark.parametrize("tls", [False, True], ids=["http", "tls"])
def test_serve_command_prints_urls_and_stops_on_ctrl_c(tls: bool) -> None:
    proc = serve("--port", "0", "--providers", "mimo,fal", "--seed", "3", *(["--tls"] if tls else []))
    try:
        lines = read_until(proc, "fal-queue:cdn" if not tls else "FAL_QUEUE_RUN_HOST")
        root = lines[0].split(" on ")[1].split(" ")[0]
        assert root.startswith("https://127.0.0.1:" if tls else "http://127.0.0.1:")
        assert f"{root}/mimo/anthropic" in "\n".join(lines)
        ca = next((ln.split("=", 1)[1] for ln in lines if "SSL_CERT_FILE=" in ln), None)
        assert bool(ca) == tls
        verify = ssl.create_default_context(cafile=ca)
        assert httpx.get(f"{root}/_harness/health", verify=verify).json()["providers"] == ["mimo", "fal"]
        if tls:
            port = root.rsplit(":", 1)[1]
            assert f"  export FAL_RUN_HOST=127.0.0.1:{port}/fal/run" in lines
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "mock stopped" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--faults", "status=abc"], "needs a number"),
    (["--providers", "openai"], "unknown provider 'openai'"),
])
def test_serve_command_usage_errors_are_one_line(args: list[str], message: str) -> None:
    proc = serve("--port", "0", *args)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_serve_command_reports_a_busy_port(served_mock: ServedMock) -> None:
    port = served_mock.url.rsplit(":", 1)[1]
    proc = serve("--port", port)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in err
