"""The canonical requests: valid for their schemas, real media, honest invalid variants."""

from __future__ import annotations

import dataclasses
import io
import json

import pytest
from PIL import Image

from harness import media, providers, schemas
from harness.checks import requests
from harness.checks.exchange import Probe
from harness.targets.base import Target

APIS = [(p, api) for p in providers.all_profiles() for api in p.apis]
IDS = [f"{p.name}-{api.protocol.name}" for p, api in APIS]
# (provider, protocol) -> capabilities the canonical requests cannot express there.
UNSUPPORTED = {
    ("fal", "fal-queue"): {"text", "stream"},
    ("local", "openai-chat"): {"video"},
    ("mimo", "openai-chat"): set(),
    ("mimo", "anthropic-messages"): {"video"},
    ("modelbest", "openai-chat"): {"video"},
    ("modelbest", "minicpm-o-realtime"): set(requests.CAPABILITIES),
    ("wavespeed", "wavespeed-v3"): {"text", "stream", "multi-image"},
}


def request_schema(api: providers.Api, endpoint: str, model: str | None) -> str:
    op = next(o for o in api.operations() if o.endpoint.name == endpoint
              and (o.model is None or o.model.id == model))
    assert op.request is not None
    return op.request


@pytest.mark.parametrize(("profile", "api"), APIS, ids=IDS)
def test_every_sample_is_valid_for_its_schema_or_unsupported(profile: providers.Profile,
                                                            api: providers.Api) -> None:
    for capability in requests.CAPABILITIES:
        if capability in UNSUPPORTED[(profile.name, api.protocol.name)]:
            with pytest.raises(requests.Unsupported):
                requests.sample(api, capability)
            continue
        sample = requests.sample(api, capability, seed=7)
        assert sample.capability == capability
        schema = request_schema(api, sample.endpoint, sample.model)
        errors = [e.message for e in schemas.validator(schema, profile.overlay(schema))
                  .iter_errors(sample.json_body)]
        assert errors == [], (capability, errors)


def test_samples_are_answered_by_the_reference_mock(mock_target: Target) -> None:
    for profile, api in APIS:
        probe = Probe(mock_target, profile, api)
        for capability in requests.CAPABILITIES:
            if capability in UNSUPPORTED[(profile.name, api.protocol.name)]:
                continue
            ex = requests.call(probe, requests.sample(api, capability))
            assert ex.status == 200, (profile.name, capability, ex.body[:200])


def test_media_is_real_and_made_without_pillow() -> None:
    for data, fmt in ((requests.png(), "PNG"), (requests.JPEG, "JPEG"), (requests.GIF, "GIF"),
                      (requests.png(3, 2, comment=b"x" * 100), "PNG")):
        with Image.open(io.BytesIO(data)) as img:
            img.load()  # decodes the pixels, not only the header
            assert img.format == fmt
    assert media.sniff(requests.MP4) == "mp4"
    formats = [media.parse(u).format for u in requests.images(4)]
    assert formats == ["png", "jpeg", "gif", "png"]
    assert len(set(requests.images(4))) == 4  # the two PNGs differ too


@pytest.mark.parametrize("n", [100, 4097, 1_000_003])
def test_png_of_size_is_exact_and_still_a_png(n: int) -> None:
    data = requests.png_of_size(n)
    assert len(data) == n
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.size == (1, 1)


def test_png_of_size_refuses_sizes_below_a_png() -> None:
    with pytest.raises(ValueError, match="at least"):
        requests.png_of_size(10)


def test_token_field_seed_and_stream_options_follow_each_protocol() -> None:
    mimo, modelbest = providers.get("mimo"), providers.get("modelbest")
    assert "max_completion_tokens" in requests.sample(mimo.api("openai-chat"), "text").json_body
    assert "max_tokens" in requests.sample(modelbest.api("openai-chat"), "text").json_body
    anthropic = requests.sample(mimo.api("anthropic-messages"), "stream").json_body
    assert "seed" not in anthropic and anthropic["stream"] is True
    openai = requests.sample(modelbest.api("openai-chat"), "stream", seed=3).json_body
    assert openai["seed"] == 3 and openai["stream_options"] == {"include_usage": True}
    with pytest.raises(dataclasses.FrozenInstanceError):
        requests.sample(modelbest.api("openai-chat"), "text").model = "x"  # type: ignore[misc]


def test_model_choice(monkeypatch: pytest.MonkeyPatch) -> None:
    fal, local = providers.get("fal").apis[0], providers.get("local").apis[0]
    assert requests.sample(fal, "video").model == "fal-ai/mini-cpm/video"
    assert requests.sample(fal, "image").model == "fal-ai/mini-cpm"
    assert requests.sample(fal, "image", model="fal-ai/other").model == "fal-ai/other"
    monkeypatch.setenv("VLM_HARNESS_LOCAL_MODEL", "my/served-model")
    assert requests.sample(local, "image").json_body["model"] == "my/served-model"
    with pytest.raises(requests.Unsupported, match="video"):
        requests.sample(local, "video")


def test_answer_of_names_the_first_missing_step() -> None:
    assert requests.answer_of("openai-chat", {"choices": [{"message": {"content": "hi"}}]}) == (
        "/choices/0/message/content", True, "hi")
    assert requests.answer_of("openai-chat", {"choices": []})[:2] == ("/choices/0", False)
    thinking = {"content": [{"type": "thinking", "thinking": "."}, {"type": "text", "text": "ok"}]}
    assert requests.answer_of("anthropic-messages", thinking) == ("/content/1/text", True, "ok")
    assert requests.answer_of("wavespeed-v3", {"data": {"outputs": []}})[:2] == (
        "/data/outputs/0", False)
    assert requests.answer_of("fal-queue", None)[:2] == ("/output", False)


@pytest.mark.parametrize(("profile", "api"), [a for a in APIS if a[1].protocol.name != "minicpm-o-realtime"],
                         ids=[i for i in IDS if "realtime" not in i])
def test_invalid_samples_are_each_broken_in_one_named_way(profile: providers.Profile,
                                                         api: providers.Api) -> None:
    found = {s.name: s for s in requests.invalid_samples(api)}
    assert {"invalid-json", "missing-field", "wrong-type", "undecodable-media",
            "mislabelled-media"} <= set(found)
    with pytest.raises(ValueError):
        json.loads(found["invalid-json"].content or b"")
    for sample in found.values():
        assert sample.expected <= requests.ANY_4XX
        if sample.json_body is None or not sample.strict or "media" in sample.name:
            continue
        schema = request_schema(api, sample.endpoint, sample.model)
        assert not schemas.validator(schema, profile.overlay(schema)).is_valid(sample.json_body), \
            sample.name
    if api.protocol.name in ("openai-chat", "anthropic-messages"):
        assert found["unknown-model"].strict is (profile.name != "local")
    # The media variants pass the schema but break a media rule the mock and providers apply.
    rules = {name: {dict(f.extra)["rule"] for f in media.check(_media(found[name].json_body),
                                                               media.MediaLimits())}
             for name in ("undecodable-media", "mislabelled-media")}
    assert rules == {"undecodable-media": {"invalid-base64"}, "mislabelled-media": {"mime-mismatch"}}


def _media(node: object) -> str | None:
    """The one media string of a body, as a data URL (Anthropic's base64 source included)."""
    if isinstance(node, str):
        return node if node.startswith("data:") else None
    if isinstance(node, dict) and {"media_type", "data"} <= node.keys():
        return f"data:{node['media_type']};base64,{node['data']}"
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else []
    return next((m for m in map(_media, children) if m), None)
