"""What enters the mock: issue 15's hostile inputs, each answered in the provider's own shape.

A lone surrogate escape was a 500 on every HTTP API and a dropped socket on the realtime API;
NaN was accepted; a 30-byte truncated PNG passed. Each reproduction is here, on every API
(in process), plus the parser's own cases.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from unittest import mock

import httpx
import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from harness.mock import edge
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.edge import flaw, loads, parse_json
from harness.mock.transport import httpx_sync_transport
from harness.mock.validation import Problem
from harness.strategies.media import of_size

PNG = of_size("png", 200)
PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()
SURROGATE = "\ud800x"
BEARER = {"Authorization": f"Bearer {MOCK_KEY}"}
FAL = {"Authorization": f"Key {MOCK_KEY}"}

# (API, path, auth, valid body, the field the surrogate goes into, error shape reader)
APIS: list[tuple[str, str, dict[str, str], dict[str, Any], str]] = [
    ("modelbest", "/modelbest/v1/chat/completions", BEARER,
     {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": "hi"}]},
     "messages.0.content"),
    ("mimo-openai", "/mimo/v1/chat/completions", {"api-key": MOCK_KEY},
     {"model": "mimo-v2-omni", "messages": [{"role": "user", "content": "hi"}]},
     "messages.0.content"),
    ("mimo-anthropic", "/mimo/anthropic/v1/messages", {"x-api-key": MOCK_KEY},
     {"model": "mimo-v2-omni", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]},
     "messages.0.content"),
    ("local", "/local/v1/chat/completions", {},
     {"model": "openbmb/MiniCPM-V-4_5", "messages": [{"role": "user", "content": "hi"}]},
     "messages.0.content"),
    ("wavespeed", "/wavespeed/api/v3/wavespeed-ai/minicpm-v/image", BEARER,
     {"image": PNG_URL, "custom_prompt": "hi"}, "custom_prompt"),
    ("wavespeed-upload", "/wavespeed/api/v3/media/uploads", BEARER,
     {"filename": "a.png", "size": 10, "content_type": "image/png"}, "filename"),
    ("fal-queue", "/fal/queue/fal-ai/mini-cpm", FAL, {"image_urls": [PNG_URL], "prompt": "hi"},
     "prompt"),
    ("fal-run", "/fal/run/fal-ai/mini-cpm", FAL, {"image_urls": [PNG_URL], "prompt": "hi"},
     "prompt"),
    ("fal-image-urls", "/fal/queue/fal-ai/mini-cpm", FAL, {"image_urls": [PNG_URL], "prompt": "hi"},
     "image_urls.0"),
]


def _put(body: Any, field: str, value: Any) -> Any:
    out = json.loads(json.dumps(body))
    *parents, last = [int(p) if p.isdigit() else p for p in field.split(".")]
    node = out
    for p in parents:
        node = node[p]
    node[last] = value
    return out


def named_field(api: str, body: dict[str, Any]) -> str:
    """The field an error names, in each protocol's own place for it."""
    if api.startswith("fal"):
        return ".".join(str(p) for p in body["detail"][0]["loc"][1:])
    if api.startswith("wavespeed"):
        return str(body["message"])
    if api == "mimo-anthropic":
        return str(body["error"]["message"])
    return str(body["error"]["param"])


@pytest.fixture
def client() -> httpx.Client:
    return httpx.Client(transport=httpx_sync_transport(build_app()), base_url="http://mock")


@pytest.mark.parametrize(("api", "path", "auth", "body", "field"), APIS, ids=[a[0] for a in APIS])
def test_a_lone_surrogate_is_the_providers_400_naming_the_field(
        client: httpx.Client, api: str, path: str, auth: dict[str, str], body: dict[str, Any],
        field: str) -> None:
    sent = json.dumps(_put(body, field, SURROGATE))  # ensure_ascii: the \ud800 escape
    assert "\\ud800" in sent
    r = client.post(path, content=sent, headers=auth | {"content-type": "application/json"})
    assert r.status_code == (422 if api.startswith("fal") else 400), r.text
    assert field in named_field(api, r.json()) or f"/{field.replace('.', '/')}" in named_field(
        api, r.json()), r.text
    assert client.post(path, json=body, headers=auth).status_code == 200  # and the API lives on


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_nan_and_infinity_are_not_json(client: httpx.Client, literal: str) -> None:
    sent = json.dumps({**APIS[0][3], "temperature": "LITERAL"}).replace('"LITERAL"', literal)
    r = client.post("/modelbest/v1/chat/completions", content=sent, headers=BEARER)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["param"] == "temperature" and "not a JSON number" in error["message"]


