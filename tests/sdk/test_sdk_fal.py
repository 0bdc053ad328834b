"""fal-client 1.0 against the served mock: subscribe, submit/status/result/cancel, run, upload.

fal-client hard-codes https hosts, so its module constants ``RUN_URL_FORMAT``,
``QUEUE_URL_FORMAT``, ``REST_URL`` and ``CDN_URL`` are pointed at the mock (read at call time),
and the key comes from ``FAL_KEY`` as in production. The SDK retries 429 ten times with ~46 s
of back-off and ignores Retry-After, so retry tests shrink its delay constants and inject the
fault with a request hook that fires on the first request only.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import fal_client
import httpx
import pytest
from fal_client import client as fal_module
from PIL import Image

from harness import media
from harness.mock.config import MockConfig
from harness.mock.faults import HEADER
from harness.mock.jobs import FAIL_MESSAGE
from harness.mock.serve import ServedMock

pytestmark = pytest.mark.sdk


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (6, 6), (0, 160, 90)).save(buf, "PNG")
    return buf.getvalue()


IMAGE_INPUT = {"image_urls": [media.data_url(png())], "prompt": "Who is she?"}
VIDEO_INPUT = {"video_url": "https://cdn.example/dance.mp4", "prompt": "What is she doing?"}


Connect = Callable[[ServedMock], fal_client.SyncClient]  # the conftest's fixture


@pytest.fixture
def fal(served_mock: ServedMock, connect: Connect) -> fal_client.SyncClient:
    return connect(served_mock)


@pytest.fixture(scope="module")
def slow_mock() -> Iterator[ServedMock]:
    """A mock whose jobs stay in each phase for 0.25 s, so every phase can be observed."""
    with ServedMock(MockConfig(job_step_s=0.25), names=["fal"]) as served:
        yield served


def test_subscribe_reports_queue_updates_with_logs(slow_mock: ServedMock, connect: Connect) -> None:
    fal = connect(slow_mock)
    updates: list[fal_client.Status] = []
    enqueued: list[str] = []
    result = fal.subscribe("fal-ai/mini-cpm", IMAGE_INPUT, with_logs=True, interval=0.02,
                           on_enqueue=enqueued.append, on_queue_update=updates.append)
    kinds = [type(u).__name__ for u in updates]
    assert kinds[0] == "Queued" and kinds[-1] == "Completed" and "InProgress" in kinds
    progress = [u for u in updates if isinstance(u, fal_client.InProgress)]
    assert all(u.logs for u in progress) and "Running inference" in progress[0].logs[-1]["message"]
    done = updates[-1]
    assert isinstance(done, fal_client.Completed) and done.error is None
    assert done.metrics["inference_time"] > 0
    assert "png" in result["output"] and "Who is she?" in result["output"] and len(enqueued) == 1


def test_submit_status_result_and_handles_rebuilt_from_the_id(fal: fal_client.SyncClient) -> None:
    handle = fal.submit("fal-ai/mini-cpm/video", VIDEO_INPUT)
    assert "/fal-ai/mini-cpm/requests/" in handle.status_url  # the app's sub-path is dropped
    first = handle.status(with_logs=True)
    assert isinstance(first, fal_client.Queued | fal_client.InProgress | fal_client.Completed)
    output = handle.get(interval=0.01)
    assert "mp4" in output["output"]
    rebuilt = fal.get_handle("fal-ai/mini-cpm/video", handle.request_id)
    assert rebuilt.status_url == handle.status_url and rebuilt.response_url == handle.response_url
    assert fal.result("fal-ai/mini-cpm/video", handle.request_id) == output
    done = fal.status("fal-ai/mini-cpm/video", handle.request_id, with_logs=False)
    assert isinstance(done, fal_client.Completed) and done.logs is None


def test_cancel_of_a_queued_request(slow_mock: ServedMock, connect: Connect) -> None:
    fal = connect(slow_mock)
    handle = fal.submit("fal-ai/mini-cpm", IMAGE_INPUT)
    handle.cancel()
    status = handle.status()
    assert isinstance(status, fal_client.Completed)
    assert (status.error, status.error_type) == ("Request was cancelled", "client_cancelled")
    with pytest.raises(fal_client.FalClientHTTPError) as info:
        handle.get()
    assert info.value.status_code == 400 and info.value.error_type == "client_cancelled"
    with pytest.raises(fal_client.FalClientHTTPError) as again:
        handle.cancel()  # 400 ALREADY_COMPLETED: the SDK raises on any 4xx
    assert again.value.status_code == 400


def test_run_is_synchronous_and_errors_carry_fal_details(fal: fal_client.SyncClient) -> None:
    out = fal.run("fal-ai/mini-cpm", IMAGE_INPUT)
    assert out == fal.subscribe("fal-ai/mini-cpm", IMAGE_INPUT, interval=0.01)
    with pytest.raises(fal_client.FalClientHTTPError) as info:
        fal.run("fal-ai/mini-cpm", {"image_urls": IMAGE_INPUT["image_urls"]})
    err = info.value
    assert err.status_code == 422 and err.error_type == "validation_error"
    assert [d["loc"] for d in err.message] == [["body", "prompt"]]  # type: ignore[attr-defined]
    with pytest.raises(fal_client.FalClientHTTPError) as failed:
        fal.subscribe("fal-ai/mini-cpm", {**IMAGE_INPUT, "prompt": "[fail]"}, interval=0.01)
    assert failed.value.status_code == 422 and FAIL_MESSAGE in str(failed.value)


def test_fal_own_example_webhook_is_accepted_and_not_delivered(
        fal: fal_client.SyncClient, served_mock: ServedMock) -> None:
    """Seeds 002/003 pass webhookUrl "https://optional.webhook.url/for/results": fal accepts
    it, so the mock does too; it never calls out, and logs the webhook as not delivered."""
    url = "https://optional.webhook.url/for/results"
    handle = fal.submit("fal-ai/mini-cpm", IMAGE_INPUT, webhook_url=url)
    assert handle.get()["output"]
    entry = next(e for e in served_mock.app.state.mock.webhooks
                 if e["request_id"] == handle.request_id)
    assert entry["url"] == url and "not delivered" in entry["skipped"]


def test_upload_via_the_storage_token_and_use_the_url(fal: fal_client.SyncClient,
                                                      served_mock: ServedMock) -> None:
    data = png()
    url = fal.upload(data, "image/png", "leaf.png")
    assert url.startswith(served_mock.base_url("fal", "fal-queue:cdn") + "/files/")
    assert httpx.get(url).content == data
    out = fal.run("fal-ai/mini-cpm", {"image_urls": [url], "prompt": "What is it?"})
    assert "png image url 127.0.0.1" in out["output"]


def requests_tagged(served: ServedMock, tag: str) -> list[Any]:
    return [s for s in served.app.state.mock.journal.entries() if s.headers.get("x-test-tag") == tag]


def test_429_once_is_retried_and_then_succeeds(fal: fal_client.SyncClient, served_mock: ServedMock,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fal_module, "BASE_DELAY", 0.01)  # 0.1 s doubling up to 30 s otherwise
    sent: list[httpx.Request] = []

    def first_only(request: httpx.Request) -> None:
        sent.append(request)
        if len(sent) == 1:
            request.headers[HEADER] = "status=429"

    fal._client.event_hooks["request"].append(first_only)
    tag = uuid.uuid4().hex
    out = fal.run("fal-ai/mini-cpm", IMAGE_INPUT, headers={"x-test-tag": tag})
    seen = requests_tagged(served_mock, tag)
    assert "png" in out["output"] and len(seen) == len(sent) == 2
    assert seen[0].headers.get(HEADER) == "status=429" and HEADER not in seen[1].headers


def test_persistent_429_stops_at_the_attempt_cap(fal: fal_client.SyncClient, served_mock: ServedMock,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fal_module, "BASE_DELAY", 0.01)
    monkeypatch.setattr(fal_module, "MAX_ATTEMPTS", 3)  # 10 in the SDK
    tag = uuid.uuid4().hex
    with pytest.raises(fal_client.FalClientHTTPError) as info:
        fal.run("fal-ai/mini-cpm", IMAGE_INPUT, headers={"x-test-tag": tag, HEADER: "status=429"})
    assert info.value.status_code == 429 and info.value.error_type == "rate_limited"
    assert len(requests_tagged(served_mock, tag)) == 3


def test_a_file_over_the_multipart_threshold_uploads_in_parts(
        fal: fal_client.SyncClient, served_mock: ServedMock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """fal-client uploads files over 100 MB in parts; the thresholds shrink so a test file does."""
    monkeypatch.setattr(fal_module, "MULTIPART_THRESHOLD", 4096)
    monkeypatch.setattr(fal_module, "MULTIPART_CHUNK_SIZE", 2048)
    data = media.data_url(png()).encode() * 64  # 4 parts of 2048, the last one shorter
    url = fal.upload(data, "text/plain", "notes.txt")
    assert "/multipart/" not in url and url.endswith("/notes.txt")
    assert httpx.get(url).content == data
    mine = [s for s in served_mock.app.state.mock.journal.entries()  # this upload's parts only
            if s.path.startswith(f"{httpx.URL(url).path}/multipart/")]
    assert sum(s.method == "PUT" for s in mine) == -(-len(data) // 2048) >= 3
