"""``vlm-harness serve`` stops cleanly on SIGTERM and SIGINT alike.

Issue 15: on SIGTERM ``serve`` exited 143, left the throwaway CA and the server's private key in
``/tmp/vlm-harness-tls-*``, and closed open realtime sessions with 1012 and no
``session.closed``. Here a real ``serve --tls`` process gets the signal with a realtime session
open and a paced stream under way: the stream finishes within the grace period, the session
gets ``session.closed`` ``server_shutdown`` before its close, the exit status is 0 and the TLS
folder is gone.
"""

from __future__ import annotations

import json
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness.mock.config import MOCK_KEY

BEARER = {"Authorization": f"Bearer {MOCK_KEY}"}


def _start(workers: int) -> tuple[subprocess.Popen[str], str, Path]:
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "serve", "--tls", "--port", "0",
                             "--providers", "modelbest", "--workers", str(workers)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    url = ca = None
    deadline = time.monotonic() + 30
    while (url is None or ca is None) and time.monotonic() < deadline:
        line = proc.stdout.readline()
        url = url or (m.group(1) if (m := re.search(r"mock on (https://\S+) ", line)) else None)
        ca = ca or (m.group(1) if (m := re.search(r"CA certificate (\S+) ", line)) else None)
    assert url and ca, "serve did not print its URL and CA"
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # keep the pipe drained
    return proc, url, Path(ca)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    assert proc.stdout is not None
    proc.stdout.close()


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "workers-2"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_signal_stops_serve_cleanly(sig: signal.Signals, workers: int) -> None:
    proc, url, ca = _start(workers)
    try:
        context = ssl.create_default_context(cafile=str(ca))
        body = {"model": "MiniCPM-V-4.6-Instruct", "stream": True, "max_tokens": 8,
                "messages": [{"role": "user", "content": "hi"}]}
        chunks: list[bytes] = []

        def stream() -> None:  # ~0.8 s at 10 tokens a second: within the 2 s grace period
            with httpx.stream("POST", f"{url}/modelbest/v1/chat/completions", json=body,
                              headers={**BEARER, "x-harness-fault": "tps=10"}, verify=context,
                              timeout=10) as r:
                chunks.extend(r.iter_raw())

        ws_url = url.replace("https", "wss", 1) + "/modelbest/v1/realtime?mode=chat"
        with connect(ws_url, additional_headers=BEARER, ssl=context) as ws:
            assert json.loads(ws.recv(5))["type"] == "session.queue_done"
            ws.send(json.dumps({"type": "session.init", "payload": {}}))
            assert json.loads(ws.recv(5))["type"] == "session.created"
            streaming = threading.Thread(target=stream)
            streaming.start()
            time.sleep(0.3)  # the stream is under way
            proc.send_signal(sig)
            closed = json.loads(ws.recv(5))
            assert closed == {"type": "session.closed", "reason": "server_shutdown"}
            with pytest.raises(ConnectionClosed):
                ws.recv(5)
            assert ws.close_code == 1001
        streaming.join(10)
        assert proc.wait(15) == 0
        assert b"data: [DONE]" in b"".join(chunks)  # the open stream was finished, not cut
        assert not ca.parent.exists()  # the CA and the server's private key are gone
    finally:
        _stop(proc)