def test_a_truncated_png_is_refused_naming_where_it_ends(client: httpx.Client) -> None:
    truncated = "data:image/png;base64," + base64.b64encode(PNG[:30]).decode()
    body = {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": truncated}}]}]}
    r = client.post("/modelbest/v1/chat/completions", json=body, headers=BEARER)
    assert r.status_code == 400
    message = r.json()["error"]["message"]
    assert "not whole" in message and "truncated at byte 30" in message and "IHDR" in message


@pytest.mark.parametrize(("raw", "pointer", "not_json"), [
    ('{"a":[1,{"b":"\\ud800x"}]}', "/a/1/b", False),
    ('{"a":"\\udfff"}', "/a", False),
    ('{"\\udc00":1}', "/\ufffd", False),
    ('{"t":NaN}', "/t", True), ('[Infinity]', "/0", True), ('{"x":-1e400}', "/x", True),
])
def test_flaw_names_the_first_bad_value(raw: str, pointer: str, not_json: bool) -> None:
    found = flaw(loads(raw))
    assert found is not None and found.pointer == pointer and found.not_json is not_json
    problem = parse_json(raw.encode())
    assert isinstance(problem, Problem) and problem.status == 400
    assert problem.message.startswith(pointer)


def test_valid_text_passes_untouched() -> None:
    doc = '{"emoji":"\\ud83d\\ude00","cjk":"用户额度不足","big":1e308,"ctl":"\\u0000"}'
    assert parse_json(doc.encode()) == {"emoji": "😀", "cjk": "用户额度不足", "big": 1e308,
                                        "ctl": "\x00"}


@pytest.mark.parametrize("raw", [b"[" * 100_000 + b"]" * 100_000, b"9" * 5000, b"\xff{}", b" "])
def test_unparseable_bodies_are_client_errors_not_crashes(raw: bytes) -> None:
    found = parse_json(raw, 422)
    assert isinstance(found, Problem) and found.status == 422


def test_flaw_walks_deep_documents_without_recursion() -> None:
    doc: Any = "\ud800"
    for _ in range(50_000):
        doc = [doc]
    found = flaw(doc)
    assert found is not None and found.pointer == "/0" * 50_000


# -- the realtime API ------------------------------------------------------------------------

def _receive(ws: Any) -> dict[str, Any]:
    message = ws.receive()
    if message["type"] == "websocket.close":
        return {"close": message.get("code")}
    return dict(json.loads(message["text"]))


def test_a_lone_surrogate_frame_is_an_error_event_and_the_session_lives_on() -> None:
    with TestClient(build_app()).websocket_connect(
            "/modelbest/v1/realtime?mode=chat", headers=BEARER) as ws:
        assert _receive(ws)["type"] == "session.queue_done"
        ws.send_text('{"type":"\\ud800"}')
        error = _receive(ws)
        assert error["type"] == "error" and error["error"]["code"] == "invalid_payload"
        assert error["error"]["message"].startswith("/type:")
        ws.send_text(json.dumps({"type": "session.init", "payload": {}}))
        assert _receive(ws)["type"] == "session.created"


def test_a_nan_frame_is_unparseable_and_closes_1003() -> None:
    with TestClient(build_app()).websocket_connect(
            "/modelbest/v1/realtime?mode=chat", headers=BEARER) as ws:
        _receive(ws)
        ws.send_text('{"type":"session.init","payload":{"config":{"length_penalty":NaN}}}')
        assert _receive(ws) == {"close": 1003}


def test_an_oversize_frame_gets_the_error_event_before_close_1009() -> None:
    app = build_app(MockConfig(realtime_max_frame_bytes=1000))
    with TestClient(app).websocket_connect("/modelbest/v1/realtime?mode=chat", headers=BEARER) as ws:
        _receive(ws)
        ws.send_text(json.dumps({"type": "session.init", "payload": {"system_prompt": "x" * 1000}}))
        error = _receive(ws)
        assert error["error"]["code"] == "invalid_payload" and "1000-byte limit" in error[
            "error"]["message"]
        assert _receive(ws) == {"close": 1009}


class _Refuses:
    """A decoder that refuses everything: parse_json as it was before msgspec, json alone."""

    def decode(self, raw: Any) -> Any:
        raise msgspec.DecodeError("refused")


def json_only(raw: bytes) -> Any:
    with mock.patch.object(edge, "_DECODER", _Refuses()):
        return edge.parse_json(raw)


@pytest.mark.parametrize("raw", [
    b'{"a":1,"a":2}', b"-0.0", b"1E400", b"NaN", b'"\\ud800"', b'"\xed\xa0\x80"',
    b"\xef\xbb\xbf{}", b"123456789012345678901234567890", b"-9223372036854775809",
    b'{"seed": 18446744073709551616, "n": [1.0, 2.5e-400]}', b"{}\x0c", b'{"a": tru}', b" \n ",
    b"[" * 1025 + b"]" * 1025, b'\xff{"a": 1}', b"9" * 4300, b"-" + b"9" * 4300,
    '{"a":1}'.encode("utf-16")])
def test_parse_json_answers_as_json_loads_did(raw: bytes) -> None:
    """msgspec parses first; whatever it refuses (NaN, 1E400, surrogates, a BOM, UTF-16, a
    4300-digit integer) must come out as the json path gives it."""
    got, want = edge.parse_json(raw), json_only(raw)
    assert repr(got) == repr(want)  # repr: NaN != NaN, and 1 == 1.0 would hide a float
    assert repr(edge.parse_json(bytearray(raw))) == repr(want)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False)
                    | st.text(), lambda kids: st.lists(kids, max_size=4)
                    | st.dictionaries(st.text(max_size=4), kids, max_size=4), max_leaves=12))
def test_parse_json_agrees_with_json_loads_on_generated_documents(value: Any) -> None:
    raw = json.dumps(value).encode()
    assert repr(edge.parse_json(raw)) == repr(json_only(raw))
