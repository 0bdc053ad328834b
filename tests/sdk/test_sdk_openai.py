"""The official openai SDK (3.x, on httpx2) against the served mock and in process.

What a user of ModelBest, the MiMo gateway or a local server would run: sync and async
clients, streams, base64 vision, the model list, the SDK's error classes and its retries
(counted on the mock's request log), and the same client handed an in-process httpx2
transport instead of a socket.
"""

from __future__ import annotations

import asyncio
import io
import time
import uuid
from typing import Any

import httpx2
import openai
import pytest
from PIL import Image

from harness import media
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY
from harness.mock.serve import ServedMock
from harness.mock.transport import httpx2_async_transport, httpx2_transport

pytestmark = pytest.mark.sdk
MODELS = {"modelbest": "MiniCPM-V-4.6-Instruct", "mimo": "mimo-v2-omni",
          "local": "openbmb/MiniCPM-V-4_5"}


def picture(fmt: str, colour: tuple[int, int, int] = (30, 160, 90)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (16, 12), colour).save(buf, fmt)
    return media.data_url(buf.getvalue())


VISION = [{"role": "user", "content": [
    {"type": "image_url", "image_url": {"url": picture("PNG")}},
    {"type": "image_url", "image_url": {"url": picture("JPEG"), "detail": "low"}},
    {"type": "text", "text": "what differs?"}]}]


def client(served: ServedMock, provider: str = "modelbest", **kw: Any) -> openai.OpenAI:
    return openai.OpenAI(base_url=served.base_url(provider), api_key=MOCK_KEY, **kw)


def tagged() -> tuple[str, dict[str, str]]:
    """A unique test-case id and the header that marks this test's requests in the log."""
    case = uuid.uuid4().hex
    return case, {"x-test-case": case}


def requests_seen(served: ServedMock, case: str) -> int:
    return sum(1 for s in served.app.state.mock.journal.entries() if s.headers.get("x-test-case") == case)


@pytest.mark.parametrize("provider", ["modelbest", "mimo", "local"])
def test_vision_with_base64_images(served_mock: ServedMock, provider: str) -> None:
    with client(served_mock, provider) as c:
        completion = c.chat.completions.create(model=MODELS[provider], messages=VISION,
                                               max_completion_tokens=256)
    text = completion.choices[0].message.content or ""
    assert text.startswith("Received 2 images [png") and "jpeg" in text
    assert completion.choices[0].finish_reason == "stop" and completion.model == MODELS[provider]
    assert completion.usage is not None and completion.usage.prompt_tokens == 2 + 2 * 64


def test_sync_stream_equals_the_non_stream_answer(served_mock: ServedMock) -> None:
    with client(served_mock) as c:
        whole = c.chat.completions.create(model=MODELS["modelbest"], messages=VISION)
        chunks = list(c.chat.completions.create(model=MODELS["modelbest"], messages=VISION,
                                                stream=True, stream_options={"include_usage": True}))
    text = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert text == whole.choices[0].message.content
    assert [ch.choices[0].finish_reason for ch in chunks if ch.choices][-1] == "stop"
    assert chunks[-1].choices == [] and chunks[-1].usage == whole.usage


def test_async_client_and_stream(served_mock: ServedMock) -> None:
    async def run() -> tuple[str, str]:
        async with openai.AsyncOpenAI(base_url=served_mock.base_url("mimo"), api_key=MOCK_KEY) as c:
            whole = await c.chat.completions.create(model="mimo-v2-omni", messages=VISION)
            stream = await c.chat.completions.create(model="mimo-v2-omni", messages=VISION,
                                                     stream=True)
            text = "".join([ch.choices[0].delta.content or "" async for ch in stream])
            return whole.choices[0].message.content or "", text

    whole, streamed = asyncio.run(run())
    assert whole == streamed and whole.startswith("Received 2 images")


def test_models_list(served_mock: ServedMock) -> None:
    with client(served_mock) as c:
        ids = [m.id for m in c.models.list()]
    assert ids == ["MiniCPM-V-4.6-Instruct", "MiniCPM-V-4.6-Thinking", "MiniCPM-o-4.5"]


