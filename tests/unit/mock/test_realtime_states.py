"""Stateful property test of the realtime mock: random client frames, only allowed answers.

A hypothesis state machine opens a session (random revision and mode) and sends random
sequences of valid and invalid client frames: init, inputs good and bad, unknown event types,
frames that are not event objects, close and unparseable text. After every frame it reads the
answer up to its terminal event and checks that each event validates against the revision's
schema and is allowed in the session's state: nothing but errors before ``session.created``,
``not_ready`` for early input, no output after ``session.closed`` (the socket closes), no
``kv_cache_length`` over the context limit. The context is small so ``context_full`` happens.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from typing import Any

import anyio
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule
from starlette.testclient import TestClient

from harness import schemas
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.realtime_wire import CLIENT_ERRORS, is_terminal

CONTEXT = 600
APP = build_app(MockConfig(realtime_context_tokens=CONTEXT), names=["modelbest"])
JPEG = base64.b64encode(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 20 + b"\xff\xd9").decode()
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\x00" * 24).decode()
OUTPUT = {"response.output.delta", "response.done", "response.output_audio.delta", "response.listen"}


def pcm(samples: int, amplitude: float = 0.4) -> str:
    values = (amplitude * math.sin(i / 5) for i in range(samples))
    return base64.b64encode(struct.pack(f"<{samples}f", *values)).decode()


TONE, SILENCE, SHORT = pcm(4000), pcm(4000, 0.0), pcm(3999)
INPUTS = {  # variant -> (duplex input fields, error codes it may answer)
    "tone": ({"audio": TONE, "video_frames": [JPEG]}, ()),
    "silence": ({"audio": SILENCE}, ()),
    "force_listen": ({"audio": TONE, "force_listen": True}, ()),
    "short": ({"audio": SHORT}, ("invalid_payload",)),
    "bad_base64": ({"audio": "@@@@"}, ("invalid_payload",)),
    "five_frames": ({"audio": TONE, "video_frames": [JPEG] * 5}, ("invalid_payload",)),
    "png_frame": ({"audio": TONE, "video_frames": [PNG]}, ("invalid_payload",)),
    "no_audio": ({"video_frames": [JPEG]}, ("missing_field",)),
}
CHAT = {"text": ({"messages": "hi", "generation": {"max_new_tokens": 8}}, ()),
        "image": ({"messages": [{"type": "image", "data": JPEG}], "streaming": False}, ()),
        "not_image": ({"messages": [{"type": "image", "data": TONE}]}, ("invalid_payload",)),
        "no_messages": ({"streaming": True}, ("missing_field",))}

BAD_INIT = {"current": [None, "x", 3, {"system_prompt": 5}, {"voice": {"ref_audio_base64": "!!"}}],
            "earlier": [None, "x", 3, {"instructions": ""}, {"system_prompt": "no instructions"}]}


class Closed(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class RealtimeMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.phase = "connecting"
        self.session_id: str | None = None
        self.kv = 0

    @initialize(revision=st.sampled_from(["current", "earlier"]), data=st.data())
    def open(self, revision: str, data: st.DataObject) -> None:
        self.client = TestClient(APP)
        self.connect(revision, data)

    @precondition(lambda self: self.phase == "closed")
    @rule(revision=st.sampled_from(["current", "earlier"]), data=st.data())
    def reconnect(self, revision: str, data: st.DataObject) -> None:
        """After a session ends, only a new connection can go on."""
        self.session.__exit__(None, None, None)
        self.connect(revision, data)

    def connect(self, revision: str, data: st.DataObject) -> None:
        self.revision, self.current = revision, revision == "current"
        modes = ["chat", "video", "audio"] if self.current else ["video", "audio"]
        self.mode = data.draw(st.sampled_from(modes))
        self.validator = schemas.validator(f"minicpm-o-realtime/{revision}/server-event")
        self.session = self.client.websocket_connect(
            f"/modelbest/v1/realtime?mode={self.mode}&revision={revision}",
            headers={"Authorization": f"Bearer {MOCK_KEY}"})
        self.ws = self.session.__enter__()
        self.phase, self.session_id, self.kv = "connecting", None, 0
        assert self.read() == {"type": "session.queue_done"}
        self.phase = "ready"

    def teardown(self) -> None:
        if hasattr(self, "session"):
            self.session.__exit__(None, None, None)
        if hasattr(self, "client"):
            self.client.close()

    # --- reading and checking ---------------------------------------------------------

    def read(self) -> dict[str, Any]:
        async def get() -> Any:  # TestClient's receive has no timeout; fail rather than hang
            with anyio.fail_after(5):
                return await self.ws._send_rx.receive()

        message = self.ws.portal.call(get)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000))
        event = json.loads(message["text"])
        assert not list(self.validator.iter_errors(event)), event
        return event

    def exchange(self, frame: Any) -> list[dict[str, Any]]:
        """Send ``frame``; read and check its answer; follow a session.closed to the close."""
        self.ws.send_text(json.dumps(frame))
        answer = [self.read()]
        while not is_terminal(answer[-1]):
            answer.append(self.read())
        for event in answer:
            self.allowed(event)
        if answer[-1]["type"] == "session.closed":
            self.expect_close(1000)
        return answer

    def allowed(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        assert self.phase in ("ready", "active"), f"{kind} after the session closed"
        if kind == "error":
            code = event["error"]["code"]
            assert code in CLIENT_ERRORS, code  # nothing simulated here: no server errors
            assert code != "not_ready" or self.phase == "ready"
        elif kind == "session.created":
            assert self.phase == "ready", "a second session.created"
            self.phase, self.session_id = "active", event["session_id"]
            self.kv = event["prompt_length"]
        elif kind == "session.closed":
            allowed = {"stopped", "timeout"} | ({"context_full"} if self.phase == "active" else set())
            assert event["reason"] in allowed, event
        else:
            assert kind in OUTPUT and self.phase == "active", f"{kind} before session.created"
            assert kind != "response.done" or self.mode == "chat"
            assert event.get("session_id", self.session_id) == self.session_id
            if "kv_cache_length" in event:
                assert self.kv <= event["kv_cache_length"] <= CONTEXT
                self.kv = event["kv_cache_length"]

    def expect_close(self, code: int) -> None:
        try:
            event = self.read()
        except Closed as closed:
            assert closed.code == code
            self.phase = "closed"
        else:
            raise AssertionError(f"{event} after the session ended")

    def answered(self, answer: list[dict[str, Any]], *codes: str) -> bool:
        """True when ``answer`` is one error with one of ``codes`` (timeouts are always fine)."""
        if answer == [{"type": "session.closed", "reason": "timeout"}]:
            return False
        if codes:
            assert len(answer) == 1 and answer[0]["type"] == "error", answer
            assert answer[0]["error"]["code"] in codes, answer
        return True

    # --- rules ------------------------------------------------------------------------

    @precondition(lambda self: self.phase in ("ready", "active"))
    @rule(valid=st.booleans(), data=st.data())
    def init(self, valid: bool, data: st.DataObject) -> None:
        if valid:
            frame = ({"type": "session.init", "payload": {"system_prompt": "be brief"}} if self.current
                     else {"type": "session.update", "session": {"instructions": "be brief"}})
        else:
            body = data.draw(st.sampled_from(BAD_INIT[self.revision]))
            key = "payload" if self.current else "session"
            frame = {"type": "session.init" if self.current else "session.update",
                     **({} if body is None else {key: body})}
        was = self.phase
        answer = self.exchange(frame)
        if not valid:
            self.answered(answer, "missing_field", "invalid_payload")
        elif was == "active":
            self.answered(answer, "invalid_payload")
        elif self.answered(answer):
            assert [e["type"] for e in answer] == ["session.created"]

    @precondition(lambda self: self.phase in ("ready", "active"))
    @rule(data=st.data())
    def append(self, data: st.DataObject) -> None:
        table = CHAT if self.mode == "chat" else INPUTS
        fields, codes = table[data.draw(st.sampled_from(sorted(table)))]
        frame = ({"type": "input.append", "input": fields} if self.current
                 else {"type": "input_audio_buffer.append", **fields})
        was = self.phase
        answer = self.exchange(frame)
        if was == "ready":
            self.answered(answer, "not_ready")
        elif codes:
            self.answered(answer, *codes)
        elif self.answered(answer) and answer[-1]["type"] != "session.closed":
            assert all(e["type"] in OUTPUT for e in answer), answer
        else:
            assert answer[-1]["reason"] in ("context_full", "timeout")

    @precondition(lambda self: self.phase in ("ready", "active"))
    @rule(kind=st.one_of(st.text(max_size=12), st.sampled_from(
        ["session.update", "input_audio_buffer.append", "session.init", "input.append",
         "response.create", "session.closed"])))
    def unknown(self, kind: str) -> None:
        if kind in (("session.init", "input.append") if self.current
                    else ("session.update", "input_audio_buffer.append")) or kind == "session.close":
            return  # known events of this revision are other rules' business
        self.answered(self.exchange({"type": kind}), "unknown_event")

    @precondition(lambda self: self.phase in ("ready", "active"))
    @rule(value=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=3),
                          st.dictionaries(st.sampled_from(["input", "payload", "audio"]), st.integers(),
                                          max_size=2)))
    def not_an_event(self, value: Any) -> None:
        self.answered(self.exchange(value), "missing_field", "invalid_payload")

    @precondition(lambda self: self.phase in ("ready", "active"))
    @rule()
    def close(self) -> None:
        answer = self.exchange({"type": "session.close", "reason": "user_stop"})
        assert answer[-1]["type"] == "session.closed" and self.phase == "closed"

    @precondition(lambda self: self.phase in ("ready", "active"))
    @rule(text=st.sampled_from(["{", "not json", "[1,"]))
    def unparseable(self, text: str) -> None:
        self.ws.send_text(text)
        self.expect_close(1003)

    @invariant()
    def context_within_limit(self) -> None:
        assert self.kv <= CONTEXT


TestRealtimeStates = RealtimeMachine.TestCase
TestRealtimeStates.settings = settings(max_examples=25, stateful_step_count=12, deadline=None,
                                       suppress_health_check=[HealthCheck.too_slow])
