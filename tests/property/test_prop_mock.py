"""The reference mock answers every generated request inside its own contract.

Valid requests (media-aware, a few dozen per HTTP operation) get answers that pass every
exchange check of the registry (schema of the status received, documented status, content
type, error shape; streams event by event) and never a 5xx. Each class of invalid request
(one targeted mutation) gets a 4xx in the provider's own error shape. Media exactly at a
profile's size limits is accepted, one byte over is refused with 413.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given

from harness import providers, schemas
from harness.checks.exchange import Exchange, Probe
from harness.checks.requests import media_sample
from harness.secrets import Scrubber
from harness.strategies import (
    Boundary,
    Mutation,
    boundary,
    data_urls,
    mutation_plans,
    mutations,
    requests,
    settings_for,
)
from harness.targets.mock import MockTarget

ContractErrors = Callable[..., list[str]]  # the contract_errors fixture (conftest.py)


def _operations() -> Iterator[Any]:
    for profile in providers.all_profiles():
        for api in profile.apis:
            for op in api.operations():
                if op.request:
                    yield profile, api, op


OPERATIONS = [pytest.param(p.name, a.protocol.name, o.key, id=f"{p.name}-{o.key}")
              for p, a, o in _operations()]
MUTATIONS = [pytest.param(p.name, a.protocol.name, o.key, kind, id=f"{p.name}-{o.key}-{kind}")
             for p, a, o in _operations()
             for kind in dict.fromkeys(k for k, _ in mutation_plans(o.request, p))]


def _operation(provider: str, protocol: str, key: str) -> tuple[Any, Any, Any]:
    profile = providers.get(provider)
    api = profile.api(protocol)
    return profile, api, next(op for op in api.operations() if op.key == key)


def _send(target: MockTarget, profile: Any, api: Any, op: Any, body: Any) -> tuple[Exchange, Probe]:
    probe = Probe(target, profile, api)
    model = op.model.id if op.model else None
    return probe.call(op.endpoint.name, model=model, json_body=body), probe


@pytest.mark.parametrize(("provider", "protocol", "key"), OPERATIONS)
def test_every_answer_to_a_valid_request_keeps_the_contract(
        prop_target: MockTarget, contract_errors: ContractErrors, provider: str, protocol: str,
        key: str) -> None:
    profile, api, op = _operation(provider, protocol, key)

    @settings_for("ci", max_examples=24)
    @given(requests(profile, api, op))
    def check(body: Any) -> None:
        ex, probe = _send(prop_target, profile, api, op, body)
        assert ex.status < 500, ex.excerpt(Scrubber(()))
        problems = contract_errors(prop_target, probe, ex)
        assert not problems, (problems, ex.excerpt(Scrubber(())))

    check()


@pytest.mark.parametrize(("provider", "protocol", "key", "kind"), MUTATIONS)
def test_every_invalid_request_class_gets_a_4xx_in_the_provider_shape(
        prop_target: MockTarget, contract_errors: ContractErrors, provider: str, protocol: str,
        key: str, kind: str) -> None:
    profile, api, op = _operation(provider, protocol, key)
    error_schema = api.protocol.error
    assert error_schema is not None

    @settings_for("ci", max_examples=6)
    @given(mutations(op.request, profile, kinds=(kind,), models=list(api.models)))
    def check(m: Mutation) -> None:
        ex, probe = _send(prop_target, profile, api, op, m.body)
        assert 400 <= ex.status < 500, (m.kind, m.field, ex.excerpt(Scrubber(())))
        shape = ex.response_schema or error_schema
        assert schemas.validator(shape).is_valid(ex.json()), (shape, ex.body[:300])
        assert not contract_errors(prop_target, probe, ex)

    check()


EDGES = [pytest.param(name, protocol, edge, id=f"{name}-{edge.size}-{'ok' if edge.allowed else 'over'}")
         for name, protocol in (("mimo", "openai-chat"), ("wavespeed", "wavespeed-v3"))
         for edge in boundary(providers.get(name).limits["image"])]


@pytest.mark.parametrize(("provider", "protocol", "edge"), EDGES)
def test_media_at_the_size_limits(prop_target: MockTarget, provider: str, protocol: str,
                                  edge: Boundary) -> None:
    """Exactly at each limit is accepted, one byte (or one base64 quantum) over is a 413."""
    profile = providers.get(provider)
    api = profile.api(protocol)

    @settings_for("ci", max_examples=1)
    @given(data_urls("image", size=edge.size, formats=("png", "jpeg")))
    def check(url: str) -> None:
        sample = media_sample(api, "image", [url])
        ex = Probe(prop_target, profile, api).call(sample.endpoint, model=sample.model,
                                              json_body=sample.json_body)
        assert ex.status == (200 if edge.allowed else 413), (edge, ex.body[:300])

    check()
