"""The mock's state stays bounded by count, bytes and age, per provider, swept in the background.

Issue 15: 20 uploads of 100 MB took the served mock to 2 GB and kept it there; expired uploads
went only when the next upload came; one provider's flood evicted another's jobs.
"""

from __future__ import annotations

import asyncio
import base64
import time

import httpx
import pytest

from harness.mock import store as store_module
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.store import BoundedStore, Journal, Sweeper
from harness.mock.transport import httpx_sync_transport
from harness.strategies.media import of_size


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_bytes_are_a_budget_like_items_and_age() -> None:
    clock = Clock()
    store: BoundedStore[bytes] = BoundedStore(100, 10.0, clock, max_bytes=25, size=len)
    for key in "abc":
        store.put(key, b"x" * 10)
    assert list(store) == ["b", "c"] and store.bytes == 20 and store.evicted == 1
    store.put("b", b"y" * 2)  # rewriting a key re-measures it
    assert store.bytes == 12
    store.put("huge", b"z" * 100)  # over the whole budget: kept alone, the others make room
    assert list(store) == ["huge"] and store.bytes == 100


def test_sweep_drops_expired_items_without_any_access() -> None:
    clock = Clock()
    store: BoundedStore[bytes] = BoundedStore(100, 10.0, clock, max_bytes=1000, size=len)
    store.put("old", b"x" * 100)
    clock.now = 5.0
    store.put("new", b"y" * 100)
    clock.now = 12.0
    assert store.sweep() == 1 and list(store) == ["new"] and store.bytes == 100
    clock.now = 16.0
    assert store.sweep() == 1 and store.bytes == 0


def test_the_sweep_starts_once_and_no_request_asks_for_the_loop(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # asyncio.get_running_loop() is a getpid system call on Python 3.11: one a request, a
    # quarter of a small chat's system calls, until the sweeper stopped asking.
    asked = []
    real = asyncio.get_running_loop
    monkeypatch.setattr(store_module.asyncio, "get_running_loop",
                        lambda: asked.append(1) or real())
    sweeps = []
    sweeper = Sweeper(lambda: sweeps.append(1) or 0, 0.001)

    async def requests() -> asyncio.Task[None] | None:
        for _ in range(100):
            sweeper.ensure_running()
        await asyncio.sleep(0.05)
        task = sweeper._task
        await sweeper.stop()
        return task

    task = asyncio.run(requests())
    assert len(asked) == 1 + 1 and sweeps  # one start, one stop; and it swept
    assert task is not None and task.cancelled()


def test_the_sweep_starts_again_on_a_new_loop_once_its_own_is_gone() -> None:
    sweeper = Sweeper(lambda: 0, 60.0)

    async def request() -> asyncio.Task[None] | None:
        sweeper.ensure_running()
        return sweeper._task

    loops = [asyncio.new_event_loop(), asyncio.new_event_loop()]
    try:  # run_until_complete leaves the first loop's sweep pending, its loop stopped
        first, second = (loop.run_until_complete(request()) for loop in loops)
        assert first is not None and second is not None and first is not second
        assert not first.done() and second.get_loop() is loops[1]
        assert loops[1].run_until_complete(request()) is second  # its loop runs it: kept
    finally:
        for loop in loops:
            for task in asyncio.all_tasks(loop):
                task.cancel()
                loop.run_until_complete(asyncio.gather(task, return_exceptions=True))
            loop.close()


def test_bad_budgets_are_refused() -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        BoundedStore(1, 1.0, max_bytes=0)


def test_journal_keeps_the_newest_entries_within_its_bytes() -> None:
    journal: Journal[str] = Journal(100, 10, len)
    for word in ("aaaa", "bbbb", "cccc"):
        journal.append(word)
    assert list(journal) == ["bbbb", "cccc"] and journal.bytes == 8 and journal[-1] == "cccc"


def _client(config: MockConfig) -> httpx.Client:
    return httpx.Client(transport=httpx_sync_transport(build_app(config)), base_url="http://mock")


def _wavespeed_upload(client: httpx.Client, data: bytes) -> str:
    auth = {"Authorization": f"Bearer {MOCK_KEY}"}
    ticket = client.post("/wavespeed/api/v3/media/uploads", headers=auth, json={
        "filename": "a.png", "size": len(data), "content_type": "image/png"}).json()["data"]
    put = client.put(ticket["upload"]["url"], content=data, headers=ticket["upload"]["headers"])
    assert put.status_code == 200, put.text
    return str(ticket["download_url"])


def test_uploads_are_bounded_in_bytes_per_provider() -> None:
    data = of_size("png", 300_000)
    with _client(MockConfig(upload_budget_bytes=1_000_000)) as client:
        urls = [_wavespeed_upload(client, data) for _ in range(3)]
        urls += [_wavespeed_upload(client, data + bytes([i])) for i in range(3)]  # distinct ids
        state = client.get("/_harness/state").json()["providers"]["wavespeed"]["uploads"]
        assert state["bytes"] <= 1_000_000
        assert client.get(urls[-1]).status_code == 200
        assert client.get(urls[0]).status_code == 404  # evicted to stay within the budget


def test_expired_uploads_are_swept_without_new_traffic() -> None:
    with _client(MockConfig(store_ttl_s=0.2, sweep_interval_s=0.05)) as client:
        _wavespeed_upload(client, of_size("png", 200_000))
        assert client.get("/_harness/state").json()["bytes"] >= 200_000
        deadline = time.monotonic() + 5
        while client.get("/_harness/state").json()["bytes"] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.get("/_harness/state").json()["bytes"] == 0


def test_one_providers_flood_never_evicts_another_providers_jobs() -> None:
    png = "data:image/png;base64," + base64.b64encode(of_size("png", 100)).decode()
    with _client(MockConfig(store_max_items=5, job_step_s=0.0)) as client:
        ws = client.post("/wavespeed/api/v3/wavespeed-ai/minicpm-v/image", json={"image": png},
                         headers={"Authorization": f"Bearer {MOCK_KEY}"}).json()["data"]
        for _ in range(20):  # four times the per-provider item budget
            r = client.post("/fal/queue/fal-ai/mini-cpm", json={"image_urls": [png], "prompt": "x"},
                            headers={"Authorization": f"Key {MOCK_KEY}"})
            assert r.status_code == 200
        got = client.get(ws["urls"]["get"], headers={"Authorization": f"Bearer {MOCK_KEY}"})
        assert got.status_code == 200 and got.json()["data"]["id"] == ws["id"]
        fal = client.get("/_harness/state").json()["providers"]["fal"]["jobs"]
        assert fal["items"] == 5
