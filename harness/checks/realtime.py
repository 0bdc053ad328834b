"""Realtime checks: MiniCPM-o Realtime sessions driven over the WebSocket as a state machine.

A realtime client cannot validate a response after the fact: it reacts to each event as it
arrives, so an event in the wrong phase (output before ``session.created``, anything after
``session.closed``), a turn that never ends, audio that is not the documented float32 PCM or a
wrong close code breaks it at once (providers.md §3). ``realtime-session`` drives queue → init →
one input → close in every mode of every published revision, validating each server event
against the revision's server-event schema and placing it in the session's phases;
``realtime-errors`` sends the documented client mistakes and expects the documented error
codes (and close 1003 for a frame that is not JSON). A provider that serves only the current
revision gets a warning for the earlier one, not a crash. Cassettes cannot replay WebSockets.
"""

from __future__ import annotations

import base64
import math
import sys
from array import array
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import jsonschema

from harness import schemas
from harness.checks import requests
from harness.checks.registry import CheckContext, Skip, check
from harness.findings import Finding, Severity
from harness.protocols import Revision
from harness.targets.base import TargetKind, WebSocketClosed

PROTOCOL = "minicpm-o-realtime"
CLOSE_NORMAL, CLOSE_UNPARSEABLE = 1000, 1003
MAX_EVENTS = 5000  # per answer: a turn that streams forever must still end the check
SILENCE = 1e-4  # peak amplitude under which output audio counts as silent
QUEUE = frozenset({"session.queued", "session.queue_update", "session.queue_done"})
OUTPUT = {"current": frozenset({"response.output.delta", "response.done"}),
          "earlier": frozenset({"response.output_audio.delta", "response.listen"})}
# The phases of a session, named by what has not happened yet, and what may arrive in each.
QUEUED, SETUP, LIVE, CLOSED = ("before session.queue_done", "before session.created", "live",
                               "after session.closed")


class Refused(Exception):
    """The session never started: handshake refused, closed early, or init not accepted."""


def _brief(event: Any) -> str:
    if not isinstance(event, dict):
        return "nothing"
    if event.get("type") == "error" and isinstance(event.get("error"), dict):
        return f"error {event['error'].get('code')!r} ({str(event['error'].get('message'))[:100]})"
    return repr(event.get("type"))


