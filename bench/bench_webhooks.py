"""fal webhooks and the hot path: submit rate and health latency while webhooks go out.

``.venv/bin/python bench/bench_webhooks.py [--jobs 600] [--source DIR]`` serves the mock in a
child process (``--source``: another checkout's ``harness``, to measure a version before and
after a change) and submits ``--jobs`` fal queue requests, each with ``?fal_webhook=`` pointing
at a loopback receiver, from 8 client threads; meanwhile another thread polls
``/_harness/health``. It prints submits per second and the health p50/p95 for a receiver that
answers at once and for one that never answers (there the run is capped at 60 s: jobs that did
not finish by then are counted as not done).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

CHILD = """
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
served = ServedMock(MockConfig(job_step_s=0.01))
print(served.url, flush=True)
served.serve_forever()
"""
KEY = "mock-key-for-vlm-contract-harness"
PNG = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4"
       "z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC")


def answering_receiver() -> str:
    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def silent_receiver() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(4096)  # accepts, never answers
    silent_receiver.sock = sock  # type: ignore[attr-defined]
    return f"http://127.0.0.1:{sock.getsockname()[1]}/hook"


def run(url: str, hook: str, jobs: int, cap_s: float) -> tuple[float, int, list[float]]:
    stop = threading.Event()
    health: list[float] = []

    def poll() -> None:
        with httpx.Client(base_url=url, timeout=30) as c:
            while not stop.is_set():
                t = time.perf_counter()
                c.get("/_harness/health")
                health.append((time.perf_counter() - t) * 1000)
                time.sleep(0.02)

    def submit(client: httpx.Client) -> bool:
        r = client.post(f"/fal/queue/fal-ai/mini-cpm?fal_webhook={hook}",
                        json={"image_urls": [PNG], "prompt": "bench"},
                        headers={"Authorization": f"Key {KEY}"})
        return r.status_code == 200

    poller = threading.Thread(target=poll, daemon=True)
    poller.start()
    clients = [httpx.Client(base_url=url, timeout=cap_s) for _ in range(8)]
    started, done = time.perf_counter(), 0
    with ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(submit, clients[i % 8]) for i in range(jobs)]
        for f in futures:
            try:
                left = cap_s - (time.perf_counter() - started)
                done += bool(f.result(timeout=max(left, 0.001)))
            except Exception:
                pass
    elapsed = time.perf_counter() - started
    stop.set()
    for c in clients:
        c.close()
    return done / elapsed, done, health


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=600)
    parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args(argv)
    for name, hook in (("answering", answering_receiver()), ("silent", silent_receiver())):
        env = {**os.environ, "PYTHONPATH": str(args.source)}
        child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True,
                                 cwd=args.source, env=env, stderr=subprocess.DEVNULL)
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        try:
            rate, done, health = run(url, hook, args.jobs, 60.0)
        finally:
            child.kill()
            child.wait()
        p = statistics.quantiles(health, n=20) if len(health) > 1 else [0.0] * 19
        print(f"{args.source.name}: {name} receiver: {rate:.0f} submits/s ({done}/{args.jobs} "
              f"done), health p50 {statistics.median(health):.1f} ms, p95 {p[18]:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
