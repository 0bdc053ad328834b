"""What the mock's handlers share (:mod:`harness.mock.context`): here, where media is decoded.

Megabytes of media are decoded and hashed on a worker thread so the event loop keeps serving;
the answer, its error and the journal's media digest must not depend on which thread did it.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from harness import media
from harness.mock import base64_pattern, context
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY
from harness.mock.transport import httpx_sync_transport
from harness.strategies import of_size

CHAT = "/modelbest/v1/chat/completions"
BEARER = {"authorization": f"Bearer {MOCK_KEY}"}


def _chat(url: str) -> dict[str, Any]:
    return {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}, {"type": "text", "text": "what?"}]}]}


def _served(monkeypatch: pytest.MonkeyPatch, off_loop_min: int,
            url: str) -> tuple[int, httpx.Response, dict[str, Any]]:
    """The thread that decoded ``url``'s media, the answer and its journal entry."""
    threads: list[int] = []
    real = context.media_payloads

    def watched(*args: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(*args, **kwargs)

    monkeypatch.setattr(context, "media_payloads", watched)
    monkeypatch.setattr(context, "OFF_LOOP_MIN", off_loop_min)
    app = build_app(names=["modelbest"])
    with httpx.Client(transport=httpx_sync_transport(app), base_url="http://mock.invalid") as c:
        answer = c.post(CHAT, headers=BEARER, json=_chat(url))
        (entry,) = c.get("/_harness/journal").json()["entries"]
    (thread,) = threads
    return thread, answer, entry


@pytest.mark.parametrize(("url", "status"), [
    (media.data_url(of_size("png", 200_000), "image/png"), 200),
    ("data:image/png;base64,iVBORw0KGgo" + "A" * 200_000, 400)],  # not whole base64 quanta
    ids=["valid", "corrupt"])
def test_large_media_is_decoded_off_the_loop_with_the_same_answer(
        monkeypatch: pytest.MonkeyPatch, url: str, status: int) -> None:
    loop_thread, inline, inline_entry = _served(monkeypatch, len(url) + 1, url)
    worker, off_loop, off_loop_entry = _served(monkeypatch, len(url), url)
    assert worker != loop_thread
    assert inline.status_code == status
    assert (off_loop.status_code, off_loop.json()) == (inline.status_code, inline.json())
    assert off_loop_entry["request"] == inline_entry["request"]  # the media digests among them


def test_base64_the_schema_check_decoded_is_not_decoded_again(
        monkeypatch: pytest.MonkeyPatch) -> None:
    url = media.data_url(of_size("png", 200_000), "image/png")
    monkeypatch.setattr(base64_pattern, "HAND_ON_MIN", 10**9)  # never handed on: decoded twice
    _, twice, twice_entry = _served(monkeypatch, 10**9, url)
    monkeypatch.setattr(base64_pattern, "HAND_ON_MIN", 1000)
    decodes: list[int] = []
    real = media._chunks
    monkeypatch.setattr(media, "_chunks", lambda v, s: decodes.append(s) or real(v, s))
    _, once, once_entry = _served(monkeypatch, 10**9, url)
    assert decodes == []  # media.parse took the slices the schema check had decoded
    assert twice.status_code == 200 and (once.status_code, once.json()) == (200, twice.json())
    assert once_entry["request"] == twice_entry["request"]  # the media digests among them
