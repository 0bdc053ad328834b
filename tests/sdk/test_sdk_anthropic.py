"""The official anthropic SDK against the served mock's MiMo ``/anthropic`` API.

anthropic 2.x (installed) authenticates with ``Authorization: Bearer`` and sends
``anthropic-version: 2026-10-21``; 0.x/1.x send ``x-api-key`` and ``2023-06-01``. The 1.x
style is reproduced with the installed client by giving it those two headers and no key, and
the request log proves what went over the wire. With ``VLM_HARNESS_ANTHROPIC1`` pointing at a
folder holding a real anthropic 1.x (``pip install --no-deps --target DIR 'anthropic<2'``), the
real 1.x SDK is also run against the mock, in a subprocess so the two versions never mix.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import anthropic
import httpx2
import pytest
from PIL import Image

from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY
from harness.mock.serve import ServedMock
from harness.mock.transport import httpx2_transport

pytestmark = pytest.mark.sdk
LABEL = "anthropic-messages"


def image_block(fmt: str = "PNG", media_type: str = "image/png",
                data: bytes | None = None) -> dict[str, Any]:
    if data is None:
        buf = io.BytesIO()
        Image.new("RGB", (10, 10), (250, 200, 0)).save(buf, fmt)
        data = buf.getvalue()
    return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                        "data": base64.b64encode(data).decode()}}


def ask(*blocks: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": [*blocks, {"type": "text", "text": "describe it"}]}]


@pytest.fixture(autouse=True)
def no_key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


def headers_seen(served: ServedMock, case: str) -> list[dict[str, str]]:
    return [dict(s.headers) for s in served.app.state.mock.journal.entries()
            if s.headers.get("x-test-case") == case]


def test_v2_client_sends_bearer_and_the_new_version(served_mock: ServedMock) -> None:
    case = uuid.uuid4().hex
    with anthropic.Anthropic(base_url=served_mock.base_url("mimo", LABEL), api_key=MOCK_KEY,
                             default_headers={"x-test-case": case}) as c:
        message = c.messages.create(model="mimo-v2-omni", max_tokens=256, system="be brief",
                                    messages=ask(image_block()))
    assert message.content[0].type == "text"
    assert message.content[0].text.startswith("Received 1 image [png")
    assert message.stop_reason == "end_turn" and message.usage.output_tokens > 0
    (sent,) = headers_seen(served_mock, case)
    assert sent["anthropic-version"] == "2026-10-21" and "authorization" in sent
    assert "x-api-key" not in sent


def test_v1_header_style_x_api_key_and_2023_06_01(served_mock: ServedMock) -> None:
    case = uuid.uuid4().hex
    v1 = {"x-api-key": MOCK_KEY, "anthropic-version": "2023-06-01", "x-test-case": case}
    with anthropic.Anthropic(base_url=served_mock.base_url("mimo", LABEL), api_key=None,
                             default_headers=v1) as c:
        message = c.messages.create(model="mimo-v2-omni", max_tokens=64, messages=ask())
    assert message.content[0].type == "text" and message.content[0].text
    (sent,) = headers_seen(served_mock, case)
    assert sent["anthropic-version"] == "2023-06-01" and "x-api-key" in sent
    assert "authorization" not in sent


def test_stream_helper_text_equals_the_message(served_mock: ServedMock) -> None:
    with anthropic.Anthropic(base_url=served_mock.base_url("mimo", LABEL), api_key=MOCK_KEY) as c:
        whole = c.messages.create(model="mimo-v2-omni", max_tokens=512, messages=ask(image_block()))
        with c.messages.stream(model="mimo-v2-omni", max_tokens=512,
                               messages=ask(image_block())) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
    assert whole.content[0].type == "text" and text == whole.content[0].text
    assert final.usage.output_tokens == whole.usage.output_tokens
    assert final.stop_reason == whole.stop_reason and final.id == whole.id


def test_async_stream_with_max_tokens(served_mock: ServedMock) -> None:
    async def run() -> tuple[str, str | None]:
        async with anthropic.AsyncAnthropic(base_url=served_mock.base_url("mimo", LABEL),
                                            api_key=MOCK_KEY) as c:
            async with c.messages.stream(model="mimo-v2-omni", max_tokens=5,
                                         messages=ask()) as stream:
                text = "".join([t async for t in stream.text_stream])
                return text, (await stream.get_final_message()).stop_reason

    text, stop = asyncio.run(run())
    assert len(text.split()) == 5 and stop == "max_tokens"


def test_413_is_content_too_large(served_mock: ServedMock) -> None:
    big = image_block(data=b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024 + 1 - 8))
    with anthropic.Anthropic(base_url=served_mock.base_url("mimo", LABEL), api_key=MOCK_KEY,
                             max_retries=0) as c, pytest.raises(anthropic.ContentTooLargeError) as e:
        c.messages.create(model="mimo-v2-omni", max_tokens=64, messages=ask(big))
    assert isinstance(e.value, anthropic.APIStatusError) and e.value.status_code == 413
    assert e.value.request_id and "10,485,761 bytes" in str(e.value)


def test_529_is_overloaded(served_mock: ServedMock) -> None:
    with anthropic.Anthropic(base_url=served_mock.base_url("mimo", LABEL), api_key=MOCK_KEY,
                             max_retries=0) as c, pytest.raises(anthropic.OverloadedError) as e:
        c.messages.create(model="mimo-v2-omni", max_tokens=64, messages=ask(),
                          extra_headers={"x-harness-fault": "status=529"})
    assert e.value.status_code == 529 and e.value.request_id


def test_a_cut_stream_raises_the_overloaded_error_event(served_mock: ServedMock) -> None:
    with anthropic.Anthropic(base_url=served_mock.base_url("mimo", LABEL), api_key=MOCK_KEY) as c, \
            pytest.raises(anthropic.APIStatusError, match="overloaded_error"), \
            c.messages.stream(model="mimo-v2-omni", max_tokens=64, messages=ask(),
                              extra_headers={"x-harness-fault": "cut=5"}) as stream:
        "".join(stream.text_stream)


def test_mislabelled_image_is_a_bad_request(served_mock: ServedMock) -> None:
    with anthropic.Anthropic(base_url=served_mock.base_url("mimo", LABEL), api_key=MOCK_KEY) as c, \
            pytest.raises(anthropic.BadRequestError, match="declared MIME image/png"):
        c.messages.create(model="mimo-v2-omni", max_tokens=64,
                          messages=ask(image_block("JPEG", "image/png")))


def test_in_process_through_an_httpx2_transport() -> None:
    app = build_app(names=["mimo"])
    with anthropic.Anthropic(base_url="http://mock.invalid/mimo/anthropic", api_key=MOCK_KEY,
                             http_client=httpx2.Client(transport=httpx2_transport(app))) as c:
        with c.messages.stream(model="mimo-v2-omni", max_tokens=128,
                               messages=ask(image_block("WEBP", "image/webp"))) as stream:
            text = "".join(stream.text_stream)
    assert text.startswith("Received 1 image [webp")


V1_SCRIPT = """
import json, sys, anthropic
c = anthropic.Anthropic(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0)
m = c.messages.create(model="mimo-v2-omni", max_tokens=64, messages=json.loads(sys.argv[3]),
                      extra_headers={"x-test-case": sys.argv[4]})
