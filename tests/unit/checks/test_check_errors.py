"""Error checks: bad input gets a helpful 4xx and keys are enforced, never echoed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from harness import engine
from harness.checks.errors import WRONG_KEY, error_text
from harness.checks.registry import Skip
from harness.engine import Plan
from harness.findings import Severity
from harness.mock.config import MOCK_KEY
from harness.report.results import Outcome
from harness.targets.base import Target

HTTP_APIS = [("mimo", "openai-chat"), ("mimo", "anthropic-messages"), ("modelbest", "openai-chat"),
             ("local", "openai-chat"), ("wavespeed", "wavespeed-v3"), ("fal", "fal-queue")]


def respond(status: int, body: Any, headers: dict[str, str] | None = None
            ) -> tuple[int, dict[str, str], bytes]:
    return status, {"content-type": "application/json", **(headers or {})}, json.dumps(body).encode()


@pytest.mark.parametrize(("provider", "protocol"), HTTP_APIS)
def test_bad_input_passes_on_the_reference_mock(mock_target: Target, run_check: Any,
                                                provider: str, protocol: str) -> None:
    assert run_check(mock_target, provider, protocol, "bad-input-errors") == []


@pytest.mark.parametrize(("provider", "protocol"), [a for a in HTTP_APIS if a[0] != "local"])
def test_auth_passes_on_the_reference_mock(mock_target: Target, run_check: Any,
                                           provider: str, protocol: str) -> None:
    assert run_check(mock_target, provider, protocol, "auth-enforced") == []


def test_auth_is_skipped_where_it_is_optional(mock_target: Target, run_check: Any) -> None:
    with pytest.raises(Skip, match="auth is optional"):
        run_check(mock_target, "local", "openai-chat", "auth-enforced")


def test_engine_runs_error_checks_with_error_shape(mock_target: Target) -> None:
    result = engine.run(Plan(mock_target, provider_spec="mimo",
                             check_spec="bad-input-errors,auth-enforced,error-shape"))
    assert all(c.outcome is Outcome.PASS for c in result.cases), [
        (c.check, c.findings) for c in result.cases if c.outcome is not Outcome.PASS]
    assert {c.capability for c in result.cases if c.check != "error-shape"} == {"errors", "auth"}
    assert {c.check for c in result.cases} == {"bad-input-errors", "auth-enforced", "error-shape"}


def _500_on_bad_json(wire: Any, status: int, headers: dict[str, str], body: bytes) -> Any:
    try:
        json.loads(wire.body)
    except ValueError:
        return respond(500, {"error": {"message": "Internal Server Error", "type": "server_error"}})
    return status, headers, body


def test_a_500_on_invalid_json_is_an_error_naming_the_sample(broken_target: Any,
                                                             run_check: Any) -> None:
    findings = run_check(broken_target(response=_500_on_bad_json), "modelbest", "openai-chat",
                         "bad-input-errors")
    assert [f.message for f in findings] == [
        "invalid-json: HTTP 500 on bad input; a client error must get a 4xx, not a server error"]
    assert findings[0].severity is Severity.ERROR


def _vague(wire: Any, status: int, headers: dict[str, str], body: bytes) -> Any:
    return respond(status, {"msg": "bad request"}) if status >= 400 else (status, headers, body)


def test_wrong_error_shape_and_vague_messages(broken_target: Any) -> None:
    result = engine.run(Plan(broken_target(response=_vague), provider_spec="wavespeed",
                             check_spec="bad-input-errors,error-shape"))
    rows = {c.check: c for c in result.cases}
    assert rows["error-shape"].outcome is Outcome.FAIL
    assert "error body is not in the provider's shape (wavespeed-v3/error-response)" in \
        rows["error-shape"].findings[0].message
    vague = rows["bad-input-errors"].findings
    assert all(f.severity is Severity.WARNING for f in vague)  # unhelpful, not broken
    assert any(f.message.startswith("unknown-enum: the HTTP 400 error message does not name "
                                    "'preset_prompt'") for f in vague)
    assert len(vague) == 6  # every sample that has a field to name


def _fix_model_and_mime(wire: Any) -> Any:
    wire.body = (wire.body.replace(b"no-such-model-vlm-harness", b"mimo-v2-omni")
                 .replace(b"data:image/png;base64,/9j/", b"data:image/jpeg;base64,/9j/"))
    return wire


def test_accepting_invalid_input_is_reported(broken_target: Any, run_check: Any) -> None:
    findings = run_check(broken_target(request=_fix_model_and_mime), "mimo", "openai-chat",
                         "bad-input-errors")
    by_sample = {f.message.split(":")[0]: f for f in findings}
    assert set(by_sample) == {"unknown-model", "mislabelled-media"}
    assert by_sample["unknown-model"].severity is Severity.ERROR  # MiMo documents its models
    assert by_sample["mislabelled-media"].severity is Severity.WARNING  # commonly tolerated
    assert "the invalid request was accepted (expected a 4xx naming 'model')" in \
        by_sample["unknown-model"].message


def test_an_unexpected_4xx_is_a_warning(broken_target: Any, run_check: Any) -> None:
    def model_422(wire: Any, status: int, headers: dict[str, str], body: bytes) -> Any:
        return (422, headers, body) if status == 404 else (status, headers, body)
    [finding] = run_check(broken_target(response=model_422), "mimo", "anthropic-messages",
                          "bad-input-errors")
    assert finding.message == "unknown-model: HTTP 422, expected one of 400, 404"
    assert finding.severity is Severity.WARNING


def test_error_text_reads_each_protocols_message() -> None:
    assert error_text("openai-chat", {"error": {"message": "bad", "param": "seed"}}) == "bad seed"
    assert error_text("anthropic-messages", {"type": "error", "error": {"message": "m"}}) == "m"
    assert error_text("wavespeed-v3", {"code": 400, "message": "w"}) == "w"
    assert error_text("fal-queue", {"detail": [{"loc": ["body", "prompt"], "msg": "missing"}]}) == \
        "body.prompt: missing"
    assert error_text("fal-queue", {"detail": "nope"}) == "nope"


def test_a_missing_key_that_is_let_through_is_reported(broken_target: Any, run_check: Any) -> None:
    def add_key(wire: Any) -> Any:
        if "authorization" not in wire.headers:
            wire.headers["authorization"] = f"Key {MOCK_KEY}"
        return wire
    [finding] = run_check(broken_target(request=add_key), "fal", "fal-queue", "auth-enforced")
    assert finding.message == "request with no key answered HTTP 200, expected 401 (or 403)"


def test_a_key_echoed_in_a_401_is_a_leak_and_is_scrubbed(broken_target: Any, run_check: Any) -> None:
    def echo(wire: Any, status: int, headers: dict[str, str], body: bytes) -> Any:
        if status != 401:
            return status, headers, body
        presented = wire.headers.get("api-key", "(none)")
        return respond(401, {"error": {"message": f"invalid key {presented}", "type": "auth"}},
                       {"x-debug-expected": MOCK_KEY})
    findings = run_check(broken_target(response=echo), "mimo", "openai-chat", "auth-enforced")
    assert [f.message for f in findings] == [
        "request with no key: the answer contains the real key (key leak)",
        "request with a wrong key in api-key: the answer contains the wrong key and the real key "
        "(key leak)"]
    assert all(f.severity is Severity.ERROR for f in findings)
    assert all(WRONG_KEY not in f.excerpt and MOCK_KEY not in f.excerpt for f in findings)
    assert "invalid key <REDACTED>" in findings[1].excerpt
