"""Third-party servers the tests start as processes: the optional extras' binaries.

The gateway tests run the LiteLLM proxy (``.venv-gateway``) and the local-server tests run
llama-cpp-python's server (``.venv-local``); each lives in its own venv because it pins
packages below the harness's needs. :func:`require` skips a test that needs a missing extra,
saying how to install it, or fails it under ``VLM_HARNESS_REQUIRE_EXTRAS=1`` (CI, where a skip
would hide that the extra was never exercised). :func:`spawned` starts a server on a free
loopback port, waits for its health URL under a deadline (showing the server's log when it
dies or never answers) and stops it at the end. :func:`known_deviation` matches a finding
against a table of a server's known deviations, so its tests fail on a false positive and on a
deviation that went away.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from harness.findings import Finding

ROOT = Path(__file__).resolve().parents[1]


def require(found: str | None, reason: str) -> str:
    """``found`` (a path to the extra's binary), or skip / fail with ``reason``."""
    if found is None:
        if os.environ.get("VLM_HARNESS_REQUIRE_EXTRAS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def spawned(argv: Callable[[int], list[str]], health: str, log: Path, startup_s: float,
            name: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, float]]:
    """``(base URL, seconds to come up)`` of ``argv(port)`` once ``GET base+health`` is 200."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen(argv(port), stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, "NO_PROXY": "127.0.0.1,localhost",
                                     "no_proxy": "127.0.0.1,localhost", **(env or {})},
                                cwd=log.parent)
    url = f"http://127.0.0.1:{port}"
    try:
        started = time.monotonic()
        while True:
            if proc.poll() is not None:
                pytest.fail(f"{name} exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
            if time.monotonic() - started > startup_s:
                pytest.fail(f"{name} did not come up within {startup_s} s:\n"
                            f"{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}{health}", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.25)
        yield url, time.monotonic() - started
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def known_deviation(table: tuple[tuple[str, str, str], ...], finding: Finding, provider: str,
                    endpoint: str) -> bool:
    """True when ``finding`` matches a ``(check, provider/endpoint, message pattern)`` entry;
    ``*`` and a bare provider are wildcards."""
    for check, where, pattern in table:
        scope_provider, _, scope_endpoint = where.partition("/")
        if (check == finding.check and scope_provider in ("*", provider)
                and scope_endpoint in ("", endpoint) and re.search(pattern, finding.message)):
            return True
    return False
