"""Stoplight Prism's validating proxy in front of the served mock sees no violation.

Prism (``tools/prism``, installed by ``.ci/run`` with ``npm ci``) runs as
``prism proxy --errors <vlm-harness openapi P> <mock>/P``: every request is checked against our
exported document before it is forwarded and every answer after, and with ``--errors`` a
violation replaces the answer (422 for a request, 500 with ``sl-violations`` for a response).
The traffic is what the official SDKs send (openai, anthropic; fal's and WaveSpeed's upload and
job flows as fal-client and the wavespeed SDK send them, over httpx since those SDKs follow
the mock's absolute URLs past the proxy) and injected faults. Any violation fails the test
with Prism's own words: either the export is wrong or the mock is off its contract.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest

from harness import media, openapi
from harness.mock.config import MOCK_KEY
from harness.mock.serve import ServedMock
from harness.strategies.media import of_size
from tests.extra_servers import ROOT, free_port, require

PRISM = ROOT / "tools/prism/node_modules/.bin/prism"
BEARER = {"Authorization": f"Bearer {MOCK_KEY}"}
PNG = media.data_url(of_size("png", 2000), "image/png")
# Prism 5.14's proxy forwards a request body as UTF-8 text: bytes that are not UTF-8 arrive
# re-encoded and longer (WaveSpeed's presigned PUT of 10 such bytes answered 413). So the files
# uploaded through it are text; images go as base64 in JSON, as the SDKs send them anyway.
FILE = b"a text file, uploaded as the SDKs upload any file\n" * 10


class Violations:
    """Every answer Prism replaced or marked, as (request, what Prism said)."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.answers = 0
        self.clients: list[Any] = []

    def hook(self, response: Any) -> None:
        self.answers += 1
        marked = response.headers.get("sl-violations")
        if marked or response.headers.get("content-type", "").startswith("application/problem"):
            response.read()
            self.seen.append(f"{response.request.method} {response.request.url.path} -> "
                             f"{response.status_code}: {marked or response.text[:600]}")

    def client(self, base: str, lib: Any = httpx) -> Any:
        """A client of ``lib`` (httpx, or httpx2 for the SDKs built on it) that sees every answer."""
        client = lib.Client(base_url=base, timeout=30, event_hooks={"response": [self.hook]})
        self.clients.append(client)  # closed when the test ends
        return client


@pytest.fixture(scope="module")
def prism(served_mock: ServedMock, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[dict[str, str]]:
    """provider -> the URL of a Prism proxy in front of the served mock's API of it."""
    binary = require(str(PRISM) if PRISM.exists() else None,
                     "Prism is not installed: npm ci --prefix tools/prism")
    folder = tmp_path_factory.mktemp("prism")
    procs, urls = [], {}
    try:
        for name in ("modelbest", "mimo", "fal", "wavespeed"):
            doc = folder / f"{name}.json"
            doc.write_text(json.dumps(openapi.build(name)))
            port = free_port()
            with (folder / f"{name}.log").open("wb") as log:
                procs.append(subprocess.Popen(
                    [binary, "proxy", "--errors", "-h", "127.0.0.1", "-p", str(port), str(doc),
                     f"{served_mock.url}/{name}"], stdout=log, stderr=subprocess.STDOUT))
            urls[name] = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        for name, url in urls.items():
            while True:  # Prism answers any path once it listens (404 for an unknown one)
                try:
                    httpx.get(f"{url}/_up", timeout=2)
                    break
                except httpx.TransportError:
                    if time.monotonic() > deadline:
                        pytest.fail(f"Prism for {name} did not start within 60 s:\n"
                                    f"{(folder / f'{name}.log').read_text()[-2000:]}")
                    time.sleep(0.3)
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture
def violations() -> Iterator[Violations]:
    found = Violations()
    yield found
    for client in found.clients:
        client.close()
    assert found.answers, "no answer came through Prism: nothing was checked"
    assert not found.seen, "Prism saw violations:\n" + "\n".join(found.seen)


def test_openai_sdk_traffic_and_faults(prism: dict[str, str], violations: Violations) -> None:
    for name, model in (("modelbest", "MiniCPM-V-4.6-Instruct"), ("mimo", "mimo-v2-omni")):
        client = openai.OpenAI(api_key=MOCK_KEY, base_url=f"{prism[name]}/v1", max_retries=0,
                               http_client=violations.client(f"{prism[name]}/v1"))
        text = [{"role": "user", "content": "Describe a calm lake."}]
        image = [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": PNG}},
                                              {"type": "text", "text": "What is this?"}]}]
        assert client.chat.completions.create(model=model, messages=text).choices
        assert client.chat.completions.create(model=model, messages=image).choices
        chunks = list(client.chat.completions.create(
            model=model, messages=text, stream=True, stream_options={"include_usage": True}))
        assert chunks[-1].usage is not None
        if name == "modelbest":
            assert [m.id for m in client.models.list()]
        for fault in ("status=429", "status=500", "error=overloaded"):
            with pytest.raises(openai.APIStatusError):
                client.chat.completions.create(model=model, messages=text,
                                               extra_headers={"x-harness-fault": fault})
        with pytest.raises(openai.AuthenticationError):
            openai.OpenAI(api_key="wrong", base_url=f"{prism[name]}/v1", max_retries=0,
                          http_client=violations.client(f"{prism[name]}/v1")
                          ).chat.completions.create(model=model, messages=text)


