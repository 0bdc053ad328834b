"""The model-list check: /models answers a non-empty list naming the model, and names its server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from harness import providers
from harness.checks.exchange import Probe
from harness.checks.registry import CheckContext, registered
from harness.findings import Finding, Severity
from harness.secrets import Scrubber
from harness.targets.base import TargetOptions
from harness.targets.mock import MockTarget


@pytest.fixture
def served_as() -> Iterator[Any]:
    """``served_as(flavour)``: the in-process mock answering as that local server flavour."""
    made: list[MockTarget] = []

    def make(flavour: str | None) -> MockTarget:
        made.append(MockTarget(TargetOptions(local_flavour=flavour)))
        return made[-1]

    yield make
    for target in made:
        target.close()


def model_list(target: Any, provider: str = "local", expects: str | None = None) -> list[Finding]:
    profile = providers.get(provider).flavoured(expects)
    api = profile.api("openai-chat")
    ctx = CheckContext(target, profile, api, Probe(target, profile, api), Scrubber(()),
                       check="model-list")
    return list(registered()["model-list"].fn(ctx))


@pytest.mark.parametrize("provider", ["modelbest", "mimo", "local"])
def test_the_reference_mock_lists_the_model(served_as: Any, provider: str) -> None:
    assert model_list(served_as(None), provider) == []


@pytest.mark.parametrize("flavour", sorted(providers.get("local").flavours))
def test_each_flavour_served_is_the_flavour_expected(served_as: Any, flavour: str) -> None:
    assert model_list(served_as(flavour), expects=flavour) == []


def test_a_server_of_another_flavour_is_one_warning(served_as: Any) -> None:
    found = model_list(served_as("sglang"), expects="llama.cpp")
    assert [(f.severity, f.instance_pointer) for f in found] == [
        (Severity.WARNING, "/data/0/owned_by")]
    assert "expects the llama.cpp flavour" in found[0].message
    assert "'sglang', the sglang flavour's" in found[0].message


def test_an_unflavoured_run_is_told_which_flavour_fits(served_as: Any) -> None:
    found = model_list(served_as("vllm"))
    assert [f.severity for f in found] == [Severity.INFO]
    # vLLM's owner names two flavours (the error shape changed in 0.10.1)
    assert "--local-flavour vllm or vllm-legacy" in found[0].message


def _answer(body: Any, status: int = 200) -> Any:
    def edit(wire: Any, _status: int, headers: dict[str, str], _body: bytes) -> Any:
        if not wire.path.endswith("/models"):
            return _status, headers, _body
        return status, {"content-type": "application/json"}, json.dumps(body).encode()
    return edit


def test_an_unlisted_model_is_a_warning_naming_the_variable(broken_target: Any) -> None:
    target = broken_target(response=_answer({"object": "list", "data": [
        {"id": "tiny.gguf", "object": "model"}]}))
    found = model_list(target)
    assert [f.severity for f in found] == [Severity.WARNING]
    assert "'tiny.gguf'" in found[0].message and "VLM_HARNESS_LOCAL_MODEL" in found[0].message


@pytest.mark.parametrize(("body", "status", "says"), [
    ({"object": "list", "data": []}, 200, "lists no model"),
    ({"error": {"message": "nope", "type": "server_error"}}, 500, "answered HTTP 500"),
])
def test_an_empty_or_failed_list_is_an_error(broken_target: Any, body: Any, status: int,
                                             says: str) -> None:
    found = model_list(broken_target(response=_answer(body, status)), "modelbest")
    assert [f.severity for f in found] == [Severity.ERROR] and says in found[0].message
