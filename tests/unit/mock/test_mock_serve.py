"""The served mock's stack: uvloop and httptools where installed, quiet client disconnects,
SSE frames due together sent as one chunk."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from harness.mock import sse
from harness.mock.config import MOCK_KEY
from harness.mock.faults import Fault
from harness.mock.serve import ServedMock

PATH = "/modelbest/v1/chat/completions"


@pytest.fixture(scope="module")
def served() -> Iterator[ServedMock]:
    with ServedMock(names=["modelbest", "wavespeed"]) as mock:
        yield mock


def test_serve_runs_on_uvloop_and_httptools(served: ServedMock) -> None:
    """uvicorn's "auto" picks them when installed, and the project installs them (its
    uvicorn[standard] dependency): a missing one would quietly cost 3x the throughput."""
    config = served._server.config
    assert issubclass(config.http_protocol_class, HttpToolsProtocol)  # shaped refusals on top
    factory = config.get_loop_factory()
    assert factory is not None and factory.__module__.startswith("uvloop")

def upload_path(served: ServedMock) -> str:
    """A signed WaveSpeed upload URL for 1 MB (its path and query)."""
    ticket = httpx.post(f"{served.url}/wavespeed/api/v3/media/uploads", timeout=5,
                        headers={"Authorization": f"Bearer {MOCK_KEY}"},
                        json={"filename": "a.png", "content_type": "image/png", "size": 1000000})
    return ticket.json()["data"]["upload"]["url"].removeprefix(served.url)


@pytest.mark.parametrize("what", ["chat", "upload"])
def test_a_client_gone_mid_body_is_not_a_server_error(
        served: ServedMock, caplog: pytest.LogCaptureFixture, what: str) -> None:
    host, port = served.url.removeprefix("http://").split(":")
    method, path = ("POST", PATH) if what == "chat" else ("PUT", upload_path(served))
    log = logging.getLogger("uvicorn.error")  # uvicorn's loggers do not reach the root's
    log.addHandler(caplog.handler)
    try:
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {MOCK_KEY}"
                         f"\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n"
                         '{"model": "'.encode())
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline and not served._server.server_state.tasks:
                time.sleep(0.01)  # until the handler is waiting for the rest of the body
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and served._server.server_state.tasks:
            time.sleep(0.01)  # until it has given up (and, before the fix, logged)
        ok = httpx.get(f"{served.url}/_harness/health", timeout=5)
    finally:
        log.removeHandler(caplog.handler)
    assert ok.status_code == 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, [r.getMessage() for r in errors]


def test_frames_due_together_leave_as_one_chunk() -> None:
    frames = [sse.encode({"i": i}, token=i > 0) for i in range(5)]

    async def chunks(fault: Fault) -> list[bytes]:
        return [c async for c in sse.paced(frames, fault)]

    whole = b"".join(f.data for f in frames)
    assert asyncio.run(chunks(Fault())) == [whole]
    paced = asyncio.run(chunks(Fault(tps=1000)))
    assert paced == [f.data for f in frames]  # each token frame waits: one chunk each
    cut = asyncio.run(chunks(Fault(cut=2)))
    assert b"".join(cut) == frames[0].data + frames[1].data
