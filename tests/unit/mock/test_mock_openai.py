"""The mock's OpenAI-compatible chat API (ModelBest, MiMo, local) through the in-process transport.

Every response, chunk and error is validated against its schema; errors must come in the
OpenAI shape with the right 4xx, name the field at fault and never echo a media payload or a
key. A property test sends generated valid requests (media parts replaced by real images) and
checks that the answer validates and that its stream reassembles into the non-stream answer.
"""

from __future__ import annotations

import base64
import io
import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from harness import media, providers, schemas, strategies
from harness.checks.exchange import parse_sse
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.transport import httpx_sync_transport
from harness.strategies import of_size

AUTH = {"modelbest": {"Authorization": f"Bearer {MOCK_KEY}"}, "mimo": {"api-key": MOCK_KEY},
        "local": {}}
MODEL = {"modelbest": "MiniCPM-V-4.6-Instruct", "mimo": "mimo-v2-omni",
         "local": "openbmb/MiniCPM-V-4_5"}
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"
TEN_MB = 10 * 1024 * 1024


def image(fmt: str = "PNG", size: int = 8, colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), colour).save(buf, fmt)
    return buf.getvalue()


PNG, JPEG = image("PNG"), image("JPEG")


def client_for(config: MockConfig | None = None) -> httpx.Client:
    app = build_app(config, names=("modelbest", "mimo", "local"))
    return httpx.Client(transport=httpx_sync_transport(app), base_url="http://mock.invalid")


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with client_for() as c:
        yield c


def valid(schema: str, instance: Any) -> Any:
    errors = [e.message for e in schemas.validator(schema).iter_errors(instance)]
    assert not errors, (schema, errors[:3])
    return instance


def post(client: httpx.Client, provider: str, body: Any, headers: dict[str, str] | None = None,
         ) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return client.post(f"/{provider}/v1/chat/completions", content=content,
                       headers={"content-type": "application/json",
                                **AUTH[provider], **(headers or {})})


def user(*parts: dict[str, Any] | str) -> dict[str, Any]:
    content = [{"type": "text", "text": p} if isinstance(p, str) else p for p in parts]
    return {"role": "user", "content": content}


def image_part(url: str, kind: str = "image_url") -> dict[str, Any]:
    return {"type": kind, kind: {"url": url}}


def stream(response: httpx.Response) -> tuple[list[dict[str, Any]], bool]:
    """The validated chunks of an SSE answer and whether it ended with [DONE]."""
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.content)
    done = bool(events) and events[-1].data == "[DONE]"
    chunks = [valid("openai-chat/chunk", e.json()) for e in (events[:-1] if done else events)]
    return chunks, done


