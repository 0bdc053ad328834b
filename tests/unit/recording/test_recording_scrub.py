"""Recording hooks: keys never reach a cassette or a report, big media becomes a digest."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from vcr.request import Request

from harness import engine, providers
from harness.checks.requests import png, png_of_size
from harness.media import data_url
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.recording.cassettes import default_dir, load
from harness.recording.recorder import record
from harness.recording.scrub import Rebase, credential, hooks, media_placeholder
from harness.secrets import REDACTED, Scrubber, key_variables
from harness.targets import make_target
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.mock import MockTarget

BIG = png_of_size(6000)  # 8,000 base64 characters: over the 4 KiB threshold
SMALL = png()


def _request(**changes: Any) -> Request:
    fields = {"method": "POST", "uri": "http://127.0.0.1:5555/mimo/v1/chat/completions",
              "body": b"{}", "headers": {"api-key": "sk-own-0123456789", "user-agent": "t"}}
    return Request(**(fields | changes))


def _response(body: bytes, **headers: list[str]) -> dict[str, Any]:
    return {"status": {"code": 200, "message": "OK"},
            "headers": {"content-type": ["application/json"], "content-length": [str(len(body))],
                        **headers}, "body": {"string": body}}


# -- media ---------------------------------------------------------------------------------

def test_big_media_becomes_a_placeholder_with_digest_size_and_format() -> None:
    url = data_url(BIG)
    tag = media_placeholder(url)
    digest = hashlib.sha256(BIG).hexdigest()[:16]
    assert tag == f"data:image/png;base64,<media sha256={digest} size={len(BIG)} format=png>"
    bare = base64.b64encode(BIG).decode()
    assert media_placeholder(bare) == f"<media sha256={digest} size={len(BIG)} format=png>"
    assert media_placeholder(tag) is None  # idempotent
    assert media_placeholder(data_url(SMALL)) is None  # under the threshold: kept verbatim
    assert media_placeholder("data:image/png;base64," + "A" * 5001) is None  # undecodable: kept
    assert media_placeholder("a long answer " * 500) is None


def test_media_is_replaced_anywhere_in_a_json_body_and_small_media_is_kept() -> None:
    chain = hooks(Scrubber(()))
    body = {"messages": [{"content": [{"type": "image_url", "image_url": {"url": data_url(BIG)}},
                                      {"type": "image", "source": {"data": base64.b64encode(BIG).decode()}},
                                      {"type": "image_url", "image_url": {"url": data_url(SMALL)}}]}],
            "image_urls": [data_url(BIG)], "video": data_url(BIG)}
    out = chain.request(_request(body=json.dumps(body).encode()))
    assert out is not None
    text = out.body.decode()
    assert text.count("<media sha256=") == 4 and data_url(SMALL) in text
    assert len(text) < 1000
    answer = chain.response(_response(json.dumps({"image": base64.b64encode(BIG).decode()}).encode()))
    assert answer is not None and b"<media sha256=" in answer["body"]["string"]
    assert answer["headers"]["content-length"] == [str(len(answer["body"]["string"]))]


# -- keys ----------------------------------------------------------------------------------

def test_credentials_keep_their_scheme_and_tell_our_key_from_another() -> None:
    own = ("sk-own-0123456789",)
    assert credential("Bearer sk-own-0123456789", own) == f"Bearer {REDACTED}"
    wrong = credential("Bearer vlmh-wrong-key", own)
    assert wrong.startswith("Bearer <REDACTED sha256=") and "wrong" not in wrong
    assert credential(wrong, own) == wrong and credential("", own) == ""


def test_request_hooks_redact_headers_query_and_body_and_are_idempotent() -> None:
    env = "sk-env-secret-abcdef"
    chain = hooks(Scrubber((env,)), own=("sk-own-0123456789",),
                  rebase=Rebase.of([("http://127.0.0.1:5555/mimo/v1", "http://mock.invalid/mimo/v1")]))
    request = _request(uri=f"http://127.0.0.1:5555/mimo/v1/chat/completions?key={env}&n=1",
                       body=json.dumps({"note": f"echo {env}"}).encode(),
                       headers={"api-key": "sk-own-0123456789", "x-other": env,
                                "authorization": "Bearer someone-elses-key"})
    once = chain.request(request)
    assert once is not None
    dump = repr((once.uri, once.body, dict(once.headers)))
    assert env not in dump and "sk-own" not in dump and "someone-elses" not in dump
    assert once.uri.startswith("http://mock.invalid/mimo/v1/chat/completions?")
    assert once.headers["api-key"] == REDACTED
    assert once.headers["authorization"].startswith("Bearer <REDACTED sha256=")
    twice = chain.request(Request(once.method, once.uri, once.body, dict(once.headers)))
    assert twice is not None
    assert (twice.uri, twice.body, dict(twice.headers)) == (once.uri, once.body, dict(once.headers))


def test_response_hooks_decompress_then_redact_body_and_credential_headers() -> None:
    env = "sk-env-secret-abcdef"
    chain = hooks(Scrubber((env,)), rebase=Rebase.of([("http://127.0.0.1:5555", "http://mock.invalid")]))
    body = gzip.compress(json.dumps({"echo": env, "next": "http://127.0.0.1:5555/fal/queue/x"}).encode())
    out = chain.response(_response(body, **{"content-encoding": ["gzip"],
                                            "set-cookie": ["session=abc"], "x-echo": [env]}))
    assert out is not None
    text = out["body"]["string"].decode()
    assert env not in text and REDACTED in text and "http://mock.invalid/fal/queue/x" in text
    assert "content-encoding" not in out["headers"]
    assert out["headers"]["set-cookie"] == [REDACTED] and out["headers"]["x-echo"] == [REDACTED]


def test_rebase_maps_real_bases_to_canonical_and_back() -> None:
    rebase = Rebase.of([("https://queue.fal.run", "http://mock.invalid/fal/queue"),
                        ("https://fal.run", "http://mock.invalid/fal/run"),
                        ("http://mock.invalid/x", "http://mock.invalid/x")])
    assert len(rebase.pairs) == 2  # identities dropped
    assert rebase.text("see https://queue.fal.run/a/b") == "see http://mock.invalid/fal/queue/a/b"
    assert rebase.back("http://mock.invalid/fal/run/app?x=1") == "https://fal.run/app?x=1"
    assert rebase.back("http://elsewhere/x") == "http://elsewhere/x"


# -- end to end: a planted key -------------------------------------------------------------

@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """Every key variable set to a fresh ``sk-planted-...`` value."""
    keys = {name: f"sk-planted-{secrets.token_hex(12)}" for name in sorted(key_variables())}
    for name, value in keys.items():
        monkeypatch.setenv(name, value)
    yield keys


def _leaks(folder: Path, keys: dict[str, str]) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {name}" for name, key in keys.items() if key.encode() in data]
    return found


def test_a_planted_key_sent_to_a_served_mock_never_reaches_cassettes_or_results(
        planted: dict[str, str], tmp_path: Path) -> None:
    config = MockConfig(keys={"mimo": planted["MIMO_API_KEY"], "fal": planted["FAL_KEY"]})
    with ServedMock(config, names=["mimo", "fal"]) as served:
        summary = record(TargetOptions(kind=TargetKind.URL, base_url=served.url), "mimo,fal",
                         "text,image,auth-enforced", tmp_path / "cassettes")
    assert summary.written and not summary.result.errors  # the key was sent and accepted
    summary.result.write_json(tmp_path / "recording" / "results.json")
    replay = make_target(TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=str(tmp_path / "cassettes")))
    result = engine.run(engine.Plan(target=replay, provider_spec="mimo,fal",
                                    check_spec="text,image,auth-enforced"))
    replay.close()
    result.write_json(tmp_path / "replay" / "results.json")
    assert not result.errors
    assert not _leaks(tmp_path, planted)
    text = (tmp_path / "cassettes" / "mimo" / "text.yaml").read_text()
    interactions, _, meta = text.partition("\nmetadata:")
    assert f"api-key:\n      - {REDACTED}" in interactions and "127.0.0.1" not in interactions
    assert "host:\n      - mock.invalid" in interactions and "origin: url:127.0.0.1\n" in meta


class EchoKey:
    """A leaky server: every JSON answer and a header repeat the credential it was sent."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        sent = {k.decode(): v.decode() for k, v in scope["headers"]}
        echo = (sent.get("authorization") or sent.get("api-key") or sent.get("x-api-key") or "")
        echo = echo.split(" ")[-1]
        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def leaky(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            if body.startswith(b"{"):
                body = b'{"echo":' + json.dumps(echo).encode() + b"," + body[1:]
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            headers += [(b"content-length", str(len(body)).encode()), (b"x-echo", echo.encode())]
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, leaky)