class Session:
    """One WebSocket session under watch: every server event is validated, then placed."""

    def __init__(self, ctx: CheckContext, ws: Any, revision: Revision, mode: str,
                 found: list[Finding]) -> None:
        self.ctx, self.ws, self.revision, self.mode, self.found = ctx, ws, revision, mode, found
        self.validator = schemas.validator(revision.server)
        self.timeout = float(ctx.options.get("event_timeout", 10.0))
        self.phase, self.session_id = QUEUED, None
        self.close_code: int | None = None
        self.silence = ""  # why the last read got no event

    def report(self, message: str, severity: Severity = Severity.ERROR, **where: Any) -> None:
        text = f"{self.revision.name} revision, {self.mode} mode: {message}"
        if not any(f.message == text for f in self.found):  # once, not once per event
            self.found.append(self.ctx.finding(text, severity=severity, revision=self.revision.name,
                                               mode=self.mode, **where))

    def send(self, frame: Any) -> None:
        try:
            if isinstance(frame, str):
                self.ws.send_text(frame)
            else:
                self.ws.send_json(frame)
        except Exception as exc:  # each session kind raises its own library's error after a close
            self.report(f"could not send {_brief(frame)}: {type(exc).__name__}: {exc}")

    def receive(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The next event, validated and placed; None (with ``silence`` set) if none came."""
        wait = self.timeout if timeout is None else timeout
        try:
            event = self.ws.receive_json(wait)
        except WebSocketClosed as exc:
            self.close_code, self.silence = exc.code, f"the socket closed with code {exc.code}"
            return None
        except TimeoutError:
            self.silence = f"no event within {wait:g} s"
            return None
        except ValueError:
            self.report("the server sent a frame that is not JSON")
            return None
        self._validate(event)
        self._place(event)
        return event if isinstance(event, dict) else None

    def _validate(self, event: Any) -> None:
        errors = list(self.validator.iter_errors(event))
        if not errors:
            return
        kind = event.get("type") if isinstance(event, dict) else None
        schema = f"{PROTOCOL}/{self.revision.name}/{kind}"
        if schema in schemas.names():  # the event's own schema names the field at fault
            errors = list(schemas.validator(schema).iter_errors(event)) or errors
        else:
            schema = self.revision.server
        best = jsonschema.exceptions.best_match(errors)
        at = "/" + "/".join(map(str, best.absolute_path))
        self.report(f"server event {kind!r} at {at}: {best.message[:200]}", schema=schema,
                    schema_pointer="/" + "/".join(map(str, best.relative_schema_path)))

    def _place(self, event: Any) -> None:
        kind = event.get("type") if isinstance(event, dict) else None
        allowed = {QUEUED: QUEUE | {"error"}, SETUP: {"session.created", "error"},
                   LIVE: OUTPUT[self.revision.name] | {"error", "session.closed"},
                   CLOSED: set()}[self.phase]
        if kind not in allowed:
            self.report(f"{kind!r} arrived {self.phase}; allowed then: "
                        f"{', '.join(sorted(allowed)) or 'nothing (the socket must close)'}")
        if kind == "session.queue_done" and self.phase == QUEUED:
            self.phase = SETUP
        elif kind == "session.created" and self.phase != CLOSED:
            self.phase, self.session_id = LIVE, event.get("session_id")
        elif kind == "session.closed":
            self.phase = CLOSED
        sid = event.get("session_id") if kind in OUTPUT[self.revision.name] else None
        if sid is not None and self.session_id is not None and sid != self.session_id:
            self.report(f"{kind} carries session_id {sid!r}; session.created said {self.session_id!r}")

    def answer(self, until: frozenset[str] | None = None) -> list[dict[str, Any]]:
        """Events up to the one that ends the answer to the last frame (or ``until``)."""
        events: list[dict[str, Any]] = []
        while len(events) < MAX_EVENTS:
            event = self.receive()
            if event is None:
                return events
            events.append(event)
            if event.get("type") in until if until else _ends_answer(event):
                return events
        self.silence = f"{MAX_EVENTS} events without an end"
        return events

    def expect_close(self, code: int, after: str) -> None:
        for _ in range(10):  # events here are reported by _place; a close must follow
            if self.receive() is None:
                break
        if self.close_code is None:
            self.report(f"socket still open {after} ({self.silence or 'events kept coming'}); "
                        f"expected close code {code}")
        elif self.close_code != code:
            self.report(f"socket closed with code {self.close_code} {after}; expected {code}")


def _ends_answer(event: dict[str, Any]) -> bool:
    kind = event.get("type")
    return (kind in ("error", "session.created", "session.closed", "response.done", "response.listen")
            or (kind == "response.output.delta" and event.get("kind") == "listen")
            or (kind == "response.output_audio.delta" and bool(event.get("end_of_turn"))))


def _skip_unreplayable(ctx: CheckContext) -> None:
    if ctx.target.kind is TargetKind.CASSETTE:
        raise Skip("cassettes replay HTTP exchanges only; a WebSocket session cannot be replayed")


@contextmanager
def _opened(ctx: CheckContext, revision: Revision, mode: str, found: list[Finding]
            ) -> Iterator[Session]:
    """A session past ``session.queue_done``; :class:`Refused` when it does not get there."""
    query = {"mode": mode} | ({} if revision.name == "current" else {"revision": revision.name})
    try:
        with ctx.target.websocket(ctx.profile, ctx.api, "/realtime", query) as ws:
            session = Session(ctx, ws, revision, mode, found)
            events = session.answer(frozenset({"session.queue_done"}))
            if not events or events[-1].get("type") != "session.queue_done":
                raise Refused(f"no session.queue_done: got {_brief(events[-1] if events else None)}"
                              f"{', then ' + session.silence if session.silence else ''}")
            yield session
    except WebSocketClosed as exc:
        raise Refused(f"the handshake failed: {exc}") from None


def _audio_problem(chunks: list[str]) -> str | None:
    """Why the output audio is not the documented float32 PCM (or is silent), if it is not."""
    peak = 0.0
    for i, text in enumerate(chunks):
        try:
            raw = base64.b64decode(text, validate=True)
        except ValueError:
            return f"audio delta {i} is not valid base64"
        if len(raw) % 4:
            return f"audio delta {i} is {len(raw)} bytes, not whole float32 samples (4 bytes each)"
        samples = array("f", raw)
        if sys.byteorder == "big":
            samples.byteswap()
        if not all(map(math.isfinite, samples)):
            return f"audio delta {i} holds non-finite values: not float32 PCM"
        peak = max(peak, max(map(abs, samples), default=0.0))
    return f"output audio is silent (peak {peak:.2g} over {len(chunks)} delta(s))" if peak < SILENCE else None


def _turn(session: Session, input_type: str) -> None:
    """Judge the answer to one input: how it ends, its text or its audio."""
    events = session.answer()
    last = events[-1] if events else None
    if last is None or not _ends_answer(last):
        session.report(f"the answer to {input_type} never ended: {session.silence} after "
                       f"{len(events)} event(s)")
        return
    if last.get("type") == "error":
        session.report(f"{input_type} answered {_brief(last)}")
        return
    outputs = [e for e in events if e.get("type") in OUTPUT[session.revision.name]]
    if session.mode == "chat":
        if last.get("type") != "response.done":
            session.report(f"chat turn ended with {_brief(last)}, not response.done")
        if not "".join(str(e.get("text", "")) for e in outputs).strip():
            session.report("chat turn carried no text")
        ids = {e.get("response_id") for e in outputs}
        if len(ids) > 1:
            session.report(f"one chat turn's events carry {len(ids)} response_ids: {sorted(map(str, ids))}")
        return
    audio = [e["audio"] for e in outputs if isinstance(e.get("audio"), str) and e["audio"]]
    problem = _audio_problem(audio) if audio else None
    if problem:
        session.report(problem)
    elif not audio:
        session.report("the answer to a spoken input had no audio; decoding not checked",
                       Severity.WARNING)


def _drive(ctx: CheckContext, revision: Revision, mode: str, found: list[Finding]) -> None:
    rate = int(ctx.api.limits.get("input_sample_rate", 16000))
    init, chunk = requests.realtime_turn(revision.name, mode, rate=rate)
    with _opened(ctx, revision, mode, found) as session:
        session.send(init)
        events = session.answer()
        if not events or events[-1].get("type") != "session.created":
            raise Refused(f"{init['type']} answered {_brief(events[-1] if events else None)}"
                          f"{' (' + session.silence + ')' if session.silence else ''}")
        session.send(chunk)
        _turn(session, chunk["type"])
        session.send({"type": "session.close"})
        last = _last(session.answer())
        if not isinstance(last, dict) or last.get("type") != "session.closed":
            session.report(f"session.close answered {_brief(last)}, not session.closed")
        elif last.get("reason") != "stopped":
            session.report(f"session.closed reason is {last.get('reason')!r} after session.close; "
                           "expected 'stopped'")
        session.expect_close(CLOSE_NORMAL, "after session.closed")


@check(capability="realtime", protocols=(PROTOCOL,))
def realtime_session(ctx: CheckContext) -> Iterator[Finding]:
    """Every mode of every revision: queue, init, one turn, close, each event in its phase."""
    _skip_unreplayable(ctx)
    found: list[Finding] = []
    for revision in ctx.api.protocol.revisions.values():
        for mode in revision.modes:
            try:
                _drive(ctx, revision, mode, found)
            except Refused as why:
                current = revision.name == "current"
                found.append(ctx.finding(
                    f"{revision.name} revision, {mode} mode: the session did not start: {why}" + (
                        "" if current else "; a provider serving only the current revision "
                        "leaves clients of the earlier (published-schema) revision without service"),
                    severity=Severity.ERROR if current else Severity.WARNING,
                    revision=revision.name, mode=mode))
    yield from found


@check(capability="realtime", protocols=(PROTOCOL,))
def realtime_errors(ctx: CheckContext) -> Iterator[Finding]:
    """Client mistakes get the documented error codes and leave the session open; bad JSON closes 1003."""
    _skip_unreplayable(ctx)
    revision = ctx.api.protocol.revisions["current"]
    _, chunk = requests.realtime_turn("current", "video")
    mistakes = (("input.append before session.init", chunk, "not_ready"),
                ("an unknown event type", {"type": "vlm_harness.no_such_event"}, "unknown_event"),
                ("session.init without its payload", {"type": "session.init"}, "missing_field"))
    found: list[Finding] = []
    settle = min(0.1, float(ctx.options.get("event_timeout", 10.0)))  # a close follows at once
    try:
        with ExitStack() as stack:
            session: Session | None = None
            for what, frame, code in mistakes:
                if session is None or session.close_code is not None:
                    session = stack.enter_context(_opened(ctx, revision, "video", found))
                session.send(frame)
                last = _last(session.answer())
                got = last.get("error", {}).get("code") if isinstance(last, dict) else None
                if got != code:
                    session.report(f"{what}: expected an error event with code {code!r}, got "
                                   f"{_brief(last) if last else session.silence}")
                elif session.receive(settle) is None and session.close_code is not None:
                    session.report(f"{what}: the socket closed (code {session.close_code}) after "
                                   f"the {code!r} error; client errors leave the session open")
            if session is None or session.close_code is not None:
                session = stack.enter_context(_opened(ctx, revision, "video", found))
            session.send("{not json")
            session.expect_close(CLOSE_UNPARSEABLE, "after an unparseable frame")
    except Refused as why:
        found.append(ctx.finding(f"current revision: the session did not start: {why}"))
    yield from found


def _last(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    return events[-1] if events else None