def test_thinking_model_reasoning_reaches_the_sdk(served_mock: ServedMock) -> None:
    with client(served_mock) as c:
        message = c.chat.completions.create(model="MiniCPM-V-4.6-Thinking", messages=VISION
                                            ).choices[0].message
    assert message.model_extra and message.model_extra["reasoning_content"]
    assert (message.content or "").startswith("Received 2 images")


BIG = media.data_url(b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024 + 1 - 8))


@pytest.mark.parametrize(("status", "error", "kwargs"), [
    (400, openai.BadRequestError, {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": picture("JPEG").replace("jpeg", "png", 1)}}]}]}),
    (401, openai.AuthenticationError, {"key": "sk-not-the-mock-key"}),
    (404, openai.NotFoundError, {"model": "gpt-4o"}),
    (413, openai.APIStatusError, {"messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": BIG}}]}]}),
    (429, openai.RateLimitError, {"fault": "status=429,retry-after=0"}),
], ids=["400", "401", "404", "413", "429"])
def test_error_classes(served_mock: ServedMock, status: int, error: type[Exception],
                       kwargs: dict[str, Any]) -> None:
    with openai.OpenAI(base_url=served_mock.base_url("mimo"), max_retries=0,
                       api_key=kwargs.get("key", MOCK_KEY)) as c, pytest.raises(error) as caught:
        c.chat.completions.create(
            model=kwargs.get("model", "mimo-v2-omni"), messages=kwargs.get("messages", VISION),
            extra_headers={"x-harness-fault": kwargs["fault"]} if "fault" in kwargs else None)
    exc = caught.value
    assert isinstance(exc, openai.APIStatusError) and exc.status_code == status
    assert exc.request_id  # x-request-id surfaces on the exception
    assert isinstance(exc.body, dict) and exc.body["message"]
    assert "base64" not in str(exc) and MOCK_KEY not in str(exc)


@pytest.mark.parametrize(("status", "retries", "error"), [
    (429, 2, openai.RateLimitError), (503, 1, openai.InternalServerError)])
def test_retries_obey_retry_after(served_mock: ServedMock, status: int, retries: int,
                                  error: type[Exception]) -> None:
    case, headers = tagged()
    fault = {"x-harness-fault": f"status={status},retry-after=0.05"}
    t0 = time.perf_counter()
    with client(served_mock, max_retries=retries) as c, pytest.raises(error):
        c.chat.completions.create(model=MODELS["modelbest"], messages=VISION,
                                  extra_headers={**headers, **fault})
    assert requests_seen(served_mock, case) == 1 + retries
    # Retry-After 0.05 s obeyed: the SDK's own back-off would be at least 0.5 s per retry
    assert time.perf_counter() - t0 < 0.5 * retries


def test_in_process_through_an_httpx2_transport() -> None:
    app = build_app(names=["mimo", "local"])
    with openai.OpenAI(base_url="http://mock.invalid/mimo/v1", api_key=MOCK_KEY,
                       http_client=httpx2.Client(transport=httpx2_transport(app))) as c:
        whole = c.chat.completions.create(model="mimo-v2-omni", messages=VISION)
        streamed = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
            model="mimo-v2-omni", messages=VISION, stream=True) if ch.choices)
        with pytest.raises(openai.NotFoundError):
            c.chat.completions.create(model="nope", messages=VISION)
    assert streamed == whole.choices[0].message.content

    async def run() -> str:
        async with openai.AsyncOpenAI(
                base_url="http://mock.invalid/local/v1", api_key="sk-local",
                http_client=httpx2.AsyncClient(transport=httpx2_async_transport(app))) as c:
            return (await c.chat.completions.create(model=MODELS["local"], messages=VISION)
                    ).choices[0].message.content or ""

    assert asyncio.run(run()).startswith("Received 2 images")
    assert sum(1 for s in app.state.mock.journal.entries() if s.path.endswith("/chat/completions")) == 4
