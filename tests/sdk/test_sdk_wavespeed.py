"""wavespeed 2.0 (the official SDK, on ``requests``) against the served mock.

``Client(base_url=<mock>/wavespeed)`` appends ``/api/v3`` itself. The SDK reads
``WAVESPEED_API_KEY`` once, at import, into ``wavespeed.config.api.api_key``, so setting the
variable in a test is too late: tests patch that attribute or pass ``api_key``. Faults are
injected per request through the SDK's own header hook (``_get_headers`` is called once per
HTTP request), so a single poll can get a 503 while the rest of the run is clean, and each
client's ``client_name`` (sent as ``X-Client-Name``) tags its requests in the mock's log.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
import wavespeed
from PIL import Image
from wavespeed.api.client import Client

from harness import media, schemas
from harness.mock.config import MOCK_KEY
from harness.mock.faults import HEADER
from harness.mock.jobs import FAIL_MESSAGE
from harness.mock.serve import ServedMock

pytestmark = pytest.mark.sdk
IMAGE_MODEL, VIDEO_MODEL = "wavespeed-ai/minicpm-v/image", "wavespeed-ai/minicpm-v/video"
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"
VIDEO_INPUT = {"video": media.data_url(MP4), "custom_prompt": "What happens?"}


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (5, 5), (250, 200, 0)).save(buf, "PNG")
    return buf.getvalue()


class FaultyClient(Client):
    """A Client that adds a fault header to chosen requests (1 = the first it sends)."""

    def __init__(self, faults: dict[int, str] | None = None, **kw: Any) -> None:
        super().__init__(**kw)
        self.faults, self.sent = faults or {}, 0

    def _get_headers(self) -> dict[str, str]:
        self.sent += 1
        headers = super()._get_headers()
        if self.sent in self.faults:
            headers[HEADER] = self.faults[self.sent]
        return headers


Make = Callable[..., FaultyClient]


@pytest.fixture
def make(served_mock: ServedMock) -> Make:
    """Clients of the served mock: tiny retry interval, a unique client name, given faults."""
    def make(faults: dict[int, str] | None = None, **kw: Any) -> FaultyClient:
        return FaultyClient(faults, api_key=MOCK_KEY, base_url=served_mock.base_url("wavespeed"),
                            retry_interval=0.01, client_name=f"test-{uuid.uuid4().hex}", **kw)
    return make


def seen(served: ServedMock, client: Client) -> list[Any]:
    return [s for s in served.app.state.mock.journal.entries()
            if s.headers.get("x-client-name") == client.client_name]


def test_sync_mode_answers_in_one_request(make: Make, served_mock: ServedMock) -> None:
    client = make()
    out = client.run(IMAGE_MODEL, {"image": media.data_url(png())}, enable_sync_mode=True,
                     timeout=10)
    assert list(out) == ["outputs"] and len(out["outputs"]) == 1 and "png" in out["outputs"][0]
    assert [s.method for s in seen(served_mock, client)] == ["POST"]


def test_async_run_polls_until_completed(make: Make, served_mock: ServedMock) -> None:
    client = make()  # the video model defaults to async; the SDK omits the flag when False
    out = client.run(VIDEO_MODEL, VIDEO_INPUT, poll_interval=0.005, timeout=10)
    requests_seen = seen(served_mock, client)
    assert "mp4" in out["outputs"][0] and "What happens?" in out["outputs"][0]
    assert requests_seen[0].method == "POST" and len(requests_seen) >= 2
    assert all(s.method == "GET" and s.path.endswith("/result") for s in requests_seen[1:])


def test_get_result_returns_the_documented_envelope(make: Make,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    client = make()
    done = client.run_no_throw(VIDEO_MODEL, VIDEO_INPUT, poll_interval=0.005, timeout=10)
    assert done["status"] == "completed" and done["error"] is None
    envelope = client.get_result(done["task_id"])
    schemas.validator("wavespeed-v3/prediction-response").validate(envelope)
    assert envelope["data"]["outputs"] == done["outputs"] and envelope["data"]["status"] == "completed"
    # The module-level helpers use the key read at import time, here patched in.
    monkeypatch.setattr(wavespeed.config.api, "api_key", MOCK_KEY)
    monkeypatch.setattr(wavespeed.config.api, "base_url", client.base_url)
    monkeypatch.setattr(wavespeed.api, "_default_client", None)
    assert wavespeed.get_result(done["task_id"]) == envelope


def test_failed_prediction_surfaces_as_the_sdk_error(make: Make) -> None:
    client = make()
    with pytest.raises(RuntimeError) as async_failure:
        client.run(VIDEO_MODEL, {**VIDEO_INPUT, "custom_prompt": "[fail]"}, poll_interval=0.005,
                   timeout=10)
    assert "Prediction failed" in str(async_failure.value) and FAIL_MESSAGE in str(async_failure.value)
    with pytest.raises(RuntimeError) as sync_failure:
        client.run(IMAGE_MODEL, {"image": media.data_url(png()), "custom_prompt": "[fail]"},
                   enable_sync_mode=True, timeout=10)
    assert FAIL_MESSAGE in str(sync_failure.value)
    report = client.run_no_throw(IMAGE_MODEL, {"image": media.data_url(png()),
                                               "custom_prompt": "[fail]"}, timeout=10)
    assert report["status"] == "failed" and report["outputs"] is None


def test_invalid_input_is_refused_at_submit(make: Make) -> None:
    with pytest.raises(RuntimeError) as info:
        make().run(IMAGE_MODEL, {"custom_prompt": "no image"}, enable_sync_mode=True, timeout=10)
    assert "HTTP 400" in str(info.value) and "image" in str(info.value)
    assert MOCK_KEY not in str(info.value)


def test_upload_returns_a_url_serving_the_bytes(make: Make, tmp_path: Path) -> None:
    data = png()
    path = tmp_path / "sun flower.png"
    path.write_bytes(data)
    url = make().upload(str(path))
    got = requests.get(url, timeout=5)
    assert got.content == data and got.headers["content-type"] == "image/png"
    named = io.BytesIO(data)
    named.name = "stream.png"
    assert requests.get(make().upload(named), timeout=5).content == data


def test_upload_without_a_guessable_type_is_accepted(make: Make, tmp_path: Path) -> None:
    # The SDK leaves content_type out of the ticket when it cannot guess one; the provider's
    # ticket takes that, so the mock must too (the bytes still round-trip).
    path = tmp_path / "capture.raw"
    path.write_bytes(png())
    assert requests.get(make().upload(str(path)), timeout=5).content == png()


def test_one_503_on_a_poll_is_retried_and_the_run_recovers(
        make: Make, served_mock: ServedMock, capsys: pytest.CaptureFixture[str]) -> None:
    client = make({2: "status=503"})  # request 1 is the submit, 2 the first poll
    out = client.run(VIDEO_MODEL, VIDEO_INPUT, poll_interval=0.005, timeout=10)
    polls = seen(served_mock, client)[1:]
    assert "mp4" in out["outputs"][0] and len(polls) >= 2
    assert polls[0].headers.get(HEADER) == "status=503" and HEADER not in polls[1].headers
    assert "Server error (HTTP 503)" in capsys.readouterr().out


def test_poll_retries_are_capped(make: Make, served_mock: ServedMock) -> None:
    client = make({n: "status=503" for n in range(2, 10)}, max_connection_retries=2)
    with pytest.raises(RuntimeError, match="HTTP 503"):
        client.run(VIDEO_MODEL, VIDEO_INPUT, poll_interval=0.005, timeout=10)
    assert len(seen(served_mock, client)) == 1 + 3  # submit, then 1 try + 2 retries


def test_a_429_on_submit_is_never_retried(make: Make, served_mock: ServedMock) -> None:
    client = make({1: "status=429"})
    with pytest.raises(RuntimeError, match="HTTP 429"):
        client.run(IMAGE_MODEL, {"image": media.data_url(png())}, timeout=10)
    assert [s.method for s in seen(served_mock, client)] == ["POST"]