with c.messages.stream(model="mimo-v2-omni", max_tokens=64, messages=json.loads(sys.argv[3]),
                       extra_headers={"x-test-case": sys.argv[4]}) as s:
    text = "".join(s.text_stream)
try:
    c.messages.create(model="mimo-v2-omni", max_tokens=64, messages=json.loads(sys.argv[3]),
                      extra_headers={"x-harness-fault": "status=529"})
except anthropic.APIStatusError as e:
    overloaded = type(e).__name__
print(json.dumps({"version": anthropic.__version__, "text": m.content[0].text,
                  "streamed": text, "overloaded": overloaded}))
"""


@pytest.mark.skipif(not os.environ.get("VLM_HARNESS_ANTHROPIC1"),
                    reason="set VLM_HARNESS_ANTHROPIC1 to a --target folder holding anthropic 1.x")
def test_real_anthropic_1x_sdk(served_mock: ServedMock) -> None:
    case = uuid.uuid4().hex
    env = {**os.environ, "PYTHONPATH": os.environ["VLM_HARNESS_ANTHROPIC1"]}
    out = subprocess.run([sys.executable, "-c", V1_SCRIPT, served_mock.base_url("mimo", LABEL),
                          MOCK_KEY, json.dumps(ask(image_block())), case],
                         capture_output=True, text=True, env=env, timeout=60, check=True)
    got = json.loads(out.stdout)
    assert got["version"].startswith("1.")
    assert got["text"] == got["streamed"] and got["text"].startswith("Received 1 image [png")
    assert got["overloaded"] == "OverloadedError"
    sent = headers_seen(served_mock, case)
    assert len(sent) == 2 and all(h["anthropic-version"] == "2023-06-01" for h in sent)
    assert all("x-api-key" in h and "authorization" not in h for h in sent)
