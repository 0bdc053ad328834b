"""Soak: RSS of a served mock through floods of uploads and jobs, then back to baseline.

``.venv/bin/python bench/bench_soak.py [--minutes 10] [--upload-mb 20]`` serves the mock in a
child process (so its RSS is its own), warms it up and records its RSS, then for the first 60 %
of the time floods it (WaveSpeed and fal CDN uploads of ``--upload-mb`` MB, WaveSpeed and fal
queue jobs, fal jobs with a loopback webhook) and for the rest sends light traffic while the
flood's state expires (the store TTL is set to a fifth of the soak, so everything the flood left
is swept before the end). RSS is sampled every 5 s. It prints start, peak and end RSS and exits 1
when the end is more than 10 % above the start. The warm-up fills the mock's bounded logs with
the flood's kind of traffic first, so the start is their steady state. Loopback only.
"""

from __future__ import annotations

import argparse
import base64
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness.mock.config import MOCK_KEY
from harness.strategies.media import of_size

CHILD = """
import sys
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
served = ServedMock(MockConfig(job_step_s=0.05, store_ttl_s={ttl}, sweep_interval_s=2.0))
print(served.url, flush=True)
served.serve_forever()
"""
WARM_ROUNDS = 60  # x 42 requests: past the seen log's 2048 entries and the webhook log's 256
BEARER = {"Authorization": f"Bearer {MOCK_KEY}"}
FAL = {"Authorization": f"Key {MOCK_KEY}"}


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def receiver() -> tuple[str, threading.Thread]:
    """A loopback webhook receiver answering 200 to everything."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("content-length", 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return f"http://127.0.0.1:{server.server_address[1]}/hook", thread


def flood(client: httpx.Client, data: bytes, hook: str, n: int) -> None:
    png = "data:image/png;base64," + base64.b64encode(of_size("png", 2000)).decode()
    ticket = client.post("/wavespeed/api/v3/media/uploads", headers=BEARER, json={
        "filename": f"f{n}.png", "size": len(data), "content_type": "image/png"}).json()["data"]
    client.put(ticket["upload"]["url"], content=data, headers=ticket["upload"]["headers"])
    token = client.post("/fal/rest/storage/auth/token?storage_type=fal-cdn-v3", json={},
                        headers=FAL).json()["token"]
    client.post("/fal/cdn/files/upload", content=data + n.to_bytes(4, "big"), headers={
        "Authorization": f"Bearer {token}", "Content-Type": "image/png",
        "X-Fal-File-Name": f"f{n}.png"})
    for _ in range(20):
        client.post("/wavespeed/api/v3/wavespeed-ai/minicpm-v/image", json={"image": png},
                    headers=BEARER)
        client.post(f"/fal/queue/fal-ai/mini-cpm?fal_webhook={hook}",
                    json={"image_urls": [png], "prompt": "soak"}, headers=FAL)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--upload-mb", type=int, default=20)
    args = parser.parse_args(argv)
    total = args.minutes * 60
    ttl = max(10.0, total / 5)
    child = subprocess.Popen([sys.executable, "-c", CHILD.format(ttl=ttl)], stdout=subprocess.PIPE,
                             text=True, cwd=Path(__file__).resolve().parent.parent)
    assert child.stdout is not None
    url = child.stdout.readline().strip()
    hook, _ = receiver()
    data = of_size("png", args.upload_mb * 1024 * 1024)
    samples: list[tuple[float, float]] = []
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            # Warm-up with the flood's own traffic (small uploads) until the bounded logs (the
            # request journal, the seen log and the webhook log) are full of entries of the
            # flood's kind: they are meant to stay full, so the start is their steady state and
            # the end measures what the flood left beyond them.
            for n in range(WARM_ROUNDS):
                flood(client, of_size("png", 1000), hook, 1_000_000 + n)  # names apart from the flood's
            time.sleep(ttl + 5)  # the warm-up's state expires too
            start = rss_mib(child.pid)
            began, n = time.monotonic(), 0
            samples.append((0.0, start))
            next_sample = began + 5
            while (now := time.monotonic()) - began < total:
                if now - began < total * 0.6:
                    n += 1
                    flood(client, data, hook, n)
                else:
                    client.get("/_harness/health")
                    time.sleep(0.2)
                if time.monotonic() >= next_sample:
                    samples.append((time.monotonic() - began, rss_mib(child.pid)))
                    next_sample += 5
            end = rss_mib(child.pid)
            stored = client.get("/_harness/state").json()["bytes"]
    finally:
        child.terminate()
        child.wait(30)
    peak = max(r for _, r in samples)
    print(f"soak {args.minutes:g} min, {n} flood rounds of 2 x {args.upload_mb} MB uploads and "
          f"40 jobs (20 with webhooks); store TTL {ttl:g} s")
    print(f"RSS start {start:.1f} MiB, peak {peak:.1f} MiB, end {end:.1f} MiB "
          f"({(end / start - 1) * 100:+.1f} %); state held at the end: {stored:,} bytes")
    for at, rss in samples[:: max(1, len(samples) // 20)]:
        print(f"  t={at:6.0f} s  RSS {rss:8.1f} MiB")
    return 0 if end <= start * 1.10 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
