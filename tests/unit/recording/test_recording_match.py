"""Replay matching: method, path, query, normalised body, credentials; and a helpful miss."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from vcr.record_mode import RecordMode
from vcr.request import Request

from harness import providers
from harness.checks import requests
from harness.checks.errors import WRONG_KEY
from harness.media import data_url
from harness.recording import match
from harness.recording.cassettes import Pool, Recording, default_dir
from harness.recording.match import CassetteMiss
from harness.recording.recorder import record
from harness.recording.scrub import Rebase, hooks
from harness.secrets import Scrubber
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.cassette import CassetteTarget

MIMO = providers.get("mimo")
CHAT = MIMO.api("openai-chat")
TEXT = requests.sample(CHAT, "text").json_body
URL = "http://mock.invalid/mimo/v1/chat/completions"
OWN = ("k-own-123456",)


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("cassettes")
    record(TargetOptions(), "mimo", "text,image,auth-enforced", out)
    return out


@pytest.fixture
def target(folder: Path) -> Iterator[CassetteTarget]:
    replay = CassetteTarget(TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=str(folder)))
    yield replay
    replay.close()


def _post(target: CassetteTarget, body: Any, **client: Any) -> httpx.Response:
    with target.client(MIMO, CHAT, **client) as c:
        return c.post("/chat/completions", json=body)


def test_the_recorded_request_replays_its_answer(target: CassetteTarget) -> None:
    answer = _post(target, TEXT)
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"]
    assert answer.request.url == URL  # the canonical base: nothing left this process
    reordered = json.dumps(dict(reversed(list(TEXT.items()))), indent=2).encode()
    with target.client(MIMO, CHAT) as c:  # key order and layout are not part of the contract
        again = c.post("/chat/completions", content=reordered,
                       headers={"content-type": "application/json"})
    assert again.json() == answer.json()


def test_a_changed_body_field_misses_with_the_closest_requests_and_a_diff(target: CassetteTarget) -> None:
    changed = copy.deepcopy(TEXT) | {"temperature": 0.7}
    with pytest.raises(CassetteMiss) as info:
        _post(target, changed)
    text = str(info.value)
    assert text.startswith("no recorded interaction for POST /mimo/v1/chat/completions (mimo)")
    assert "closest recorded requests:" in text and "text.yaml #0: POST /mimo/v1/chat/completions" in text
    assert "body differs:" in text and '- "temperature": 0\n' in text and '+ "temperature": 0.7' in text
    assert "  4. " not in text and "  3. " in text  # the three closest, no more
    assert "vlm-harness record --target mock --provider mimo" in text
    assert [name for name, _ in info.value.similar[0][1]] == ["body"]


def test_method_and_path_are_matched_and_named_on_a_miss(target: CassetteTarget) -> None:
    with target.client(MIMO, CHAT) as c, pytest.raises(CassetteMiss) as info:
        c.put("/chat/completions", json=TEXT)
    assert "method differs: method 'PUT' != recorded 'POST'" in str(info.value)
    with target.client(MIMO, CHAT) as c, pytest.raises(CassetteMiss) as info:
        c.post("/chat/completion", json=TEXT)
    assert "path differs: path '/mimo/v1/chat/completion' != recorded '/mimo/v1/chat/completions'" \
        in str(info.value)


def test_no_key_our_key_and_a_wrong_key_are_told_apart(target: CassetteTarget) -> None:
    # auth-enforced sends the same text body without a key and with WRONG_KEY.
    style = CHAT.auth.styles[0]
    assert _post(target, TEXT).status_code == 200
    assert _post(target, TEXT, auth=False).status_code == 401
    assert _post(target, TEXT, auth=False, headers={style.header: style.value(WRONG_KEY)}).status_code == 401
    with pytest.raises(CassetteMiss, match="auth differs: credentials"):
        _post(target, TEXT, auth=False, headers={style.header: style.value("another-wrong-key")})


def test_replayed_answers_repeat_once_every_match_has_played(target: CassetteTarget) -> None:
    first, again = _post(target, TEXT), _post(target, TEXT)
    assert first.json() == again.json()


def _pool(folder: Path, mode: RecordMode) -> Pool:
    recording = None
    if mode is not RecordMode.NONE:
        recording = Recording(hooks(Scrubber(()), own=OWN), Rebase(), origin="test", target="test",
                              media_threshold=4096)
    return Pool("mimo", folder, mode, own=OWN, recording=recording)


def _image_request(png: bytes) -> Request:
    body = requests.media_sample(CHAT, "image", [data_url(png)]).json_body
    return Request("POST", URL, json.dumps(body).encode(), {"api-key": OWN[0]})


def test_a_big_image_matches_its_digest_and_another_image_misses(tmp_path: Path) -> None:
    big, other = requests.png_of_size(50_000), requests.png_of_size(50_001)
    writer = _pool(tmp_path, RecordMode.ALL)
    answer = {"status": {"code": 200, "message": "OK"}, "headers": {}, "body": {"string": b"{}"}}
    writer.add("big-image", _image_request(big), answer)
    [written] = writer.save()
    assert written.size < 3000 and re.search(r"<media\s+sha256=", written.path.read_text())
    reader = _pool(tmp_path, RecordMode.NONE)
    assert reader.find(_image_request(big)) is not None
    assert reader.find(_image_request(other)) is None
    diff = str(reader.miss(_image_request(other)))
    assert "body differs:" in diff and "size=50001 format=png>" in diff and "size=50000" in diff


def test_among_equal_matches_the_next_in_its_own_cassette_wins(tmp_path: Path) -> None:
    """Two scenarios recorded the same request with different answers; each replays its own."""
    writer = _pool(tmp_path, RecordMode.ALL)
    request = json.dumps(TEXT).encode()

    def add(scenario: str, *answers: str) -> None:
        for text in answers:
            writer.add(scenario, Request("GET", f"{URL}/{text}", b"", {}) if text != "same" else
                       Request("POST", URL, request, {}), {"status": {"code": 200, "message": "OK"},
                       "headers": {}, "body": {"string": f"{scenario}:{text}".encode()}})

    add("a-first", "same")
    add("b-second", "lead", "same")
    writer.save()
    reader = _pool(tmp_path, RecordMode.NONE)

    def ask(path: str = "") -> bytes:
        asked = Request("GET", f"{URL}/{path}", b"", {}) if path else Request("POST", URL, request, {})
        found = reader.find(asked)
        assert found is not None
        return found["body"]["string"]

    # b's check runs alone: its "same" comes after its "lead", so a's copy is left alone.
    assert ask("lead") == b"b-second:lead" and ask() == b"b-second:same"
    assert ask() == b"a-first:same"


def test_vcrpy_itself_replays_a_shipped_cassette_with_these_matchers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIMO_API_KEY", "sk-mine-for-vcrpy")
    recorder = vcr.VCR(record_mode="none")
    for m in match.MATCH_ON:
        recorder.register_matcher(f"vlmh_{m.__name__}", m)
    names = [f"vlmh_{m.__name__}" for m in match.MATCH_ON]
    with recorder.use_cassette(str(default_dir() / "mimo" / "text.yaml"), match_on=names):
        answer = httpx.post(URL, json=TEXT, headers={"api-key": "sk-mine-for-vcrpy"})
    assert answer.status_code == 200 and answer.json()["object"] == "chat.completion"
