"""The mock's Anthropic-compatible Messages API (MiMo's /anthropic) through the in-process transport.

Both SDK generations' headers and the gateway's own are accepted; every response and every
stream event is validated against its schema (each event by the union ``stream-event`` and by
its own ``event-<type>`` schema), the stream reassembles into the non-stream message, and
errors come in Anthropic's shape with the right status, naming the field, echoing nothing.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from PIL import Image

from harness import schemas
from harness.checks.exchange import parse_sse
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.transport import httpx_sync_transport
from harness.strategies import of_size

PATH = "/mimo/anthropic/v1/messages"
V2 = {"Authorization": f"Bearer {MOCK_KEY}", "anthropic-version": "2026-10-21"}  # anthropic 2.x
V1 = {"x-api-key": MOCK_KEY, "anthropic-version": "2023-06-01"}  # anthropic 0.x / 1.x
GATEWAY = {"api-key": MOCK_KEY}  # the gateway's curl: no version header
EVENTS = ["message_start", "content_block_start", "ping", "content_block_delta",
          "content_block_stop", "message_delta", "message_stop"]


def image(fmt: str) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 120, 240)).save(buf, fmt)
    return buf.getvalue()


PNG, JPEG = image("PNG"), image("JPEG")


def client_for(config: MockConfig | None = None) -> httpx.Client:
    return httpx.Client(transport=httpx_sync_transport(build_app(config, names=["mimo"])),
                        base_url="http://mock.invalid")


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with client_for() as c:
        yield c


def valid(schema: str, instance: Any) -> Any:
    errors = [e.message for e in schemas.validator(schema).iter_errors(instance)]
    assert not errors, (schema, errors[:3])
    return instance


def post(client: httpx.Client, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(PATH, content=content, headers={"content-type": "application/json",
                                                       **(V2 if headers is None else headers)})


def b64_block(data: bytes, media_type: str) -> dict[str, Any]:
    return {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                        "data": base64.b64encode(data).decode()}}


def request(*blocks: dict[str, Any], **extra: Any) -> dict[str, Any]:
    content = [*blocks, {"type": "text", "text": "please describe the content of the image"}]
    return {"model": "mimo-v2-omni", "max_tokens": 1024, "system": "You are MiMo.",
            "messages": [{"role": "user", "content": content}], **extra}


def events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    """Every frame as (event name, data), each validated by the union and its own schema."""
    assert response.headers["content-type"].startswith("text/event-stream")
    out = []
    for e in parse_sse(response.content):
        assert e.event is not None, "a frame without an event: line is dropped by the SDK"
        assert e.data != "[DONE]"
        data = valid("anthropic-messages/stream-event", e.json())
        valid(f"anthropic-messages/event-{e.event}", data)
        assert data["type"] == e.event
        out.append((e.event, data))
    return out


def assert_error(r: httpx.Response, status: int, kind: str, *names: str, secret: str = "") -> None:
    assert r.status_code == status, r.text[:300]
    body = valid("anthropic-messages/error", r.json())
    assert body["error"]["type"] == kind
    for name in names:
        assert name in body["error"]["message"], (name, body["error"]["message"])
    assert len(r.content) < 1500 and MOCK_KEY not in r.text
    assert not secret or secret not in r.text


@pytest.mark.parametrize("headers", [V2, V1, GATEWAY, {"x-api-key": MOCK_KEY}],
                         ids=["anthropic-2.x", "anthropic-1.x", "gateway-curl", "no-version"])
def test_every_documented_auth_style_and_version(client: httpx.Client,
                                                 headers: dict[str, str]) -> None:
    r = post(client, request(b64_block(PNG, "image/png")), headers)
    assert r.status_code == 200, r.text
    message = valid("anthropic-messages/response", r.json())
    assert message["content"][0]["text"].startswith("Received 1 image [png")
    assert message["stop_reason"] == "end_turn" and message["model"] == "mimo-v2-omni"
    assert r.headers["request-id"]


def test_an_unknown_version_is_refused_listing_the_known_ones(client: httpx.Client) -> None:
    r = post(client, request(), {**V2, "anthropic-version": "2024-02-30"})
    assert_error(r, 400, "invalid_request_error", "anthropic-version", "2023-06-01", "2026-10-21")


@pytest.mark.parametrize(("headers", "names"), [
    ({"anthropic-version": "2023-06-01"}, ["missing API key", "x-api-key", "Bearer", "api-key"]),
    ({"x-api-key": "sk-ant-wrong-0000"}, ["invalid API key"]),
    ({"Authorization": "Bearer sk-ant-wrong-0000"}, ["invalid API key"]),
])
def test_auth_failures(client: httpx.Client, headers: dict[str, str], names: list[str]) -> None:
    assert_error(post(client, request(), headers), 401, "authentication_error", *names,
                 secret="sk-ant-wrong-0000")


@pytest.mark.parametrize("max_tokens", [1024, 6])
def test_stream_is_the_full_named_event_sequence_of_the_same_message(
        client: httpx.Client, max_tokens: int) -> None:
    body = request(b64_block(JPEG, "image/jpeg"), max_tokens=max_tokens)
    message = valid("anthropic-messages/response", post(client, body).json())
    seen = events(post(client, {**body, "stream": True}))
    names = [name for name, _ in seen]
    deltas = names.count("content_block_delta")
    assert names == EVENTS[:3] + ["content_block_delta"] * deltas + EVENTS[4:]
    start = seen[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["id"] == message["id"]
    assert start["usage"]["input_tokens"] == message["usage"]["input_tokens"]
    text = "".join(d["delta"]["text"] for n, d in seen if n == "content_block_delta")
    assert text == message["content"][0]["text"]
    final = dict(seen)["message_delta"]
    assert final["delta"]["stop_reason"] == message["stop_reason"]
    assert final["usage"]["output_tokens"] == message["usage"]["output_tokens"]
    if max_tokens == 6:
        assert message["stop_reason"] == "max_tokens" and message["usage"]["output_tokens"] == 6


def test_cut_fault_ends_the_stream_with_an_overloaded_error_event(client: httpx.Client) -> None:
    r = post(client, request(stream=True), {**V2, "x-harness-fault": "cut=4"})
    seen = events(r)
    assert [n for n, _ in seen] == [*EVENTS[:4], "error"]
    assert seen[-1][1]["error"]["type"] == "overloaded_error"


def test_overloaded_fault_is_529_in_anthropic_shape(client: httpx.Client) -> None:
    r = post(client, request(), {**V2, "x-harness-fault": "status=529"})
    assert_error(r, 529, "overloaded_error")


def test_url_images_are_described_not_fetched(client: httpx.Client) -> None:
    url = {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.webp"}}
    text = valid("anthropic-messages/response", post(client, request(url)).json())[
        "content"][0]["text"]
    assert "webp image url example.com" in text


BIG = b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024 + 1 - 8)
AT = "/messages/0/content/0/source/data"


@pytest.mark.parametrize(("body", "status", "kind", "names"), [
    (b'{"model": "mimo-v2-omni"', 400, "invalid_request_error", ["not valid JSON"]),
    ({"model": "mimo-v2-omni", "messages": [{"role": "user", "content": "hi"}]}, 400,
     "invalid_request_error", ["max_tokens"]),
    (request(max_tokens="many"), 400, "invalid_request_error", ["/max_tokens", "integer"]),
    ({**request(), "model": "claude-opus"}, 404, "not_found_error", ["claude-opus", "mimo-v2-omni"]),
    (request(b64_block(JPEG, "image/png")), 400, "invalid_request_error",
     [AT, "image/png", "jpeg"]),
    (request({"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                          "data": base64.b64encode(PNG).decode()[:-2]}}), 400,
     "invalid_request_error", [AT, "invalid base64"]),
    (request(b64_block(BIG, "image/png")), 413, "request_too_large", [AT, "10,485,761 bytes"]),
    # The media_type list is advisory (seed 004 lists none), but PNG bytes labelled BMP are
    # still a mislabelled image.
    (request(b64_block(PNG, "image/bmp")), 400, "invalid_request_error", [AT, "image/bmp"]),
], ids=["invalid-json", "missing-field", "wrong-type", "unknown-model", "mislabelled",
        "undecodable", "oversize", "unlisted-media-type"])
def test_bad_requests_get_anthropic_errors(client: httpx.Client, body: Any, status: int,
                                           kind: str, names: list[str]) -> None:
    payload = "" if isinstance(body, bytes) else json.dumps(body)
    secret = payload[payload.find('"data": "') + 9:][:200] if '"data": "' in payload else ""
    assert_error(post(client, body), status, kind, *names, secret=secret)


@pytest.mark.parametrize(("body", "advisory", "names"), [
    (request(*[b64_block(PNG, "image/png")] * 17), "images: 17 media items", ["too many images",
                                                                             "at most 16"]),
    (request(b64_block(PNG, "image/png"), max_tokens=5) | {"temperature": 1.5},
     "/temperature: maximum 1", ["/temperature", "maximum 1"]),
], ids=["17-images", "temperature-1.5"])
def test_unsourced_limits_are_advisory_unless_strict(client: httpx.Client, body: Any,
                                                     advisory: str, names: list[str]) -> None:
    """No document limits MiMo's images per request or its temperature to 1: accepted with an
    advisory header by default, refused only by a strict mock."""
    r = post(client, body)
    assert r.status_code == 200, r.text[:300]
    assert advisory in r.headers["x-harness-advisory"]
    with client_for(MockConfig(strict=True)) as strict:
        assert_error(post(strict, body), 400, "invalid_request_error", *names)


def test_ambiguous_megabytes_read_leniently_unless_strict(client: httpx.Client) -> None:
    """Seed 004's "10 MB": 10,200,000 bytes pass as MiB with an advisory; strict reads 10^7."""
    body = request(b64_block(of_size("png", 7_500_000), "image/png"))
    r = post(client, body)  # 10,000,000 base64 characters < 10 MiB, = 10^7: passes both
    assert r.status_code == 200 and "x-harness-advisory" not in r.headers
    body = request(b64_block(of_size("png", 7_650_000), "image/png"))
    r = post(client, body)  # 10,200,000 characters: over 10^7, under 10 MiB
    assert r.status_code == 200, r.text[:300]
    assert "base64 string is 10,200,000 bytes" in r.headers["x-harness-advisory"]
    with client_for(MockConfig(strict=True)) as strict:
        assert_error(post(strict, body), 413, "request_too_large", "10,000,000")