def test_anthropic_sdk_traffic_and_faults(prism: dict[str, str], violations: Violations) -> None:
    base = f"{prism['mimo']}/anthropic"
    client = anthropic.Anthropic(api_key=MOCK_KEY, base_url=base, max_retries=0,
                                 http_client=violations.client(base, httpx2))
    ask = {"model": "mimo-v2-omni", "max_tokens": 64,
           "messages": [{"role": "user", "content": "Describe a calm lake."}]}
    assert client.messages.create(**ask).content
    with client.messages.stream(**ask) as stream:
        assert stream.get_final_message().stop_reason
    for fault in ("status=429", "error=overloaded"):
        with pytest.raises(anthropic.APIStatusError):
            client.messages.create(**ask, extra_headers={"x-harness-fault": fault})


def _until_done(client: httpx.Client, path: str, headers: dict[str, str]) -> httpx.Response:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r = client.get(path, headers=headers)
        if r.status_code == 200 and ("COMPLETED" in r.text or "completed" in r.text):
            return r
        time.sleep(0.1)
    pytest.fail(f"{path} did not complete within 20 s")


def test_fal_upload_and_queue_as_fal_client_sends_them(prism: dict[str, str],
                                                       violations: Violations) -> None:
    key = {"Authorization": f"Key {MOCK_KEY}"}
    with violations.client(prism["fal"]) as c:
        token = c.post("/rest/storage/auth/token?storage_type=fal-cdn-v3", json={}, headers=key)
        assert token.status_code == 200, token.text
        bearer = {"Authorization": f"Bearer {token.json()['token']}"}
        upload = c.post("/cdn/files/upload", content=FILE, headers={
            **bearer, "Content-Type": "text/plain", "X-Fal-File-Name": "notes.txt"})
        assert upload.status_code == 200, upload.text
        file_path = httpx.URL(upload.json()["access_url"]).path.removeprefix("/fal")
        assert c.get(file_path).content == FILE
        submitted = c.post("/queue/fal-ai/mini-cpm", headers=key,
                           json={"image_urls": [PNG], "prompt": "Who drew this?"})
        assert submitted.status_code == 200, submitted.text
        rid = submitted.json()["request_id"]
        _until_done(c, f"/queue/fal-ai/mini-cpm/requests/{rid}/status", key)
        assert c.get(f"/queue/fal-ai/mini-cpm/requests/{rid}", headers=key).status_code == 200
        c.put(f"/queue/fal-ai/mini-cpm/requests/{rid}/cancel", headers=key)
        assert c.post("/run/fal-ai/mini-cpm", headers=key,
                      json={"image_urls": [PNG], "prompt": "Who?"}).status_code == 200
        assert c.post("/queue/fal-ai/mini-cpm", headers={**key, "x-harness-fault": "status=429"},
                      json={"image_urls": [PNG], "prompt": "Who?"}).status_code == 429


def test_wavespeed_upload_and_predictions_as_the_sdk_sends_them(
        prism: dict[str, str], violations: Violations) -> None:
    with violations.client(prism["wavespeed"]) as c:
        data = FILE
        ticket = c.post("/api/v3/media/uploads", headers=BEARER, json={
            "filename": "notes.txt", "size": len(data), "content_type": "text/plain"})
        assert ticket.status_code == 200, ticket.text
        put = httpx.URL(ticket.json()["data"]["upload"]["url"])
        stored = c.put(put.path.removeprefix("/wavespeed"), params=dict(put.params), content=data,
                       headers=ticket.json()["data"]["upload"]["headers"])
        assert stored.status_code == 200, stored.text
        got = c.get(httpx.URL(ticket.json()["data"]["download_url"]).path.removeprefix("/wavespeed"))
        assert got.content == data
        submitted = c.post("/api/v3/wavespeed-ai/minicpm-v/image", headers=BEARER,
                           json={"image": PNG, "custom_prompt": "What colour?"})
        assert submitted.status_code == 200, submitted.text
        pid = submitted.json()["data"]["id"]
        _until_done(c, f"/api/v3/predictions/{pid}/result", BEARER)
        assert c.get(f"/api/v3/predictions/{pid}", headers=BEARER).status_code == 200
        assert c.post("/api/v3/wavespeed-ai/minicpm-v/image",
                      headers={**BEARER, "x-harness-fault": "status=429"},
                      json={"image": PNG}).status_code == 429
