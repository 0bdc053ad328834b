"""Unit tests of harness.strategies.bodies: schema rewriting, name resolution, mutations.

The property tests (tests/property) check every schema end to end; these pin the pieces: which
nodes count as media, how sizes are capped without excluding required values, how an
endpoint name becomes a schema, and that each mutation kind breaks exactly what it says.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness import providers, schemas
from harness.errors import UsageError
from harness.lint.base import walk
from harness.strategies import Mutation, mutations, request_schema, requests, settings_for
from harness.strategies.bodies import ITEMS_MAX, TEXT_MAX, _prepare

CI = settings_for("ci", max_examples=20)


def formats(schema: Any) -> list[str]:
    return [n["format"] for _, n in walk(schema) if isinstance(n, dict)
            and str(n.get("format", "")).startswith("vlm-media-")]


@pytest.mark.parametrize(("name", "expected"), [
    ("openai-chat/request", ["vlm-media-image", "vlm-media-video"]),
    ("anthropic-messages/request", ["vlm-media-anthropic-image-source"]),
    ("wavespeed-v3/image-input", ["vlm-media-image"]),
    ("wavespeed-v3/video-input", ["vlm-media-video"]),
    ("fal-queue/mini-cpm-input", ["vlm-media-image"]),
    ("fal-queue/mini-cpm-video-input", ["vlm-media-video"]),
    ("wavespeed-v3/upload-request", []),
])
def test_media_fields_are_found_by_shape(name: str, expected: list[str]) -> None:
    prepared = _prepare(schemas.resolved(name))
    assert sorted(formats(prepared)) == expected
    assert "data:" not in str(prepared)  # no URL pattern is left for random base64


def test_sizes_are_capped_but_minimums_kept() -> None:
    node = _prepare({"type": "object", "properties": {
        "free": {"type": "string", "maxLength": 4096},
        "long": {"type": "string", "minLength": 40},
        "listed": {"type": "array", "items": {"type": "string"}},
        "many": {"type": "array", "minItems": 5, "items": {"type": "integer"}},
        "choice": {"type": "string", "enum": ["a", "b"]}}})
    props = node["properties"]
    assert props["free"]["maxLength"] == TEXT_MAX and props["long"]["maxLength"] == 40
    assert props["listed"]["maxItems"] == ITEMS_MAX and props["many"]["maxItems"] == 5
    assert "maxLength" not in props["choice"]
    assert node["additionalProperties"] is False  # a typed object gets its documented fields


def test_overlays_and_combinators_stay_open() -> None:
    # An untyped overlay and an object with oneOf must not be closed: their own properties
    # are not all of the object's fields.
    overlay = _prepare({"properties": {"model": {"enum": ["m"]}}})
    mixed = _prepare({"type": "object", "properties": {"role": {"type": "string"}},
                      "oneOf": [{"type": "object", "properties": {"role": {"const": "x"}}}]})
    assert "additionalProperties" not in overlay and "additionalProperties" not in mixed
    assert mixed["oneOf"][0]["additionalProperties"] is False


def test_endpoint_names_keys_and_schema_names_resolve() -> None:
    fal = providers.get("fal").api("fal-queue")
    assert request_schema(fal, "submit:fal-ai/mini-cpm/video") == "fal-queue/mini-cpm-video-input"
    assert request_schema(fal, "run") == "fal-queue/mini-cpm-input"  # the first model's
    assert request_schema(fal, "wavespeed-v3/upload-request") == "wavespeed-v3/upload-request"
    op = next(o for o in fal.operations() if o.request)
    assert request_schema(fal, op) == op.request
    with pytest.raises(UsageError, match="known: run:fal-ai/mini-cpm"):
        request_schema(fal, "status")  # no body


@CI
@given(st.data())
def test_models_are_the_profiles_unless_any_model(data: st.DataObject) -> None:
    local = providers.get("local")
    api = local.api("openai-chat")
    assert data.draw(requests(local, api, "chat"))["model"] in api.models
    free = data.draw(requests(local, api, "chat", any_model=True))
    assert isinstance(free["model"], str) and 1 <= len(free["model"]) <= TEXT_MAX


@CI
@given(mutations("wavespeed-v3/image-input", kinds=("out-of-range",)))
def test_out_of_range_is_the_right_type_but_outside_the_bounds(m: Mutation) -> None:
    assert m.field == "seed" and isinstance(m.body["seed"], int)
    assert m.body["seed"] in (-2, 2**31)


@CI
@given(mutations("fal-queue/mini-cpm-input", kinds=("missing-required",)))
def test_missing_required_drops_exactly_one_field(m: Mutation) -> None:
    assert set(m.body) == {"image_urls", "prompt"} - {m.field}


def test_no_applicable_mutation_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no mutation of kind unknown-enum"):
        mutations("fal-queue/mini-cpm-input", kinds=("unknown-enum",))


@CI
@given(st.data())
def test_invalid_requests_come_from_mutations(data: st.DataObject) -> None:
    mimo = providers.get("mimo")
    api = mimo.api("anthropic-messages")
    body = data.draw(requests(mimo, api, "messages", valid=False))
    assert not schemas.validator("anthropic-messages/request",
                                 mimo.overlay("anthropic-messages/request")).is_valid(body)
