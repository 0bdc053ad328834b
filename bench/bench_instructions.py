"""Instructions per small chat through the whole mock app, counted by valgrind, in one command.

Req/s and CPU time move 10-20 % with whatever else the machine runs, more than most single
changes to the hot path; an instruction count does not. This runs the mock app in process
(every middleware, the router, the chat handler and the journal, no socket) under valgrind's
callgrind for two request counts and prints the difference per request, so start-up cancels
out; with ``--before-src`` it counts an older checkout the same way and prints the ratio. Time
still has the last word (`bench_mock.py`): objects kept per request cost cache misses that no
instruction count shows.

Run: ``.venv/bin/python bench/bench_instructions.py [--before-src /path/to/checkout]`` (~1 min;
needs valgrind: ``apt-get install -y valgrind``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COUNTS = (300, 1300)  # requests per run; the difference over their gap is per request


def chats(n: int) -> None:
    """``n`` small chats through the app of the checkout on ``sys.path`` (the valgrind side)."""
    from harness.mock.app import build_app
    from harness.mock.config import MOCK_KEY, MockConfig

    app = build_app(MockConfig(), ["modelbest"])
    body = json.dumps({"model": "MiniCPM-V-4.6-Instruct", "max_completion_tokens": 64,
                       "messages": [{"role": "user", "content": "Describe a calm lake."}]}).encode()
    head = [(b"host", b"mock"), (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {MOCK_KEY}".encode()),
            (b"content-length", str(len(body)).encode())]

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start" and message["status"] != 200:
            raise SystemExit(f"the mock answered {message['status']}")

    async def run() -> None:
        for _ in range(n):
            await app({"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                       "method": "POST", "scheme": "http", "root_path": "", "query_string": b"",
                       "path": "/modelbest/v1/chat/completions",
                       "raw_path": b"/modelbest/v1/chat/completions", "headers": list(head),
                       "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}, receive, send)

    asyncio.run(run())


def _env(src: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(src), "PYTHONHASHSEED": "0", "PATH": "/usr/bin:/bin"}


def instructions(src: Path, n: int) -> int:
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--chats", str(n)], cwd=src, capture_output=True, text=True, env=_env(src))
    found = re.search(r"Collected : (\d+)", out.stderr)
    if out.returncode or not found:
        raise SystemExit(f"valgrind run in {src} failed:\n{out.stdout[-2000:]}{out.stderr[-2000:]}")
    return int(found.group(1))


def per_request(src: Path) -> float:
    # Compile the checkout's modules first: in a fresh checkout the two counted runs would
    # otherwise race to write __pycache__, and the one that compiles counts ~100k a request more.
    subprocess.run([sys.executable, __file__, "--chats", "5"], cwd=src, env=_env(src), check=True,
                   capture_output=True)
    with ThreadPoolExecutor(len(COUNTS)) as pool:
        low, high = pool.map(lambda n: instructions(src, n), COUNTS)
    return (high - low) / (COUNTS[1] - COUNTS[0])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before-src", type=Path, help="an older checkout to count the same way")
    parser.add_argument("--chats", type=int, help=argparse.SUPPRESS)  # the valgrind side
    args = parser.parse_args(argv)
    if args.chats is not None:
        chats(args.chats)
        return 0
    if not shutil.which("valgrind"):
        print("bench_instructions: valgrind is not installed (apt-get install -y valgrind)",
              file=sys.stderr)
        return 2
    if args.before_src and not (args.before_src / "harness").is_dir():
        print(f"bench_instructions: --before-src {args.before_src}: no harness/ package there",
              file=sys.stderr)
        return 2
    now = per_request(ROOT)
    print(f"this checkout: {now / 1000:,.0f}k instructions per small chat (in process)")
    if args.before_src:
        before = per_request(args.before_src.resolve())
        print(f"--before-src:  {before / 1000:,.0f}k; this checkout runs {now / before:.2f}x "
              "of its instructions")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
