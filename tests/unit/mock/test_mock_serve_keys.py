"""``vlm-harness serve`` as users need it: the key and SDK snippets printed, their own keys accepted.

A gateway configured with its own upstream key (``--key``, repeatable) or any key
(``--any-key``) can be pointed at the served mock; a missing key is still a 401 in the
provider's shape, and the user's keys are never printed or echoed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.serve import ServedMock, banner

BODY = {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": "hi"}]}


def _status(served: ServedMock, key: str | None) -> int:
    headers = {"Authorization": f"Bearer {key}"} if key is not None else {}
    return httpx.post(f"{served.base_url('modelbest')}/chat/completions", json=BODY,
                      headers=headers, timeout=10).status_code


def test_extra_keys_and_any_key_are_accepted_a_missing_key_is_not() -> None:
    with ServedMock(MockConfig(extra_keys=("sk-my-gateway-upstream",))) as served:
        assert _status(served, "sk-my-gateway-upstream") == 200
        assert _status(served, MOCK_KEY) == 200
        assert _status(served, "sk-someone-else") == 401
    with ServedMock(MockConfig(any_key=True)) as served:
        assert _status(served, "sk-anything") == 200
        assert _status(served, None) == 401


def test_the_banner_gives_the_key_and_each_sdk_its_base_url() -> None:
    with ServedMock(MockConfig()) as served:
        lines = banner(served)
        url = served.url
    assert lines[0].startswith(f"API key: {MOCK_KEY}")
    assert f'  OpenAI(base_url="{url}/modelbest/v1", api_key="{MOCK_KEY}")' in lines
    assert f'  Anthropic(base_url="{url}/mimo/anthropic", api_key="{MOCK_KEY}")' in lines
    assert f'  wavespeed.Client(api_key="{MOCK_KEY}", base_url="{url}/wavespeed")' in lines
    assert any("fal-client hard-codes https" in line for line in lines)


def test_the_command_prints_them_and_never_a_users_key(tmp_path: Path) -> None:
    cli = Path(sys.executable).with_name("vlm-harness")
    out = tmp_path / "out.txt"
    with out.open("w") as sink:
        proc = subprocess.Popen([str(cli), "serve", "--port", "0", "--key", "sk-secret-upstream"],
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "SDKs:" not in out.read_text() and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)
        text = out.read_text()
    finally:
        os.kill(proc.pid, signal.SIGINT)
        proc.wait(timeout=30)
    assert f"API key: {MOCK_KEY}" in text and "also accepted: the 1 key(s) given with --key" in text
    assert 'OpenAI(base_url="http://127.0.0.1:' in text
    assert "sk-secret-upstream" not in text
