"""The mock's WaveSpeed v3 API in process, and the job state machine both queue APIs share.

Every response is checked against the schema its protocol declares for that endpoint and
status, so a drift between handler and schema fails here rather than in a client.
"""

from __future__ import annotations

import io
import time
from typing import Any

import anyio
import httpx
import pytest
from PIL import Image

from harness import media, providers, schemas
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.jobs import FAIL_MESSAGE, Job, Phase
from harness.strategies import of_size

pytestmark = pytest.mark.anyio
API = providers.get("wavespeed").api("wavespeed-v3")
AUTH = {"Authorization": f"Bearer {MOCK_KEY}"}
IMAGE, VIDEO = "/api/v3/wavespeed-ai/minicpm-v/image", "/api/v3/wavespeed-ai/minicpm-v/video"
ORDER = ["created", "processing", "completed"]


def png(size: int = 4) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), (200, 30, 30)).save(buf, "PNG")
    return buf.getvalue()


PNG_URL = media.data_url(png())
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"


def client(**config: Any) -> httpx.AsyncClient:
    app = build_app(MockConfig(**config), names=["wavespeed"])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                             base_url="http://mock.test/wavespeed")


def checked(response: httpx.Response, endpoint: str) -> dict[str, Any]:
    """The body, after checking it against the schema declared for this endpoint and status."""
    declared = API.protocol.endpoint(endpoint).responses
    assert response.status_code in declared, (response.status_code, response.text)
    body = response.json()
    schemas.validator(declared[response.status_code]).validate(body)
    if response.status_code >= 400:  # the envelope's code mirrors the HTTP status
        assert body["code"] == response.status_code and body["data"] is None
    return body


async def test_sync_submit_answers_the_completed_prediction() -> None:
    async with client() as c:  # the image page: enable_sync_mode defaults to true
        r = await c.post(IMAGE, json={"image": PNG_URL, "custom_prompt": "What colour?"},
                         headers=AUTH)
        data = checked(r, "submit")["data"]
    assert r.status_code == 200 and data["status"] == "completed"
    assert len(data["outputs"]) == 1 and "png" in data["outputs"][0]
    assert "What colour?" in data["outputs"][0] and data["has_nsfw_contents"] == [False]
    assert data["urls"]["get"] == f"http://mock.test/wavespeed/api/v3/predictions/{data['id']}/result"
    assert data["error"] == "" and data["timings"]["inference"] > 0


async def test_async_prediction_moves_forward_and_hides_outputs_until_completed() -> None:
    async with client(job_step_s=0.08) as c:  # the video model defaults to async
        r = await c.post(VIDEO, json={"video": media.data_url(MP4)}, headers=AUTH)
        first = checked(r, "submit")["data"]
        seen, deadline = [first], time.monotonic() + 10
        while seen[-1]["status"] != "completed":
            assert time.monotonic() < deadline, "prediction never completed"
            await anyio.sleep(0.005)
            seen.append(checked(await c.get(first["urls"]["get"], headers=AUTH), "result")["data"])
        by_id = checked(await c.get(f"/api/v3/predictions/{first['id']}", headers=AUTH),
                        "prediction")["data"]
        sync = checked(await c.post(VIDEO, json={"video": media.data_url(MP4),
                                                 "enable_sync_mode": True}, headers=AUTH),
                       "submit")["data"]
    statuses = [d["status"] for d in seen]
    assert statuses[0] == "created" and "processing" in statuses
    assert [ORDER.index(s) for s in statuses] == sorted(ORDER.index(s) for s in statuses)
    for d in seen:
        assert (d["outputs"] != []) == (d["status"] == "completed"), d
        assert d["id"] == first["id"] and d["urls"] == first["urls"]
    assert by_id == seen[-1] and "mp4" in by_id["outputs"][0]
    assert sync["outputs"] == by_id["outputs"]  # same input, same answer, sync or not