def test_overloaded_catalogue_error_is_529_on_the_anthropic_endpoint(client: httpx.Client) -> None:
    """529 is the Anthropic protocol's overloaded_error (providers.md 6): MiMo's Anthropic
    endpoint answers it with the gateway's message, and no 'chosen status' note."""
    r = post(client, request(), {**V2, "x-harness-fault": "error=overloaded"})
    assert_error(r, 529, "overloaded_error")
    assert r.json()["error"]["message"] == "The model is overloaded. Please try again later"
    assert "x-harness-advisory" not in r.headers


def test_tool_role_gets_the_documented_message(client: httpx.Client) -> None:
    body = request() | {"messages": [{"role": "user", "content": "hi"},
                                     {"role": "tool", "content": "42"}]}
    r = post(client, body)
    assert_error(r, 400, "invalid_request_error")
    assert r.json()["error"]["message"] == (
        'Unexpected role "tool". Allowed roles are "user" or "assistant". '
        "For instructions on how to use tools")


def test_answers_are_deterministic_per_seed() -> None:
    body = request(b64_block(PNG, "image/png"))
    with client_for() as a, client_for() as b, client_for(MockConfig(seed=3)) as c:
        assert post(a, body).content == post(b, body).content
        assert post(a, {**body, "stream": True}).content == post(b, {**body, "stream": True}).content
        assert post(a, body).json()["content"] != post(c, body).json()["content"]
