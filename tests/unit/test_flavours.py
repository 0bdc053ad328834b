"""Server flavours of a profile (harness.providers.flavours): data, application, selection, mock."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from harness import providers, schemas
from harness.errors import ProfileError, UnknownNameError, UsageError
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.transport import SyncASGITransport
from harness.providers import flavours

LOCAL = Path(providers.__file__).parent / "local.yaml"


def raw_local() -> dict[str, Any]:
    return yaml.safe_load(LOCAL.read_text(encoding="utf-8"))


def test_every_flavour_cites_its_source_and_applies_cleanly() -> None:
    local = providers.get("local")
    assert {"vllm", "vllm-legacy", "sglang", "llama.cpp", "llama-cpp-python"} <= set(local.flavours)
    assert list(providers.profile_problems(local)) == []
    for name, flavour in local.flavours.items():
        assert flavour.source.document and flavour.source.section, name
        served = local.flavoured(name)
        assert served.flavour == name and served.name == "local" and served.served_as is flavour
        assert flavour.title in served.title


def test_a_replaced_schema_reaches_every_endpoint_and_the_protocol() -> None:
    local = providers.get("local")
    sglang = local.flavoured("sglang").api("openai-chat")
    assert sglang.protocol.error == "openai-chat/error-object"
    chat = sglang.protocol.endpoint("chat")
    assert set(chat.responses.values()) == {"openai-chat/response", "openai-chat/error-object"}
    assert sglang.protocol.endpoint("models").responses[401] == "openai-chat/error-object"
    # the plain profile (cached, shared) is untouched
    assert local.api("openai-chat").protocol.error == "openai-chat/error"
    assert local.flavour is None and local.flavoured(None) is local


def test_overlays_judge_the_flavours_extra_fields() -> None:
    llama = providers.get("local").flavoured("llama.cpp")
    error = schemas.validator("openai-chat/error", llama.overlay("openai-chat/error"))
    # llama.cpp: code is the HTTP status; the plain OpenAI shape (code null) is not its own
    assert error.is_valid({"error": {"code": 400, "message": "m", "type": "invalid_request_error"}})
    assert not error.is_valid({"error": {"code": None, "message": "m", "type": "x"}})
    response = schemas.validator("openai-chat/response", llama.overlay("openai-chat/response"))
    answer = {"id": "c", "object": "chat.completion", "created": 1, "model": "m",
              "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"},
                           "finish_reason": "stop"}]}
    assert response.is_valid({**answer, "timings": {"prompt_n": 3, "predicted_ms": 1.5}})
    assert not response.is_valid({**answer, "timings": {"prompt_n": "three"}})
    flat = schemas.validator("openai-chat/error-object")
    assert flat.is_valid({"object": "error", "message": "m", "type": "BadRequestError",
                          "param": None, "code": 400})
    assert not flat.is_valid({"error": {"message": "m", "type": "x"}})


def test_select_applies_the_flavour_to_the_profiles_that_have_it() -> None:
    chosen = {p.name: p for p in providers.select("modelbest,local", "sglang")}
    assert chosen["local"].flavour == "sglang" and chosen["modelbest"].flavour is None
    with pytest.raises(UnknownNameError, match=re.escape(
            "unknown --local-flavour 'ollama'; known: llama-cpp-python, llama.cpp, sglang, vllm, "
            "vllm-legacy")):
        providers.select("local", "ollama")
    with pytest.raises(UsageError, match="only local has flavours"):
        providers.select("modelbest", "vllm")


def test_an_overlay_written_twice_is_refused() -> None:
    raw = raw_local()
    raw["dialect"] = {"openai-chat/models": {"x-source": {"document": "d"}, "type": "object"}}
    with pytest.raises(ProfileError, match="/flavours/vllm/dialect: 'openai-chat/models' is "
                       "overlaid by the profile already"):
        providers.parse(raw, "local.yaml")


def test_a_flavour_replacing_an_unused_schema_is_a_problem() -> None:
    raw = raw_local()
    raw["flavours"]["sglang"]["schemas"]["anthropic-messages/error"] = "openai-chat/error-object"
    raw["flavours"]["vllm"]["dialect"]["openai-chat/nope"] = {"x-source": {"document": "d"}}
    problems = list(providers.profile_problems(providers.parse(copy.deepcopy(raw), "local.yaml")))
    assert "local: flavour sglang replaces 'anthropic-messages/error', which no endpoint of it " \
           "uses" in problems
    assert "local: dialect overlays missing schema 'openai-chat/nope' (flavour vllm)" in problems


def test_a_flavour_needs_its_source() -> None:
    raw = raw_local()
    raw["flavours"]["sglang"].pop("x-source")
    with pytest.raises(ProfileError, match="/flavours/sglang"):
        providers.parse(raw, "local.yaml")


def _client(flavour: str | None) -> httpx.Client:
    app = build_app(MockConfig(local_flavour=flavour), ["local"])
    return httpx.Client(transport=SyncASGITransport(app), base_url="http://mock/local/v1",
                        headers={"authorization": f"Bearer {MOCK_KEY}"})


@pytest.mark.parametrize(("flavour", "shape"), [
    (None, {"error": {"message": "...", "type": "invalid_request_error", "param": "messages",
                      "code": None}}),
    ("vllm", {"error": {"message": "...", "type": "invalid_request_error", "param": "messages",
                        "code": 400}}),
    ("sglang", {"object": "error", "message": "...", "type": "invalid_request_error",
                "param": "messages", "code": 400}),
])
def test_the_mock_answers_errors_in_the_flavours_shape(flavour: str | None,
                                                       shape: dict[str, Any]) -> None:
    with _client(flavour) as client:
        body = client.post("/chat/completions", json={"model": "m"}).json()
        faulted = client.post("/chat/completions", json={"model": "m"},
                              headers={"x-harness-fault": "status=503"})
    inner = body.get("error", body)
    inner["message"] = "..."
    assert body == shape
    assert faulted.status_code == 503 and ("object" in faulted.json()) == (flavour == "sglang")


@pytest.mark.parametrize(("flavour", "owner"), [(None, "local"), ("llama.cpp", "llamacpp"),
                                                ("sglang", "sglang")])
def test_the_mock_names_the_flavours_server_as_owner(flavour: str | None, owner: str) -> None:
    with _client(flavour) as client:
        assert {m["owned_by"] for m in client.get("/models").json()["data"]} == {owner}


def test_serving_an_unknown_flavour_is_a_usage_error() -> None:
    with pytest.raises(UnknownNameError, match="--local-flavour"):
        build_app(MockConfig(local_flavour="tgi"), ["local"])


def test_a_flavour_without_its_source_is_a_profile_error_naming_it() -> None:
    with pytest.raises(ProfileError, match=r"local\.yaml: /flavours/bare: no x-source"):
        flavours.parse_all({"bare": {"title": "no source"}}, {}, "local.yaml")