@pytest.mark.parametrize("sync", [True, False])
async def test_failed_prediction_arrives_in_a_200_envelope(sync: bool) -> None:
    body = {"image": PNG_URL, "custom_prompt": "describe [FAIL]", "enable_sync_mode": sync}
    async with client(job_step_s=0.01) as c:
        r = await c.post(IMAGE, json=body, headers=AUTH)
        data, deadline = checked(r, "submit")["data"], time.monotonic() + 10
        while data["status"] not in ("completed", "failed"):
            assert time.monotonic() < deadline, "prediction never finished"
            r = await c.get(data["urls"]["get"], headers=AUTH)
            data = checked(r, "result")["data"]
    assert r.status_code == 200 and r.json()["code"] == 200
    assert data["status"] == "failed" and data["error"] == FAIL_MESSAGE and data["outputs"] == []


async def test_ids_and_answers_are_a_function_of_seed_and_request() -> None:
    async def run(seed: int) -> list[dict[str, Any]]:
        async with client(seed=seed) as c:
            return [(await c.post(IMAGE, json={"image": PNG_URL}, headers=AUTH)).json()["data"]
                    for _ in range(2)]

    a, b, other = await run(7), await run(7), await run(8)
    assert [d["id"] for d in a] == [d["id"] for d in b] and a[0]["id"] != a[1]["id"]
    assert a[0]["outputs"] == b[0]["outputs"]
    assert {d["id"] for d in other}.isdisjoint(d["id"] for d in a)


TOO_BIG = media.data_url(of_size("png", 10 * 1024 * 1024 + 64))  # whole, only too big


@pytest.mark.parametrize(("path", "body", "headers", "status", "named"), [
    (IMAGE, {"image": PNG_URL}, {}, 401, "api key"),
    (IMAGE, {"image": PNG_URL}, {"Authorization": "Bearer wrong-key"}, 401, "invalid"),
    (IMAGE, {"custom_prompt": "hi"}, AUTH, 400, "image"),
    (IMAGE, {"image": PNG_URL, "seed": -2}, AUTH, 400, "seed"),
    (IMAGE, {"image": PNG_URL, "preset_prompt": "poem"}, AUTH, 400, "preset_prompt"),
    (IMAGE, {"image": "data:image/png;base64,iVBORw0KGgoAAA"}, AUTH, 400, "image"),
    (IMAGE, {"image": PNG_URL.replace("image/png", "image/jpeg")}, AUTH, 400, "declared MIME"),
    (IMAGE, {"image": media.data_url(MP4)}, AUTH, 400, "image"),
    (VIDEO, {"image": PNG_URL}, AUTH, 400, "video"),
    ("/api/v3/wavespeed-ai/minicpm-v/audio", {"image": PNG_URL}, AUTH, 404, "minicpm-v/audio"),
])
async def test_invalid_requests_get_the_envelope_naming_the_field(
        path: str, body: dict[str, Any], headers: dict[str, str], status: int, named: str) -> None:
    async with client() as c:
        r = await c.post(path, json=body, headers=headers)
    assert r.status_code == status
    message = checked(r, "submit")["message"] if path in (IMAGE, VIDEO) else r.json()["message"]
    assert named.lower() in message.lower(), message
    assert MOCK_KEY not in r.text and len(r.text) < 2000  # never echoes keys or payloads


@pytest.mark.parametrize(("path", "body", "advisory", "status", "named"), [
    (IMAGE, {"image": PNG_URL, "sed": 1}, "sed: additionalProperties false", 400, "sed"),
    (IMAGE, {"image": PNG_URL, "custom_prompt": "x" * 5000}, "/custom_prompt: maxLength 4096",
     400, "custom_prompt"),
    (IMAGE, {"image": TOO_BIG}, "/image: decoded media is", 413, "image"),
    ("/api/v3/media/uploads", {"filename": "a.png", "size": 11 * 1024 * 1024,
                               "content_type": "image/png"}, "file: 11534336 bytes", 400, "limit"),
], ids=["unknown-field", "long-custom-prompt", "over-10-MiB", "upload-over-10-MiB"])
async def test_unsourced_limits_are_advisory_unless_strict(
        path: str, body: dict[str, Any], advisory: str, status: int, named: str) -> None:
    """Seed 000 states no closed object, prompt length or size limit: accepted with an
    advisory header by default; a strict mock refuses with the envelope naming the field."""
    async with client() as c, client(strict=True) as strict:
        r = await c.post(path, json=body, headers=AUTH)
        refused = await strict.post(path, json=body, headers=AUTH)
    assert r.status_code == 200 and advisory in r.headers["x-harness-advisory"], r.text[:300]
    assert refused.status_code == status and named in refused.json()["message"]


