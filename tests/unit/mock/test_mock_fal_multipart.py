"""fal's multipart CDN upload in process: the refusals (the SDK's happy path is in tests/sdk)."""

from __future__ import annotations

import httpx
import pytest

from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY

pytestmark = pytest.mark.anyio
ROOT = "http://mock.invalid"


async def test_parts_join_by_number_and_bad_parts_are_refused() -> None:
    app = build_app(names=["fal"])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ROOT) as c:
        token = (await c.post("/fal/rest/storage/auth/token", json={},
                              headers={"Authorization": f"Key {MOCK_KEY}"})).json()["token"]
        bearer = {"Authorization": f"Bearer {token}"}
        anon = await c.post("/fal/cdn/files/upload/multipart")
        made = (await c.post("/fal/cdn/files/upload/multipart", headers={
            **bearer, "Content-Type": "text/plain", "X-Fal-File-Name": "a.txt"})).json()
        base = f"{made['access_url']}/multipart/{made['uploadId']}"
        second = await c.put(f"{base}/2", content=b"world", headers=bearer)
        first = await c.put(f"{base}/1", content=b"hello ", headers=bearer)
        unknown = await c.put(f"{made['access_url']}/multipart/nope/1", content=b"x",
                              headers=bearer)
        wrong = await c.post(f"{base}/complete", headers=bearer, json={"parts": [
            {"partNumber": 1, "etag": '"0"'}]})
        missing = await c.post(f"{base}/complete", headers=bearer, json={"parts": [
            {"partNumber": 3, "etag": first.headers["etag"]}]})
        done = await c.post(f"{base}/complete", headers=bearer, json={"parts": [  # as finished
            {"partNumber": 2, "etag": second.headers["etag"]},
            {"partNumber": 1, "etag": first.headers["etag"]}]})
        got = await c.get(made["access_url"])
    assert anon.status_code == 401
    assert first.status_code == second.status_code == 200 and first.headers["etag"].startswith('"')
    assert unknown.status_code == 404 and "not found" in unknown.json()["detail"]
    assert wrong.status_code == missing.status_code == 400
    assert done.status_code == 200 and done.json()["access_url"] == made["access_url"]
    assert got.content == b"hello world"
