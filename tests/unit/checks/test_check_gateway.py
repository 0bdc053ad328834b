"""The gateway checks on a gateway we control: a faithful one passes, each planted deviation
is found by the check that owns it, and every other target skips them with the reason.

The "gateway" is the reference mock behind :class:`~harness.mock.defects.Rewrite`, served on
loopback: request edits happen before the mock's journal sees the request (what a gateway
sends upstream), answer edits after it (what a gateway tells its client). The faithful edit
swaps the client's key for the upstream's, as every gateway does.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn

from harness import engine
from harness.findings import Finding
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY
from harness.mock.defects import Answer, Rewrite, Wire
from harness.report.results import Outcome
from harness.targets import TargetOptions, make_target
from harness.targets.base import Target
from harness.targets.gateway import GATEWAY_KEY_ENV

CLIENT_KEY = "sk-client-of-the-gateway-0001"
GATEWAY_CHECKS = ("gateway-media-intact,gateway-params,gateway-answer-fidelity,gateway-keys,"
                  "gateway-bridging,gateway-faults")


def faithful(wire: Wire) -> Wire:
    if not wire.path.startswith("/_harness/"):
        for name, prefix in (("authorization", "Bearer "), ("x-api-key", ""), ("api-key", "")):
            if name in wire.headers:
                wire.headers[name] = prefix + MOCK_KEY
    return wire


class Served:
    """An ASGI app under uvicorn on a free loopback port, in a daemon thread."""

    def __init__(self, app: object) -> None:
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            assert time.monotonic() < deadline, "test gateway did not start"
            time.sleep(0.01)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture
def gateway(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Target]]:
    """``gateway(request=edit, response=edit)`` -> a gateway target in front of the edited mock."""
    monkeypatch.setenv(GATEWAY_KEY_ENV, CLIENT_KEY)
    made: list[tuple[Served, Target]] = []

    def make(request: Callable[[Wire], Wire] = faithful,
             response: Callable[[Wire, Answer], Answer] | None = None) -> Target:
        served = Served(Rewrite(build_app(), request=request, response=response))
        target = make_target(TargetOptions(kind="gateway", base_url=served.url, upstream=served.url))
        made.append((served, target))
        return target

    yield make
    for served, target in made:
        target.close()
        served.close()


def findings(target: Target, provider: str = "modelbest") -> dict[str, list[Finding]]:
    result = engine.run(engine.Plan(target, provider_spec=provider, check_spec=GATEWAY_CHECKS))
    out: dict[str, list[Finding]] = {}
    for case in result.cases:
        out.setdefault(case.check, []).extend(f for f in case.findings if f.is_error)
    return out


def test_a_faithful_gateway_passes_every_gateway_check(gateway: Callable[..., Target]) -> None:
    result = engine.run(engine.Plan(gateway(), provider_spec="modelbest,mimo", check_spec=GATEWAY_CHECKS))
    assert not [f for c in result.cases for f in c.findings], [
        f.message for c in result.cases for f in c.findings]
    outcomes = {(c.check, c.provider, c.endpoint): c.outcome for c in result.cases}
    assert outcomes[("gateway-bridging", "mimo", "anthropic-messages")] is Outcome.SKIP
    assert sum(o is Outcome.PASS for o in outcomes.values()) >= 14


def _json_body(edit: Callable[[dict[str, object]], None]) -> Callable[[Wire], Wire]:
    def apply(wire: Wire) -> Wire:
        wire = faithful(wire)
        if wire.body.startswith(b"{"):
            data = json.loads(wire.body)
            edit(data)
            wire.body = json.dumps(data).encode()
        return wire
    return apply


def test_a_dropped_stop_and_a_changed_image_byte_are_found(gateway: Callable[..., Target]) -> None:
    def tamper(body: dict[str, object]) -> None:
        body.pop("stop", None)
        for message in body.get("messages", []):  # type: ignore[attr-defined]
            for part in message["content"] if isinstance(message["content"], list) else []:
                if part["type"] == "image_url":
                    url = part["image_url"]["url"]
                    part["image_url"]["url"] = url[:-8] + ("A" if url[-8] != "A" else "B") + url[-7:]

    found = findings(gateway(request=_json_body(tamper)))
    assert any("stop sequences" in f.message for f in found["gateway-params"])
    assert any("did not reach the upstream intact" in f.message for f in found["gateway-media-intact"])


def test_a_leaked_client_key_is_found(gateway: Callable[..., Target]) -> None:
    found = findings(gateway(request=lambda wire: wire))
    assert any("client's key reached the upstream" in f.message for f in found["gateway-keys"])


def test_a_renamed_retry_after_and_a_stream_made_complete_are_found(
        gateway: Callable[..., Target]) -> None:
    def answer(wire: Wire, got: Answer) -> Answer:
        if "retry-after" in got.headers:
            got.headers["llm_provider-retry-after"] = got.headers.pop("retry-after")
        if got.body.startswith(b"data:") and b"[DONE]" not in got.body:
            got.body += (b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
                         b"data: [DONE]\n\n")
        return got

    found = findings(gateway(response=answer))
    messages = [f.message for f in found["gateway-faults"]]
    assert any("no usable Retry-After" in m for m in messages)
    assert any("ended the client's stream as if complete" in m for m in messages)
    retry = next(f for f in found["gateway-faults"] if "Retry-After" in f.message)
    assert dict(retry.extra)["renamed_to"] == "llm_provider-retry-after"


def test_changed_answer_text_and_usage_are_found(gateway: Callable[..., Target]) -> None:
    def answer(wire: Wire, got: Answer) -> Answer:
        got.body = got.body.replace(b'"completion_tokens":', b'"completion_tokens":1').replace(
            b"the ", b"teh ", 1)
        return got

    found = findings(gateway(response=answer))
    messages = {f.message for f in found["gateway-answer-fidelity"]}
    assert "answer: the answer text differs from what the upstream produced" in messages
    assert "answer: output token usage differs from the upstream's" in messages


def test_other_targets_skip_the_gateway_checks_with_the_reason() -> None:
    target = make_target(TargetOptions())
    try:
        result = engine.run(engine.Plan(target, provider_spec="modelbest", check_spec=GATEWAY_CHECKS))
    finally:
        target.close()
    assert {c.outcome for c in result.cases} == {Outcome.SKIP}
    assert all("--target gateway" in c.reason for c in result.cases)


def test_a_failing_cell_shows_the_client_and_the_upstream_side(
        gateway: Callable[..., Target]) -> None:
    from harness.report.html import render

    target = gateway(request=_json_body(lambda body: body.pop("stop", None)))
    result = engine.run(engine.Plan(target, provider_spec="modelbest", check_spec="gateway-params"))
    finding = next(f for c in result.cases for f in c.findings)
    side = dict(finding.extra)["upstream_side"]
    assert "POST /modelbest/v1/chat/completions" in side and "-> 200" in side
    assert MOCK_KEY not in side and CLIENT_KEY not in side
    page = render([result])
    assert "Upstream side" in page and "Client side" in page
