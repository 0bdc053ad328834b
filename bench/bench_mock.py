"""Benchmark of the served reference mock against a bare Starlette endpoint on loopback.

Two uvicorn servers run in subprocesses: the mock (ModelBest's OpenAI-compatible API, as
``vlm-harness serve`` serves it; ModelBest limits decoded images to 10 MB where MiMo also caps
the base64 text at 10 MB) and a bare app whose ``/chat/completions`` reads the body and
returns a fixed JSON answer. One httpx client with keep-alive drives both with the same
requests at a small concurrency, bounded in time: small non-stream chats, then requests
carrying one 10 MB image. Then, in process, the server-side cost of one 10 MB request is
timed (``ctx.json_body`` + the media check, median of a few) and its peak allocation traced
relative to the payload. Targets: mock >= 0.5x the bare endpoint's req/s on small requests;
10 MB validated in < 100 ms with peak memory < 4x the payload.

Run: ``.venv/bin/python bench/bench_mock.py`` (about 40 s; ``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import media, providers  # noqa: E402
from harness.mock.config import MOCK_KEY  # noqa: E402

PROVIDER, MODEL, PATH = "modelbest", "MiniCPM-V-4.6-Instruct", "/modelbest/v1/chat/completions"
AUTH = {"Authorization": f"Bearer {MOCK_KEY}"}
SMALL = {"model": MODEL, "max_completion_tokens": 64,
         "messages": [{"role": "user", "content": "Describe a calm lake at dawn."}]}
TEN_MB = 10 * 1024 * 1024
PNG_HEAD = b"\x89PNG\r\n\x1a\n"


def big_request() -> bytes:
    """A chat request with one image of exactly 10 MB (the providers' limit), as JSON bytes."""
    url = media.data_url(PNG_HEAD + os.urandom(TEN_MB - len(PNG_HEAD)), "image/png")
    return json.dumps({"model": MODEL, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}},
        {"type": "text", "text": "what is this?"}]}]}).encode()


def bare_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    answer = {"id": "chatcmpl-bare", "object": "chat.completion", "created": 0,
              "model": MODEL, "choices": [{"index": 0, "finish_reason": "stop",
              "message": {"role": "assistant", "content": "fixed"}}],
              "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    async def chat(request: Request) -> JSONResponse:
        await request.body()  # a fair baseline receives the whole upload too
        return JSONResponse(answer)

    return Starlette(routes=[Route(PATH, chat, methods=["POST"])])


def serve_bare() -> None:
    """Subprocess mode: serve the bare app on a free port and print its URL."""
    import uvicorn

    from harness.mock.serve import _bind

    sock = _bind("127.0.0.1", 0)
    print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(bare_app(), log_level="warning", lifespan="off",
                                  access_log=False)).run(sockets=[sock])


