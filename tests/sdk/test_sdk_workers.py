"""The official SDKs against ``serve --workers 2``: jobs and uploads work from any worker.

A real multi-process server (``harness.mock.workers``, run as ``vlm-harness serve --workers 2``
runs it, in a subprocess) with jobs that stay 0.3 s in each phase. Two keep-alive clients are
pinned to different workers (each asks ``/_harness/health`` which worker answered), so a job
made through one is polled, cancelled and fetched through the other; then the WaveSpeed and
fal SDKs run their job and upload flows with a fresh connection per call, landing wherever
the kernel sends them. Connections opened at once are split evenly between the workers, and a
request uvicorn's parser refuses is answered in the provider's error shape, as with one process.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import fal_client
import httpx
import pytest
import requests
from PIL import Image
from wavespeed.api.client import Client

from harness import media
from harness.mock.app import base_urls
from harness.mock.config import MOCK_KEY

pytestmark = pytest.mark.sdk
STEP_S = 0.3
SERVER = f"""
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.mock import workers
served = ServedMock(MockConfig(job_step_s={STEP_S}), names=["wavespeed", "fal"])
print(served.url, flush=True)
workers.run(served, 2, log_level="warning")
"""
AUTH_WS = {"Authorization": f"Bearer {MOCK_KEY}"}
AUTH_FAL = {"Authorization": f"Key {MOCK_KEY}"}
VIDEO = "wavespeed-ai/minicpm-v/video"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 6), (0, 160, 90)).save(buf, "PNG")
    return buf.getvalue()


@contextlib.contextmanager
def two_workers() -> Iterator[str]:
    proc = subprocess.Popen([sys.executable, "-c", SERVER], stdout=subprocess.PIPE, text=True,
                            cwd=Path(__file__).resolve().parents[2])
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # both workers up: health answered by two names
            if len(workers_seen(url, 8)) == 2:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"two workers did not come up on {url!r} within 30 s")
        yield url
    finally:
        proc.terminate()
        proc.wait(15)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture(scope="module")
def root() -> Iterator[str]:
    with two_workers() as url:
        yield url


def workers_seen(url: str, tries: int) -> set[str]:
    seen = set()
    for _ in range(tries):
        try:
            with httpx.Client() as c:  # a new connection each time: any worker may accept it
                seen.add(c.get(f"{url}/_harness/health", timeout=2).json()["worker"])
        except httpx.TransportError:
            pass
    return seen


@pytest.fixture(scope="module")
def pinned(root: str) -> Iterator[list[httpx.Client]]:
    """Two keep-alive clients whose connections are held by different workers."""
    by_worker: dict[str, httpx.Client] = {}
    spare: list[httpx.Client] = []
    for _ in range(64):
        client = httpx.Client(base_url=root, timeout=5)
        name = client.get("/_harness/health").json()["worker"]
        if name in by_worker:
            spare.append(client)
        else:
            by_worker[name] = client
        if len(by_worker) == 2:
            break
    for client in spare:
        client.close()
    assert len(by_worker) == 2, "the kernel sent 64 connections to one worker"
    yield list(by_worker.values())
    for client in by_worker.values():
        client.close()


def test_a_prediction_made_on_one_worker_is_polled_on_the_other(pinned: list[httpx.Client]) -> None:
    one, other = pinned
    body = {"video": media.data_url(MP4), "custom_prompt": "What happens?"}
    made = one.post(f"/wavespeed/api/v3/{VIDEO}", json=body, headers=AUTH_WS).json()["data"]
    assert made["status"] == "created"
    seen: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (not seen or seen[-1] != "completed"):
        got = other.get(f"/wavespeed/api/v3/predictions/{made['id']}/result", headers=AUTH_WS)
        assert got.status_code == 200, got.text
        seen.append(got.json()["data"]["status"])
        time.sleep(STEP_S / 3)
    assert seen[-1] == "completed" and "processing" in seen
    assert one.get(f"/wavespeed/api/v3/predictions/{made['id']}",
                   headers=AUTH_WS).json()["data"]["outputs"]


def test_a_fal_request_is_cancelled_and_answered_across_workers(pinned: list[httpx.Client]) -> None:
    one, other = pinned
    body = {"image_urls": [media.data_url(png())], "prompt": "Who is she?"}
    made = one.post("/fal/queue/fal-ai/mini-cpm", json=body, headers=AUTH_FAL).json()
    path = made["cancel_url"].split("/fal/queue", 1)[1]
    assert other.put(f"/fal/queue{path}", headers=AUTH_FAL).status_code == 202
    status = one.get(f"/fal/queue{path.removesuffix('/cancel')}/status", headers=AUTH_FAL).json()
    assert (status["status"], status["error_type"]) == ("COMPLETED", "client_cancelled")


def test_ids_minted_by_the_two_workers_never_collide(pinned: list[httpx.Client]) -> None:
    body = {"video": media.data_url(MP4), "custom_prompt": "same request"}
    ids = {c.post(f"/wavespeed/api/v3/{VIDEO}", json=body, headers=AUTH_WS).json()["data"]["id"]
           for c in pinned for _ in range(3)}
    assert len(ids) == 6


def test_wavespeed_sdk_runs_and_uploads_through_any_worker(root: str, tmp_path: Path) -> None:
    client = Client(api_key=MOCK_KEY, base_url=base_urls(root, ["wavespeed"])["wavespeed"][
        "wavespeed-v3"], max_retries=0, max_connection_retries=0, retry_interval=0.01)
    for _ in range(3):
        out = client.run(VIDEO, {"video": media.data_url(MP4), "custom_prompt": "What?"},
                         poll_interval=0.05, timeout=20)
        assert "mp4" in out["outputs"][0]
    path = tmp_path / "sun.png"
    path.write_bytes(png())
    for _ in range(4):
        assert requests.get(client.upload(str(path)), timeout=5).content == png()


class Served:
    """What the ``connect`` fixture needs of a ServedMock, for a mock served elsewhere."""

    def __init__(self, root: str) -> None:
        self.root = root

    def base_url(self, provider: str, label: str) -> str:
        return base_urls(self.root, [provider])[provider][label]


def test_fal_sdk_submits_polls_and_uploads_through_any_worker(
        root: str, connect: Callable[[Any], fal_client.SyncClient]) -> None:
    for _ in range(3):
        handle = connect(Served(root)).submit("fal-ai/mini-cpm", {
            "image_urls": [media.data_url(png())], "prompt": "Who is she?"})
        output = handle.get(interval=0.05)
        assert "Who is she?" in output["output"]
        assert connect(Served(root)).result("fal-ai/mini-cpm", handle.request_id) == output
        url = connect(Served(root)).upload(png(), "image/png", "leaf.png")
        assert requests.get(url, timeout=5).content == png()


def test_connections_opened_at_once_are_split_evenly_between_the_workers() -> None:
    # A load test's keep-alive connections, opened together, used to land on one worker often
    # (all 4 of 4 in two runs of three), which then served alone for the whole test. A server
    # of its own: the other tests' clients keep connections open, which count as load.
    with two_workers() as url:
        spread(urlsplit(url).hostname or "", urlsplit(url).port or 0)


def connect_now(conn: http.client.HTTPConnection, gate: threading.Barrier) -> None:
    gate.wait()
    conn.connect()


def spread(host: str, port: int) -> None:
    for n in (4, 4, 4, 8):
        # Idle workers first: a connection closed a moment ago counts until its worker has
        # seen the close (the health checks of two_workers, the previous round).
        time.sleep(0.3)
        conns = [http.client.HTTPConnection(host, port, timeout=5) for _ in range(n)]
        gate = threading.Barrier(n)
        threads = [threading.Thread(target=connect_now, args=(c, gate)) for c in conns]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        for conn in conns:  # every connection stays open until all have answered
            conn.request("GET", "/_harness/health")
        served = [json.loads(conn.getresponse().read())["worker"] for conn in conns]
        for conn in conns:
            conn.close()
        assert sorted(Counter(served).values()) == [n // 2, n // 2], served


def test_a_request_the_parser_refuses_is_answered_in_the_providers_shape(root: str) -> None:
    # uvicorn's own worker answered this in plain text; each worker runs the mock's server.
    with socket.create_connection((urlsplit(root).hostname or "", urlsplit(root).port or 0),
                                  timeout=5) as sock:
        sock.sendall(b"GET /wavespeed/api/v3/predictions/x HTTP/1.1\r\nHost: x\r\nBad\r\n\r\n")
        head, _, body = sock.recv(65536).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400") and b"content-type: application/json" in head
    refusal = json.loads(body)
    assert refusal["code"] == 400 and refusal["message"].startswith("malformed HTTP request")
