"""The accept path (jsonschema-rs) agrees with the explaining validator, or is stricter.

A request the compiled validator accepts must be one the explaining validator accepts (else a
violation would go unreported); a valid request it refuses costs only the explaining pass. On
generated valid requests and on every class of one-rule mutation, for every operation of every
provider, both verdicts are compared; values at the edge of what Rust holds (a lone
surrogate, a 40-digit integer, NaN, infinity) get the same answer, NaN and infinity by falling
back to the explaining validator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from hypothesis import given

from harness import providers
from harness.mock import accept, validation
from harness.strategies import Mutation, mutation_plans, mutations, requests, settings_for


def _operations() -> Iterator[Any]:
    for profile in providers.all_profiles():
        for api in profile.apis:
            for op in api.operations():
                if op.request:
                    yield pytest.param(profile.name, api.protocol.name, op.key,
                                       id=f"{profile.name}-{op.key}")


def _op(provider: str, protocol: str, key: str) -> tuple[Any, Any, Any]:
    profile = providers.get(provider)
    api = profile.api(protocol)
    return profile, api, next(op for op in api.operations() if op.key == key)


def explained(body: Any, name: str, profile: Any) -> bool:
    """The strict explaining validator's verdict alone: True when it finds no violation, not
    even of an advisory limit (the accept path compiles those in, see harness.mock.accept)."""
    validator = validation._validator(name, accept.overlay_key(profile.overlay(name)), True)
    return next(validator.iter_errors(body), None) is None


def fast(body: Any, name: str, profile: Any) -> bool:
    return accept.accepts(body, name, accept.overlay_key(profile.overlay(name)))


@pytest.mark.parametrize(("provider", "protocol", "key"), list(_operations()))
def test_valid_requests_are_accepted_by_both(provider: str, protocol: str, key: str) -> None:
    profile, api, op = _op(provider, protocol, key)

    @settings_for("ci", max_examples=20)
    @given(requests(profile, api, op))
    def check(body: Any) -> None:
        # valid by the schema the mock enforces: accepted (a value past an advisory limit,
        # e.g. temperature 1.5, is still accepted and only reported)
        assert validation.schema_problem(body, op.request, profile.overlay(op.request)) is None
        assert fast(body, op.request, profile) == explained(body, op.request, profile)

    check()


MUTATED = [pytest.param(*p.values, kind, id=f"{p.id}-{kind}") for p in _operations()
           for kind in dict.fromkeys(k for k, _ in mutation_plans(
               _op(*p.values)[2].request, providers.get(p.values[0])))]


@pytest.mark.parametrize(("provider", "protocol", "key", "kind"), MUTATED)
def test_mutated_requests_get_the_same_verdict(provider: str, protocol: str, key: str,
                                               kind: str) -> None:
    profile, api, op = _op(provider, protocol, key)

    @settings_for("ci", max_examples=6)
    @given(mutations(op.request, profile, kinds=(kind,), models=list(api.models)))
    def check(m: Mutation) -> None:
        assert fast(m.body, op.request, profile) == explained(m.body, op.request, profile), m

    check()


CHAT = {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": "hi"}]}


@pytest.mark.parametrize(("field", "value", "crosses"), [
    ("temperature", float("nan"), False), ("temperature", float("inf"), False),
    ("seed", 10**40, True), ("user", "\ud800", True), ("user", "a\n", True)],
    ids=["nan", "inf", "big-int", "lone-surrogate", "newline"])
def test_values_rust_cannot_hold_fall_back_to_the_explaining_validator(
        field: str, value: Any, crosses: bool) -> None:
    profile = providers.get("modelbest")
    body, name = {**CHAT, field: value}, "openai-chat/request"
    assert fast(body, name, profile) is crosses
    found = validation.schema_problem(body, name, profile.overlay(name))
    with mock.patch.object(accept, "accepts", lambda *args: False):
        assert found == validation.schema_problem(body, name, profile.overlay(name))


def test_a_final_newline_after_base64_keeps_pythons_verdict() -> None:
    """Python's ``$`` matches before a final newline and the schemas' patterns rely on re;
    the swapped-in format keeps that, so such a data URL is accepted on the fast path too."""
    profile = providers.get("modelbest")
    url = "data:image/png;base64,iVBORw0KGgo=\n"
    body = {**CHAT, "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": url}}]}]}
    assert explained(body, "openai-chat/request", profile)
    assert fast(body, "openai-chat/request", profile)


def test_an_overlay_key_is_its_sorted_json_whether_worked_out_or_remembered() -> None:
    overlay = {"properties": {"model": {"enum": ["b", "a"]}}, "x-source": {"document": "d"}}
    expected = json.dumps(overlay, sort_keys=True)
    assert accept.overlay_key(overlay) == expected
    assert accept.overlay_key(overlay) == expected  # remembered
    assert accept.overlay_key(dict(overlay)) == expected  # an equal overlay, another object
    other = {"properties": {"model": {"enum": ["c"]}}}
    assert accept.overlay_key(other) == json.dumps(other, sort_keys=True)
    assert accept.overlay_key(None) == accept.overlay_key({}) == ""
