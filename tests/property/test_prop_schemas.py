"""Every request schema accepts what its strategy generates and rejects each targeted mutation.

Generated bodies must validate against the schema *with the provider's dialect overlay* (the
validator the mock and the checks use), and the media they carry must be real: each data URL
passes :func:`harness.media.check` against the provider's limits, which random base64 from a
pattern would not. Every mutation must be rejected, and for the field it names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given

from harness import media, providers, schemas
from harness.strategies import MUTATION_KINDS, Mutation, mutation_plans, mutations, requests, settings_for

CI = settings_for("ci")


def _operations() -> Iterator[Any]:
    for profile in providers.all_profiles():
        for api in profile.apis:
            for op in api.operations():
                if op.request:
                    yield pytest.param(profile.name, api.protocol.name, op.key,
                                       id=f"{profile.name}-{op.key}")


OPERATIONS = list(_operations())


def _operation(provider: str, protocol: str, key: str) -> tuple[Any, Any, Any]:
    profile = providers.get(provider)
    api = profile.api(protocol)
    return profile, api, next(op for op in api.operations() if op.key == key)


def _media(node: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """(pointer, media string, kind) of every media value in a request body."""
    if isinstance(node, dict):
        if node.get("type") == "base64" and "media_type" in node:  # Anthropic image source
            yield path, f"data:{node['media_type']};base64,{node['data']}", "image"
            return
        for key, value in node.items():
            yield from _media(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _media(value, f"{path}/{i}")
    elif isinstance(node, str) and (node.startswith("data:") or node.startswith("https://media.")):
        yield path, node, "video" if "video" in path else "image"


@pytest.mark.parametrize(("provider", "protocol", "key"), OPERATIONS)
def test_generated_requests_validate_and_carry_real_media(provider: str, protocol: str,
                                                          key: str) -> None:
    profile, api, op = _operation(provider, protocol, key)
    validator = schemas.validator(op.request, profile.overlay(op.request))

    @CI
    @given(requests(profile, api, op))
    def check(body: Any) -> None:
        errors = [e.message for e in validator.iter_errors(body)]
        assert not errors, errors
        for pointer, value, kind in _media(body):
            limits = profile.limits.get(kind) or media.MediaLimits()
            found = media.check(value, limits, expect=media.MediaKind(kind), pointer=pointer)
            assert not found, [f.message for f in found]
        if "model" in body:
            assert body["model"] in api.models  # pinned to the profile's models by default

    check()


@pytest.mark.parametrize(("provider", "protocol", "key"), OPERATIONS)
def test_every_mutation_is_rejected_for_the_field_it_names(provider: str, protocol: str,
                                                           key: str) -> None:
    profile, _, op = _operation(provider, protocol, key)
    validator = schemas.validator(op.request, profile.overlay(op.request))
    plans = mutation_plans(op.request, profile)
    required = schemas.resolved(op.request).get("required", [])
    assert {("missing-required", f) for f in required} <= set(plans)
    assert {kind for kind, _ in plans} <= set(MUTATION_KINDS)

    @settings_for("ci", max_examples=3 * len(plans))
    @given(mutations(op.request, profile))
    def check(m: Mutation) -> None:
        errors = list(validator.iter_errors(m.body))
        assert errors, f"{m.kind} of {m.field} was accepted: {m.body}"
        at_field = [e for e in errors if list(e.absolute_path)[:1] == [m.field]
                    or (e.validator == "required" and m.field in e.validator_value)
                    or any(list(c.absolute_path)[:1] == [m.field] for c in e.context or ())]
        assert at_field, f"{m.kind} of {m.field}: errors elsewhere: {[e.message for e in errors]}"

    check()


def test_mutation_kinds_cover_the_documented_ways_to_be_wrong() -> None:
    wavespeed = providers.get("wavespeed")
    plans = set(mutation_plans("wavespeed-v3/image-input", wavespeed))
    assert {("missing-required", "image"), ("out-of-range", "seed"),
            ("unknown-enum", "preset_prompt"), ("wrong-type", "enable_sync_mode")} <= plans
    # A closed model list is a dialect overlay: MiMo's makes an unknown model a mutation,
    # the local server (any model id) has none.
    assert ("unknown-enum", "model") in mutation_plans("openai-chat/request", providers.get("mimo"))
    assert ("unknown-enum", "model") not in mutation_plans("openai-chat/request",
                                                           providers.get("local"))
