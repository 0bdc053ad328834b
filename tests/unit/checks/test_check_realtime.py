"""Realtime checks: pass on the mock (in process and served), and name each planted session defect.

Defects are planted by :func:`ws_rewrite`, a wrapper over the mock app that edits its WebSocket
traffic: server events replaced, added or dropped, close codes changed, the handshake refused
or its query string altered (a provider that ignores ``revision``). The check then runs
through the ordinary in-process target, exactly as it runs against a provider.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness import engine
from harness.checks.registry import Skip
from harness.engine import Plan
from harness.findings import Severity
from harness.mock.serve import ServedMock
from harness.report.results import Outcome
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.mock import MockTarget
from harness.targets.url import UrlTarget

RT = ("modelbest", "minicpm-o-realtime")
OPTIONS = {"event_timeout": 2.0}
Events = Callable[[dict[str, Any]], list[dict[str, Any]]]


def ws_rewrite(*, events: Events | None = None, close: Callable[[int], int] | None = None,
               refuse: Callable[[bytes], bool] | None = None,
               query: Callable[[bytes], bytes] | None = None) -> Callable[[ASGIApp], ASGIApp]:
    """A wrapper that edits the mock's WebSocket traffic: each server event becomes
    ``events(event)``, each close code ``close(code)``; a handshake whose query ``refuse``
    picks is closed before accept, and ``query`` rewrites the query string the app sees."""
    def wrap(app: ASGIApp) -> ASGIApp:
        async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "websocket":
                await app(scope, receive, send)
                return
            if refuse is not None and refuse(scope["query_string"]):
                await receive()  # websocket.connect
                await send({"type": "websocket.close", "code": 1008})
                return
            if query is not None:
                scope = {**scope, "query_string": query(scope["query_string"])}

            async def edited(message: Message) -> None:
                if events is not None and message["type"] == "websocket.send" and message.get("text"):
                    for event in events(json.loads(message["text"])):
                        await send({"type": "websocket.send", "text": json.dumps(event)})
                    return
                if close is not None and message["type"] == "websocket.close":
                    message = {**message, "code": close(message.get("code", 1000))}
                await send(message)

            await app(scope, receive, edited)
        return wrapped
    return wrap


@pytest.fixture
def rewritten() -> Iterator[Callable[..., MockTarget]]:
    """``rewritten(**ws_rewrite_args)``: the in-process mock behind :func:`ws_rewrite`."""
    made: list[MockTarget] = []

    def build(**edits: Any) -> MockTarget:
        target = MockTarget()
        target.app = ws_rewrite(**edits)(target.app)  # type: ignore[assignment]
        made.append(target)
        return target

    yield build
    for target in made:
        target.close()


@pytest.fixture(scope="module")
def served() -> Iterator[UrlTarget]:
    with ServedMock(names=["modelbest"]) as mock:
        target = UrlTarget(TargetOptions(kind=TargetKind.URL, base_url=mock.url))
        yield target
        target.close()


def messages(findings: list[Any]) -> list[str]:
    return [f.message for f in findings]


@pytest.mark.parametrize("name", ["realtime-session", "realtime-errors"])
def test_passes_on_the_reference_mock(mock_target: Any, run_check: Any, name: str) -> None:
    assert run_check(mock_target, *RT, name, options=OPTIONS) == []


@pytest.mark.parametrize("name", ["realtime-session", "realtime-errors"])
def test_passes_on_the_served_mock_via_the_url_target(served: UrlTarget, run_check: Any,
                                                      name: str) -> None:
    assert run_check(served, *RT, name, options=OPTIONS) == []


def test_engine_runs_both_for_the_realtime_api_only(mock_target: Any) -> None:
    result = engine.run(Plan(mock_target, provider_spec="modelbest",
                             check_spec="realtime-session,realtime-errors", options=OPTIONS))
    assert {(c.check, c.endpoint, c.outcome, c.capability) for c in result.cases} == {
        ("realtime-session", "minicpm-o-realtime", Outcome.PASS, "realtime"),
        ("realtime-errors", "minicpm-o-realtime", Outcome.PASS, "realtime")}


@pytest.mark.parametrize("name", ["realtime-session", "realtime-errors"])
def test_cassettes_are_skipped_with_a_reason(mock_target: Any, run_check: Any, name: str) -> None:
    mock_target.kind = TargetKind.CASSETTE
    with pytest.raises(Skip, match="a WebSocket session cannot be replayed"):
        run_check(mock_target, *RT, name, options=OPTIONS)


# --- realtime-session ----------------------------------------------------------------------

def _delta(text: str = "early") -> dict[str, Any]:
    return {"type": "response.output.delta", "kind": "text", "text": text, "response_id": "r1",
            "session_id": "rt_planted"}


def _audio(data: bytes) -> Events:
    def edit(event: dict[str, Any]) -> list[dict[str, Any]]:
        if isinstance(event.get("audio"), str):
            event["audio"] = base64.b64encode(data).decode()
        return [event]
    return edit


def _without(field: str, kind: str) -> Events:
    return lambda e: [{k: v for k, v in e.items() if k != field} if e["type"] == kind else e]


@pytest.mark.parametrize(("edits", "message"), [
    ({"events": lambda e: [_delta(), e] if e["type"] == "session.created" else [e]},
     "current revision, chat mode: 'response.output.delta' arrived before session.created; allowed "
     "then: error, session.created"),
    ({"events": lambda e: [e, _delta()] if e["type"] == "session.closed" else [e]},
     "'response.output.delta' arrived after session.closed; allowed then: nothing (the socket must close)"),
    ({"close": lambda code: 1011 if code == 1000 else code},
     "current revision, chat mode: socket closed with code 1011 after session.closed; expected 1000"),
    ({"events": lambda e: [] if e["type"] == "response.done" else [e]},
     "current revision, chat mode: the answer to input.append never ended: no event within 0.3 s"),
    ({"events": lambda e: [{**e, "reason": "timeout"} if e["type"] == "session.closed" else e]},
     "session.closed reason is 'timeout' after session.close; expected 'stopped'"),
    ({"events": _audio(b"\x00" * 6)},
     "current revision, video mode: audio delta 0 is 6 bytes, not whole float32 samples (4 bytes each)"),
    ({"events": _audio(b"\x00" * 4000)}, "earlier revision, audio mode: output audio is silent"),
    ({"events": _audio(b"\xff\xff\xff\xff" * 10)}, "audio delta 0 holds non-finite values"),
    ({"events": _without("session_id", "session.created")},
     "server event 'session.created' at /: 'session_id' is a required property"),
    ({"events": lambda e: [{**e, "session_id": "rt_other"} if e.get("kind") == "text" else e]},
     "response.output.delta carries session_id 'rt_other'; session.created said 'rt_"),
])
def test_session_defects(rewritten: Any, run_check: Any, edits: dict[str, Any], message: str) -> None:
    findings = run_check(rewritten(**edits), *RT, "realtime-session", options={"event_timeout": 0.3})
    assert any(message in m for m in messages(findings)), messages(findings)
    assert all(f.severity is Severity.ERROR for f in findings)


def test_a_schema_finding_points_into_the_event_schema(rewritten: Any, run_check: Any) -> None:
    target = rewritten(events=_without("session_id", "session.created"))
    finding = run_check(target, *RT, "realtime-session", options=OPTIONS)[0]
    assert finding.schema_pointer == "minicpm-o-realtime/current/session.created#/required"
    assert dict(finding.extra) == {"mode": "chat", "revision": "current"}


def test_an_unserved_earlier_revision_is_a_warning_not_a_crash(rewritten: Any, run_check: Any) -> None:
    target = rewritten(refuse=lambda q: b"revision=earlier" in q)
    findings = run_check(target, *RT, "realtime-session", options=OPTIONS)
    assert [(f.severity, dict(f.extra)["mode"]) for f in findings] == [
        (Severity.WARNING, "video"), (Severity.WARNING, "audio")]
    assert findings[0].message.startswith("earlier revision, video mode: the session did not start: "
                                          "the handshake failed: WebSocket: the server refused the "
                                          "handshake with HTTP 403")
    assert findings[0].message.endswith("a provider serving only the current revision leaves clients "
                                        "of the earlier (published-schema) revision without service")


def test_a_provider_that_ignores_the_revision_gets_a_warning(rewritten: Any, run_check: Any) -> None:
    target = rewritten(query=lambda q: q.replace(b"&revision=earlier", b""))
    findings = run_check(target, *RT, "realtime-session", options=OPTIONS)
    assert {f.severity for f in findings} == {Severity.WARNING} and len(findings) == 2
    assert "session.update answered error 'unknown_event'" in findings[0].message


def test_a_refused_current_revision_is_an_error(rewritten: Any, run_check: Any) -> None:
    findings = run_check(rewritten(refuse=lambda q: True), *RT, "realtime-session", options=OPTIONS)
    assert [f.severity for f in findings] == [Severity.ERROR] * 3 + [Severity.WARNING] * 2


# --- realtime-errors -----------------------------------------------------------------------

def _recode(old: str, new: str) -> Events:
    def edit(event: dict[str, Any]) -> list[dict[str, Any]]:
        if event["type"] == "error" and event["error"]["code"] == old:
            event["error"]["code"] = new
        return [event]
    return edit


@pytest.mark.parametrize(("edits", "message"), [
    ({"events": _recode("not_ready", "invalid_payload")},
     "input.append before session.init: expected an error event with code 'not_ready', got error "
     "'invalid_payload'"),
    ({"events": _recode("unknown_event", "invalid_payload")},
     "an unknown event type: expected an error event with code 'unknown_event'"),
    ({"events": _recode("missing_field", "invalid_payload")},
     "session.init without its payload: expected an error event with code 'missing_field'"),
    ({"events": lambda e: [] if e["type"] == "error" else [e]},
     "input.append before session.init: expected an error event with code 'not_ready', got no event "
     "within 0.3 s"),
    ({"close": lambda code: 1000 if code == 1003 else code},
     "socket closed with code 1000 after an unparseable frame; expected 1003"),
])
def test_error_defects(rewritten: Any, run_check: Any, edits: dict[str, Any], message: str) -> None:
    findings = run_check(rewritten(**edits), *RT, "realtime-errors", options={"event_timeout": 0.3})
    assert any(message in m for m in messages(findings)), messages(findings)


def test_a_client_error_that_closes_the_socket_is_reported(run_check: Any) -> None:
    target = MockTarget()
    inner = target.app

    async def closing(scope: Scope, receive: Receive, send: Send) -> None:
        """Closes the socket (1011) right after the not_ready error."""
        if scope["type"] != "websocket":
            await inner(scope, receive, send)
            return
        closed = False

        async def watch(message: Message) -> None:
            nonlocal closed
            if closed:  # the app does not know its socket is gone
                return
            await send(message)
            if message["type"] == "websocket.send" and '"not_ready"' in (message.get("text") or ""):
                closed = True
                await send({"type": "websocket.close", "code": 1011})

        await inner(scope, receive, watch)

    target.app = closing  # type: ignore[assignment]
    try:
        findings = run_check(target, *RT, "realtime-errors", options=OPTIONS)
    finally:
        target.close()
    assert messages(findings) == [
        "current revision, video mode: input.append before session.init: the socket closed (code "
        "1011) after the 'not_ready' error; client errors leave the session open"]