def reassemble(chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """Choices, usage and ids as a client rebuilds them from the chunks."""
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    for c in chunks:
        usage = c.get("usage") or usage
        for ch in c["choices"]:
            got = choices.setdefault(ch["index"], {"content": "", "reasoning": "", "roles": [],
                                                   "finish_reason": None})
            delta = ch["delta"]
            got["roles"] += [delta["role"]] if "role" in delta else []
            got["content"] += delta.get("content") or ""
            got["reasoning"] += delta.get("reasoning_content") or ""
            got["finish_reason"] = ch["finish_reason"] or got["finish_reason"]
    return {"choices": choices, "usage": usage, "ids": {c["id"] for c in chunks}}


def assert_same_answer(body: dict[str, Any], streamed: dict[str, Any]) -> None:
    assert set(streamed["choices"]) == {c["index"] for c in body["choices"]}
    for c in body["choices"]:
        got = streamed["choices"][c["index"]]
        assert got["roles"] == ["assistant"]
        assert got["content"] == c["message"]["content"]
        assert got["reasoning"] == (c["message"].get("reasoning_content") or "")
        assert got["finish_reason"] == c["finish_reason"]
    assert streamed["usage"] == body["usage"]
    assert streamed["ids"] == {body["id"]}


def assert_error(r: httpx.Response, status: int, *names: str, secret: str = "") -> dict[str, Any]:
    """An OpenAI-shaped error of ``status`` whose message names ``names``, echoing no payload."""
    assert r.status_code == status, r.text[:300]
    body = valid("openai-chat/error", r.json())
    message = body["error"]["message"]
    for name in names:
        assert name in message, (name, message)
    assert len(r.content) < 1500  # a 10 MB payload (or any base64 run) never comes back
    assert MOCK_KEY not in r.text and (not secret or secret not in r.text)
    assert r.headers.get("x-request-id")
    return body


# --- answers -----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ["modelbest", "mimo", "local"])
def test_vision_answer_validates_and_describes_what_arrived(client: httpx.Client,
                                                            provider: str) -> None:
    body = {"model": MODEL[provider], "messages": [
        {"role": "system", "content": "be brief"},
        user(image_part(media.data_url(PNG)), image_part(media.data_url(JPEG)), "compare")]}
    r = post(client, provider, body)
    assert r.status_code == 200, r.text
    answer = valid("openai-chat/response", r.json())
    text = answer["choices"][0]["message"]["content"]
    assert "2 images" in text and "png" in text and "jpeg" in text and "'compare'" in text
    assert answer["choices"][0]["finish_reason"] == "stop" and answer["model"] == MODEL[provider]
    # 2 words of text + 64 tokens per image
    assert answer["usage"]["prompt_tokens"] == 3 + 2 * 64


def test_http_image_urls_are_described_not_fetched(client: httpx.Client) -> None:
    body = {"model": "mimo-v2-omni", "max_completion_tokens": 1024, "messages": [
        user(image_part("https://example-files.cnbj1.mi-fds.com/image/image_example.png"), "what")]}
    r = post(client, "mimo", body)
    assert r.status_code == 200, r.text
    text = valid("openai-chat/response", r.json())["choices"][0]["message"]["content"]
    assert "png image url example-files.cnbj1.mi-fds.com" in text


def test_video_is_a_mimo_dialect(client: httpx.Client) -> None:
    video = {"type": "video_url", "video_url": {"url": media.data_url(MP4), "fps": 2,
                                                 "media_resolution": "default"}}
    r = post(client, "mimo", {"model": "mimo-v2-omni", "messages": [user(video, "what happens")]})
    assert r.status_code == 200, r.text
    assert "1 video [mp4" in valid("openai-chat/response", r.json())["choices"][0]["message"]["content"]
    r = post(client, "modelbest", {"model": MODEL["modelbest"], "messages": [user(video, "x")]})
    assert_error(r, 400, "video", "messages.0.content.0.video_url.url")


def test_models_list_offers_the_profile_models(client: httpx.Client) -> None:
    for provider in ("modelbest", "mimo", "local"):
        r = client.get(f"/{provider}/v1/models", headers=AUTH[provider])
        ids = [m["id"] for m in valid("openai-chat/models", r.json())["data"]]
        assert ids == list(providers.get(provider).api("openai-chat").models)
    assert_error(client.get("/modelbest/v1/models"), 401, "Authorization")


def test_local_serves_the_configured_model_and_refuses_others(
        client: httpx.Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLM_HARNESS_LOCAL_MODEL", "my-finetune")
    r = client.get("/local/v1/models")
    assert [m["id"] for m in r.json()["data"]] == ["openbmb/MiniCPM-V-4_5", "my-finetune"]
    assert post(client, "local", {"model": "my-finetune", "messages": [user("hi")]}).status_code == 200
    body = assert_error(post(client, "local", {"model": "gpt-9", "messages": [user("hi")]}),
                        404, "gpt-9", "my-finetune")
    assert body["error"]["param"] == "model"


def test_reasoning_model_returns_reasoning_content(client: httpx.Client) -> None:
    body = {"model": "MiniCPM-V-4.6-Thinking", "messages": [user("think")]}
    message = valid("openai-chat/response", post(client, "modelbest", body).json())[
        "choices"][0]["message"]
    assert message["reasoning_content"] and "<think>" not in message["content"]
    assert message["content"].startswith("Received text only.")
    plain = post(client, "modelbest", {**body, "model": "MiniCPM-V-4.6-Instruct"}).json()
    assert "reasoning_content" not in plain["choices"][0]["message"]


@pytest.mark.parametrize("field", ["max_tokens", "max_completion_tokens"])
def test_max_tokens_caps_the_answer(client: httpx.Client, field: str) -> None:
    r = post(client, "mimo", {"model": "mimo-v2-omni", field: 4, "messages": [user("hi")]})
    answer = valid("openai-chat/response", r.json())
    assert answer["choices"][0]["finish_reason"] == "length"
    assert answer["usage"]["completion_tokens"] == 4
    assert len(answer["choices"][0]["message"]["content"].split()) == 4


def test_n_choices_and_their_usage(client: httpx.Client) -> None:
    r = post(client, "mimo", {"model": "mimo-v2-omni", "n": 3, "messages": [user("hi")]})
    answer = valid("openai-chat/response", r.json())
    assert [c["index"] for c in answer["choices"]] == [0, 1, 2]
    assert len({c["message"]["content"] for c in answer["choices"]}) == 3
    per_choice = [len(c["message"]["content"].split()) for c in answer["choices"]]
    assert answer["usage"]["completion_tokens"] == sum(per_choice)
    # No document bounds n: 17 is served with an advisory, only the mock's own guard refuses
    many = post(client, "mimo", {"model": "mimo-v2-omni", "n": 17, "messages": [user("hi")]})
    assert len(valid("openai-chat/response", many.json())["choices"]) == 17
    assert "/n: maximum 16" in many.headers["x-harness-advisory"]
    assert_error(post(client, "mimo", {"model": "mimo-v2-omni", "n": 129, "messages": [user("hi")]}),
                 400, "n", "guard of the mock")


@pytest.mark.parametrize("case", [
    {"model": "MiniCPM-V-4.6-Instruct"},
    {"model": "MiniCPM-V-4.6-Thinking", "max_tokens": 5},  # cut while still thinking
    {"model": "MiniCPM-V-4.6-Thinking", "n": 2},
    {"model": "MiniCPM-o-4.5", "max_completion_tokens": 7, "stream_options": {"include_usage": False}},
])
def test_stream_reassembles_into_the_non_stream_answer(client: httpx.Client,
                                                       case: dict[str, Any]) -> None:
    body = {"messages": [user(image_part(media.data_url(PNG)), "describe")],
            "stream_options": {"include_usage": True}, **case}
    plain = valid("openai-chat/response", post(client, "modelbest", body).json())
    chunks, done = stream(post(client, "modelbest", {**body, "stream": True}))
    assert done
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    if body["stream_options"]["include_usage"]:
        assert chunks[-1]["choices"] == [] and all(c["usage"] is None for c in chunks[:-1])
        assert_same_answer(plain, reassemble(chunks))
    else:
        assert all("usage" not in c for c in chunks)
        assert_same_answer({**plain, "usage": None}, reassemble(chunks))


def test_answers_are_deterministic_per_seed() -> None:
    body = {"model": "mimo-v2-omni", "messages": [user(image_part(media.data_url(PNG)), "hi")]}
    with client_for() as a, client_for() as b, client_for(MockConfig(seed=7)) as c:
        first, again = post(a, "mimo", body), post(b, "mimo", body)
        assert first.content == again.content
        assert post(a, "mimo", {**body, "stream": True}).content == post(
            b, "mimo", {**body, "stream": True}).content
        other = post(c, "mimo", body).json()["choices"][0]["message"]["content"]
        assert other != first.json()["choices"][0]["message"]["content"]
        assert post(a, "mimo", {**body, "seed": 7}).content == post(c, "mimo", body).content


# --- faults ------------------------------------------------------------------------------


def test_cut_fault_ends_the_stream_without_done(client: httpx.Client) -> None:
    body = {"model": "mimo-v2-omni", "stream": True, "messages": [user("hi")]}
    chunks, done = stream(post(client, "mimo", body, {"x-harness-fault": "cut=3"}))
    assert not done and len(chunks) == 3
    assert all(ch["finish_reason"] is None for c in chunks for ch in c["choices"])


def test_pacing_faults_delay_first_chunk_and_tokens(client: httpx.Client) -> None:
    body = {"model": "mimo-v2-omni", "stream": True, "max_tokens": 5, "messages": [user("hi")]}
    with client.stream("POST", "/mimo/v1/chat/completions", json=body,
                       headers={**AUTH["mimo"], "x-harness-fault": "ttft=150,tps=50"}) as r:
        start, arrivals = time.perf_counter(), []
        for _ in r.iter_raw():
            arrivals.append(time.perf_counter() - start)
    assert arrivals[0] >= 0.14  # ttft before the first chunk
    assert arrivals[-1] - arrivals[0] >= 5 / 50 * 0.9  # 5 tokens at 50 tokens/s
    t0 = time.perf_counter()
    post(client, "mimo", {**body, "stream": False}, {"x-harness-fault": "ttft=100,tps=50"})
    assert time.perf_counter() - t0 >= 0.1 + 5 / 50 * 0.9  # the same pacing, all at once


def test_quota_fault_answers_the_documented_body(client: httpx.Client) -> None:
    """Seed 004 prints 403 Forbidden {"message":"用户额度不足, ..."}: top level, not OpenAI's."""
    r = post(client, "mimo", {"model": "mimo-v2-omni", "messages": [user("hi")]},
             {"x-harness-fault": "error=quota_exhausted"})
    assert r.status_code == 403 and r.json() == {"message": "用户额度不足, 剩余额度: $-1.74"}
    assert "x-harness-advisory" not in r.headers  # the document gives this status


@pytest.mark.parametrize(("fault", "status", "chosen"), [
    ("error=overloaded", 503, True), ("error=no_channel", 503, True),
    ("error=no_channel,status=502", 502, False), ("error=rate_limited", 429, False)])
def test_catalogue_statuses_say_when_the_harness_chose_them(
        client: httpx.Client, fault: str, status: int, chosen: bool) -> None:
    """No document gives MiMo's overloaded/no_channel statuses: the mock says it chose them."""
    r = post(client, "mimo", {"model": "mimo-v2-omni", "messages": [user("hi")]},
             {"x-harness-fault": fault})
    assert_error(r, status)
    assert ("chosen by the harness" in r.headers.get("x-harness-advisory", "")) is chosen


def test_generic_overloaded_is_503_on_openai_never_529(client: httpx.Client) -> None:
    r = post(client, "modelbest", {"model": "MiniCPM-o-4.5", "messages": [user("hi")]},
             {"x-harness-fault": "error=overloaded"})
    assert_error(r, 503, "Overloaded")


def test_mimo_refuses_the_responses_api_as_documented(client: httpx.Client) -> None:
    """Seed 004 常见错误: "This model is not supported by Responses API." (LiteLLM calls
    /v1/responses when bridging Anthropic clients); ModelBest has no such endpoint."""
    body = {"model": "mimo-v2-omni", "input": "hi"}
    r = client.post("/mimo/v1/responses", json=body, headers=AUTH["mimo"])
    error = assert_error(r, 400)["error"]
    assert error["message"] == "This model is not supported by Responses API."
    assert client.post("/mimo/v1/responses", json=body).status_code == 401
    assert client.post("/modelbest/v1/responses", json=body,
                       headers=AUTH["modelbest"]).status_code == 404


# --- errors ------------------------------------------------------------------------------

BIG_PNG = of_size("png", TEN_MB + 1)  # whole: only its size is at fault
BAD_B64 = "data:image/png;base64," + base64.b64encode(PNG).decode()[:-1]  # truncated quantum
MISLABELLED = "data:image/png;base64," + base64.b64encode(JPEG).decode()
MEDIA_AT = "messages/0/content/0/image_url/url"


def with_image(url: str, model: str = "mimo-v2-omni") -> dict[str, Any]:
    return {"model": model, "messages": [user(image_part(url), "what")]}


@pytest.mark.parametrize(("provider", "body", "status", "names"), [
    ("mimo", b'{"model": "mimo-v2-omni", "messages": [', 400, ["not valid JSON", "line 1"]),
    ("mimo", b"", 400, ["empty"]),
    ("mimo", {"model": "mimo-v2-omni"}, 400, ["messages"]),
    ("mimo", {"model": "mimo-v2-omni", "messages": [user("hi")], "max_tokens": "8"}, 400,
     ["/max_tokens", "integer"]),
    ("mimo", {"model": "mimo-v2-omni", "messages": []}, 400, ["/messages"]),
    ("modelbest", {"model": "gpt-4o", "messages": [user("hi")]}, 404,
     ["gpt-4o", "MiniCPM-V-4.6-Instruct"]),
    ("mimo", with_image(BAD_B64), 400, [MEDIA_AT, "invalid base64"]),
    ("mimo", with_image(MISLABELLED), 400, [MEDIA_AT, "image/png", "jpeg"]),
    ("mimo", with_image("data:image/png;base64," + base64.b64encode(MP4).decode()), 400,
     [MEDIA_AT]),
    ("mimo", with_image(media.data_url(BIG_PNG)), 413, [MEDIA_AT, "10,485,761 bytes"]),
    ("modelbest", {"model": "MiniCPM-o-4.5", "messages": [{"role": "tool", "content": "x"}]}, 400,
     ["/messages/0"]),
], ids=["invalid-json", "empty", "missing-field", "wrong-type", "no-messages", "unknown-model",
        "undecodable", "mislabelled", "video-as-image", "oversize", "tool-role-generic"])
def test_bad_requests_get_the_provider_error(client: httpx.Client, provider: str, body: Any,
                                             status: int, names: list[str]) -> None:
    payload = json.dumps(body) if not isinstance(body, bytes) else ""
    secret = payload[payload.find("base64,") + 7:][:200] if "base64," in payload else ""
    assert_error(post(client, provider, body), status, *names, secret=secret)


@pytest.mark.parametrize(("provider", "body", "advisory", "status", "names"), [
    ("modelbest", with_image(media.data_url(BIG_PNG), "MiniCPM-o-4.5"), "decoded media is", 413,
     [MEDIA_AT, "limit"]),
    ("modelbest", {"model": "MiniCPM-o-4.5", "messages": [
        user(*[image_part(media.data_url(PNG))] * 9)]}, "images: 9 media items", 400,
     ["too many images", "at most 8"]),
    ("local", {"model": "openbmb/MiniCPM-V-4_5", "messages": [
        user(*[image_part(media.data_url(PNG))] * 5)]}, "images: 5 media items", 400,
     ["too many images", "at most 4"]),
    ("mimo", {"model": "mimo-v2-omni", "messages": [user(*[image_part(media.data_url(PNG))] * 17)]},
     "images: 17 media items", 400, ["too many images", "at most 16"]),
], ids=["modelbest-11-MiB", "modelbest-9-images", "local-5-images", "mimo-17-images"])
def test_unsourced_limits_are_advisory_unless_strict(client: httpx.Client, provider: str,
                                                     body: Any, advisory: str, status: int,
                                                     names: list[str]) -> None:
    """Limits no document states are accepted with an advisory header; strict refuses them."""
    r = post(client, provider, body)
    assert r.status_code == 200, r.text[:300]
    assert advisory in r.headers["x-harness-advisory"]
    with client_for(MockConfig(strict=True)) as strict:
        assert_error(post(strict, provider, body), status, *names)


def test_mimo_answers_its_documented_tool_role_message(client: httpx.Client) -> None:
    body = {"model": "mimo-v2-omni", "messages": [user("hi"), {"role": "tool", "content": "42"}]}
    error = assert_error(post(client, "mimo", body), 400)["error"]
    assert error["message"] == providers.get("mimo").errors["tool_role"]["message"]
    assert error["param"] == "messages.1.role"


def test_ten_mb_exactly_is_accepted(client: httpx.Client) -> None:
    exact = media.data_url(of_size("png", TEN_MB))
    r = post(client, "modelbest", with_image(exact, "MiniCPM-o-4.5"))
    assert r.status_code == 200 and "png 10.0 MB image" in r.json()["choices"][0]["message"]["content"]


@pytest.mark.parametrize(("provider", "headers", "names"), [
    ("modelbest", {"Authorization": ""}, ["missing API key", "Authorization"]),
    ("modelbest", {"Authorization": "Bearer sk-wrong-key-123456"}, ["invalid API key"]),
    ("mimo", {"api-key": "sk-wrong-key-123456"}, ["invalid API key"]),
    ("mimo", {"api-key": "", "Authorization": f"Basic {MOCK_KEY}"}, ["api-key", "Bearer"]),
])
def test_auth_failures(client: httpx.Client, provider: str, headers: dict[str, str],
                       names: list[str]) -> None:
    sent = {k: v for k, v in {**AUTH[provider], **headers}.items() if v}
    r = client.post(f"/{provider}/v1/chat/completions", headers=sent,
                    json={"model": MODEL[provider], "messages": [user("hi")]})
    assert_error(r, 401, *names, secret="sk-wrong-key-123456")


def test_local_auth_is_checked_only_once_a_key_is_configured(client: httpx.Client) -> None:
    body = {"model": MODEL["local"], "messages": [user("hi")]}
    for headers in ({}, {"Authorization": "Bearer EMPTY"}):  # vLLM without --api-key
        assert post(client, "local", body, headers).status_code == 200
    with client_for(MockConfig(keys={"local": "sk-local-secret"})) as keyed:
        assert_error(post(keyed, "local", body), 401, "missing API key")
        assert_error(post(keyed, "local", body, {"Authorization": "Bearer EMPTY"}), 401,
                     "invalid API key")
        assert post(keyed, "local", body, {"Authorization": "Bearer sk-local-secret"}
                    ).status_code == 200


def test_mimo_accepts_both_documented_auth_styles(client: httpx.Client) -> None:
    body = {"model": "mimo-v2-omni", "messages": [user("hi")]}
    for headers in ({"api-key": MOCK_KEY}, {"Authorization": f"Bearer {MOCK_KEY}"}):
        r = client.post("/mimo/v1/chat/completions", json=body, headers=headers)
        assert r.status_code == 200, r.text


# --- property ----------------------------------------------------------------------------

MEDIA = {"image_url": [media.data_url(image(f, 6, c)) for f, c in
                       (("PNG", (1, 2, 3)), ("JPEG", (90, 90, 9)), ("WEBP", (5, 200, 5)),
                        ("GIF", (250, 0, 250)))],
         "video_url": [media.data_url(MP4)]}


def real_media(body: dict[str, Any], pick: int) -> dict[str, Any]:
    """``body`` with every generated media URL replaced by a small real image or video."""
    for message in body["messages"]:
        if isinstance(message["content"], list):
            for part in message["content"]:
                if part["type"] in MEDIA:
                    choices = MEDIA[part["type"]]
                    part[part["type"]]["url"] = choices[pick % len(choices)]
                    pick += 1
    body["n"] = min(body.get("n", 1), 3)  # the mock serves at most 16; keep examples small
    return body


def test_generated_requests_get_valid_consistent_answers(client: httpx.Client) -> None:
    # One dialect (MiMo's, the widest: it takes video) serves all three providers, whose
    # overlays differ only in the model enum, by swapping in one of their models.
    mimo = providers.get("mimo")
    bodies = strategies.requests(mimo, mimo.api("openai-chat"), "chat")
    served = [(p, m) for p in ("mimo", "modelbest", "local")
              for m in providers.get(p).api("openai-chat").models]

    @settings(max_examples=30, deadline=None, derandomize=True, print_blob=True,
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(bodies, st.integers(0, 7), st.sampled_from(served), st.integers(0, 3))
    def check(body: dict[str, Any], pick: int, target: tuple[str, str], images: int) -> None:
        provider, model = target
        body = {**real_media(body, pick), "model": model}
        if images:  # generated bodies seldom carry media; a last turn with images adds some
            body["messages"] = [*body["messages"], user(*[
                image_part(MEDIA["image_url"][(pick + i) % 4]) for i in range(images)], "?")]
        plain = post(client, provider, {**body, "stream": False})
        if plain.status_code != 200:  # more images than the provider takes, video to ModelBest
            assert_error(plain, plain.status_code)
            assert plain.status_code in (400, 413)
            return
        answer = valid("openai-chat/response", plain.json())
        chunks, done = stream(post(client, provider, {
            **body, "stream": True, "stream_options": {"include_usage": True}}))
        assert done
        assert_same_answer(answer, reassemble(chunks))

    check()


def test_a_key_pasted_into_a_field_is_not_echoed(monkeypatch: pytest.MonkeyPatch) -> None:
    planted = "sk-planted-echo-0123456789"
    monkeypatch.setenv("MIMO_API_KEY", planted)
    with client_for() as c:  # the mock reads the key variables when it is built
        r = post(c, "mimo", {"model": planted, "messages": [user("hi")]})
    assert r.status_code == 404 and "does not exist" in r.json()["error"]["message"]
    assert planted not in r.text


def test_a_wrong_method_is_a_405_that_lists_the_allowed_ones(client: httpx.Client) -> None:
    # RFC 9110 15.5.6 (schemathesis' ST204 flagged the bare 405 in `st run`).
    r = client.request("TRACE", "/mimo/v1/chat/completions", headers=AUTH["mimo"])
    assert r.status_code == 405 and r.headers["allow"] == "POST"
    assert r.json()["error"]["message"] == "method not allowed: TRACE /mimo/v1/chat/completions"