def test_a_key_the_server_echoes_is_scrubbed_and_the_leak_still_replays(
        planted: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = f"sk-target-only-{secrets.token_hex(8)}"  # known to the target, not to the environment
    monkeypatch.delenv("MODELBEST_API_KEY")
    leaky = MockTarget(mock_config=MockConfig(keys={"mimo": planted["MIMO_API_KEY"], "modelbest": own}))
    leaky.app = EchoKey(leaky.app)
    summary = record(TargetOptions(), "mimo,modelbest", "text", tmp_path, target=leaky)
    leaky.close()
    assert {w.path.parent.name for w in summary.written} == {"mimo", "modelbest"}
    assert not _leaks(tmp_path, {**planted, "own": own})
    text = (tmp_path / "modelbest" / "text.yaml").read_text()
    assert f'"echo":"{REDACTED}"' in text and f"x-echo:\n      - {REDACTED}" in text
    # Replay sends its own key and gets its recorded echo back: a leak check still sees a leak.
    replay = make_target(TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=str(tmp_path)))
    profile = providers.get("modelbest")
    api = profile.apis[0]
    recorded = load(tmp_path / "modelbest" / "text.yaml").data[0][0]
    with replay.client(profile, api) as client:
        answer = client.post("/chat/completions", content=recorded.body,
                             headers={"content-type": "application/json"})
    assert answer.json()["echo"] == replay.key(profile, api)


def test_shipped_cassettes_carry_only_the_mock_key_redacted() -> None:
    text = "\n".join(p.read_text() for p in default_dir().glob("*/*.yaml"))
    assert "mock-key-for-vlm-contract-harness" not in text
    assert REDACTED in text