@contextmanager
def server(kind: str) -> Iterator[str]:
    """Start the mock or the bare app in a subprocess; yield its root URL."""
    if kind == "mock":
        cmd = [sys.executable, "-m", "harness.cli", "serve", "--port", "0", "--providers", PROVIDER]
    else:
        cmd = [sys.executable, __file__, "--serve-bare"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        url = first.split(" on ")[1].split(" ")[0] if " on " in first else first.strip()
        for _ in range(200):
            try:
                httpx.post(f"{url}{PATH}", json=SMALL, headers=AUTH, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


async def drive(url: str, body: bytes, n: int, concurrency: int, budget_s: float) -> dict[str, float]:
    """Send up to ``n`` requests (stopping after ``budget_s``); req/s and latency percentiles."""
    latencies: list[float] = []
    limits = httpx.Limits(max_keepalive_connections=concurrency, max_connections=concurrency)
    headers = {**AUTH, "content-type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        await client.post(f"{url}{PATH}", content=body, headers=headers)
        started, sent = time.perf_counter(), 0

        async def worker() -> None:
            nonlocal sent
            while sent < n and time.perf_counter() - started < budget_s:
                sent += 1
                t0 = time.perf_counter()
                r = await client.post(f"{url}{PATH}", content=body,
                                      headers=headers)
                if r.status_code != 200:
                    raise SystemExit(f"{url}: HTTP {r.status_code}: {r.text[:200]}")
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return {"n": len(latencies), "rps": len(latencies) / elapsed,
            "p50_ms": 1000 * latencies[len(latencies) // 2],
            "p95_ms": 1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))]}


def validation_cost(body: bytes, repeats: int) -> dict[str, float]:
    """Median time of ctx.json_body + the media check on ``body`` (and of each step: JSON
    parsing, schema validation, media decoding), and the traced peak memory of one pass."""
    from starlette.requests import Request

    from harness.mock.app import build_app
    from harness.mock.context import MockContext
    from harness.mock.openai_chat import SCHEMA, media_items

    profile = providers.get(PROVIDER)
    ctx = MockContext(profile, profile.api("openai-chat"), build_app(names=[PROVIDER]).state.mock)
    steps: dict[str, list[float]] = {"total": [], "json": [], "schema": [], "media": []}

    async def once(timed: bool) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        request = Request({"type": "http", "method": "POST", "headers": []}, receive)
        t0 = time.perf_counter()
        parsed = await ctx.json_body(request, SCHEMA)
        t1 = time.perf_counter()
        assert isinstance(parsed, dict), parsed
        payloads = ctx.media(list(media_items(parsed["messages"])))
        t2 = time.perf_counter()
        assert isinstance(payloads, list) and payloads[0].size == TEN_MB
        if timed:  # the same two steps again, split: JSON parsing alone, schema alone
            t3 = time.perf_counter()
            again = json.loads(body)
            t4 = time.perf_counter()
            assert ctx.schema_error(again, SCHEMA) is None
            t5 = time.perf_counter()
            for key, value in (("total", t2 - t0), ("media", t2 - t1), ("json", t4 - t3),
                               ("schema", t5 - t4)):
                steps[key].append(value)

    for _ in range(repeats):
        asyncio.run(once(timed=True))
    tracemalloc.start()
    asyncio.run(once(timed=False))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out = {f"{k}_ms": 1000 * statistics.median(v) for k, v in steps.items()}
    return {**out, "min_ms": 1000 * min(steps["total"]), "peak_mb": peak / 2**20,
            "payload_mb": len(body) / 2**20}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="fewer requests (smoke run)")
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare()
        return 0
    small, big = json.dumps(SMALL).encode(), big_request()
    rounds, n_small, n_big, budget = (1, 300, 6, 2.0) if args.quick else (3, 1000, 12, 3.0)
    results: dict[str, dict[str, float]] = {}
    with server("bare") as bare, server("mock") as mock:
        # Alternate short rounds and keep each scenario's best, so that a burst of load from
        # elsewhere on the machine does not land on one server only.
        for _ in range(rounds):
            for kind, url in (("bare", bare), ("mock", mock)):
                for name, body, n, conc in (("small", small, n_small, args.concurrency),
                                            ("10MB", big, n_big, 2)):
                    got = asyncio.run(drive(url, body, n, conc, budget))
                    best = results.setdefault(f"{kind} {name}", got)
                    if got["rps"] > best["rps"]:
                        results[f"{kind} {name}"] = got
    print(f"best of {rounds} alternating round(s) per scenario")
    print(f"{'scenario':<12} {'requests':>8} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8}")
    for name, r in sorted(results.items()):
        print(f"{name:<12} {r['n']:>8.0f} {r['rps']:>8.1f} {r['p50_ms']:>8.1f} {r['p95_ms']:>8.1f}")
    ratio = results["mock small"]["rps"] / results["bare small"]["rps"]
    print(f"mock/bare req/s on small requests: {ratio:.2f}x (target >= 0.5x)")
    cost = validation_cost(big, 3 if args.quick else 7)
    print(f"10 MB image request, in process: json_body + media check median "
          f"{cost['total_ms']:.0f} ms (min {cost['min_ms']:.0f} ms; target < 100 ms): JSON "
          f"{cost['json_ms']:.0f} ms, schema {cost['schema_ms']:.0f} ms, media decode+hash "
          f"{cost['media_ms']:.0f} ms")
    print(f"  peak memory {cost['peak_mb']:.1f} MB for a {cost['payload_mb']:.1f} MB body = "
          f"{cost['peak_mb'] / cost['payload_mb']:.2f}x (target < 4x)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