async def test_bad_json_and_unknown_prediction() -> None:
    async with client() as c:
        bad = await c.post(IMAGE, content=b"{nope", headers=AUTH)
        missing = await c.get("/api/v3/predictions/does-not-exist/result", headers=AUTH)
        anon = await c.get("/api/v3/predictions/does-not-exist", headers={})
    assert checked(bad, "submit")["message"].startswith("request body is not valid JSON")
    assert "does-not-exist" in checked(missing, "result")["message"] and missing.status_code == 404
    assert checked(anon, "prediction")["code"] == 401


async def test_media_upload_flow_round_trips_the_bytes() -> None:
    data = png(16)
    async with client() as c:
        ticket = checked(await c.post("/api/v3/media/uploads", headers=AUTH, json={
            "filename": "dir/cat photo.png", "size": len(data), "content_type": "image/png"}),
            "upload")["data"]
        upload = ticket["upload"]
        assert upload["url"].startswith("http://mock.test/wavespeed/")
        put = await c.put(upload["url"], content=data, headers=upload["headers"])  # no key
        got = await c.get(ticket["download_url"])
        tampered = await c.put(upload["url"].replace(f"size={len(data)}", "size=1"), content=b"x")
        short = await c.put(upload["url"], content=data[:-1])
        longer = await c.put(upload["url"], content=data + b"!")
        unknown = await c.get(ticket["download_url"].replace("/files/", "/files/0"))
    assert put.status_code == 200 and got.content == data
    assert got.headers["content-type"] == "image/png" and ticket["download_url"].endswith("cat%20photo.png")
    assert (tampered.status_code, short.status_code, longer.status_code) == (403, 400, 413)
    assert unknown.status_code == 404 and unknown.json()["code"] == 404


@pytest.mark.parametrize(("body", "status", "named"), [
    ({"filename": "a.png", "size": 10, "content_type": "image png"}, 400, "content_type"),
    ({"filename": "a.png", "size": -1, "content_type": "image/png"}, 400, "size"),
])
async def test_upload_ticket_is_refused_with_the_field_named(
        body: dict[str, Any], status: int, named: str) -> None:
    async with client() as c:
        r = await c.post("/api/v3/media/uploads", headers=AUTH, json=body)
    assert r.status_code == status and named in checked(r, "upload")["message"]


async def test_job_store_stays_bounded() -> None:
    app = build_app(MockConfig(store_max_items=5), names=["wavespeed"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://mock.test/wavespeed") as c:
        ids = [(await c.post(VIDEO, json={"video": "https://cdn.example/v.mp4"},
                             headers=AUTH)).json()["data"]["id"] for _ in range(12)]
        first = await c.get(f"/api/v3/predictions/{ids[0]}/result", headers=AUTH)
        last = await c.get(f"/api/v3/predictions/{ids[-1]}/result", headers=AUTH)
    assert len(app.state.mock.part("wavespeed").jobs) <= 5 and len(set(ids)) == 12
    assert first.status_code == 404 and last.status_code == 200


def job(**kw: Any) -> Job:
    return Job("j1", "p", "m", {}, "answer", **{"born": 100.0, "step_s": 1.0, **kw})


def test_job_phases_follow_the_clock_and_only_move_forward() -> None:
    j = job()
    phases = [j.phase(100.0 + t / 10) for t in range(40)]
    assert phases[0] is Phase.QUEUED and phases[15] is Phase.RUNNING and phases[-1] is Phase.SUCCEEDED
    assert [list(Phase).index(p) for p in phases] == sorted(list(Phase).index(p) for p in phases)
    assert j.done_in(100.5) == 1.5 and j.done_in(200.0) == 0.0
    assert job(sync=True).phase(100.0) is Phase.SUCCEEDED
    assert job(error=FAIL_MESSAGE).phase(102.0) is Phase.FAILED
    assert job(step_s=0.0).phase(100.0) is Phase.SUCCEEDED
    cancelled = job(cancelled=True)
    assert cancelled.phase(100.0) is cancelled.phase(500.0) is Phase.CANCELLED
    assert j.logs(Phase.QUEUED) == [] and "Inference done" in j.logs(Phase.SUCCEEDED)[-1]["message"]
