"""The MiniCPM-o Realtime mock over a real WebSocket: sessions, errors, limits and faults.

Most tests drive the whole mock app (``build_app``, so the route is mounted where clients will
find it) with Starlette's in-process WebSocket client; one talks to the shared served mock
(uvicorn, ``served_mock``) with the ``websockets`` library, so the handshake refusal and the
abrupt drop are checked on a real socket. Every server event received is validated against its revision's
server-event schema, and every answer is read up to its terminal event.
"""

from __future__ import annotations

import asyncio
import base64
import io
import itertools
import json
import math
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
import websockets
from PIL import Image
from starlette.testclient import TestClient, WebSocketDenialResponse, WebSocketTestSession

from harness import schemas
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.realtime_input import SPOKEN_TOKENS_PER_S
from harness.mock.realtime_wire import is_terminal
from harness.mock.serve import ServedMock

PATH = "/modelbest/v1/realtime"
AUTH = {"Authorization": f"Bearer {MOCK_KEY}"}


class Closed(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code, self.reason = code, reason


def pcm(samples: int = 16000, amplitude: float = 0.5, freq: float = 440.0, rate: int = 16000) -> str:
    """Base64 float32 LE mono PCM: a tone, or silence with amplitude 0."""
    values = (amplitude * math.sin(2 * math.pi * freq * i / rate) for i in range(samples))
    return base64.b64encode(struct.pack(f"<{samples}f", *values)).decode()


def image(fmt: str = "JPEG", colour: tuple[int, int, int] = (200, 40, 40)) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (16, 16), colour).save(buf, fmt)
    return base64.b64encode(buf.getvalue()).decode()


def floats(b64: str) -> list[float]:
    raw = base64.b64decode(b64, validate=True)
    assert len(raw) % 4 == 0
    return list(struct.unpack(f"<{len(raw) // 4}f", raw))


class Conn:
    """A connected test WebSocket that validates and records every server event."""

    def __init__(self, ws: WebSocketTestSession, revision: str) -> None:
        self.ws, self.revision, self.events = ws, revision, []
        self.validator = schemas.validator(f"minicpm-o-realtime/{revision}/server-event")

    def event(self, timeout: float = 5.0) -> dict[str, Any]:
        # TestClient's receive has no timeout; a broken server must fail the test, not hang it.
        async def get() -> Any:
            with anyio.fail_after(timeout):
                return await self.ws._send_rx.receive()

        message = self.ws.portal.call(get)
        if message["type"] == "websocket.close":
            raise Closed(message.get("code", 1000), message.get("reason", ""))
        event = json.loads(message["text"])
        errors = [e.message for e in self.validator.iter_errors(event)]
        assert not errors, (event.get("type"), errors)
        self.events.append(event)
        return event

    def answer(self) -> list[dict[str, Any]]:
        """Events up to and including the terminal one of the answer to one client frame."""
        return self.answer_within(5.0)

    def answer_within(self, timeout: float) -> list[dict[str, Any]]:
        """The next answer, or TimeoutError when none starts within ``timeout`` seconds."""
        out = [self.event(timeout)]
        while not is_terminal(out[-1]):
            out.append(self.event())
        return out

    def send(self, event: Any) -> list[dict[str, Any]]:
        self.ws.send_text(json.dumps(event))
        return self.answer()

    def closed(self) -> Closed:
        with pytest.raises(Closed) as info:
            self.event()
        return info.value


@contextmanager
def connect(client: TestClient, query: str = "mode=video", revision: str = "current",
            headers: dict[str, str] | None = None) -> Iterator[Conn]:
    # A copy: TestClient adds its handshake headers to the dict it is given.
    with client.websocket_connect(f"{PATH}?{query}", headers=dict(headers or AUTH)) as ws:
        yield Conn(ws, revision)


@contextmanager
def started(client: TestClient, query: str = "mode=video", revision: str = "current",
            prompt: str = "describe briefly") -> Iterator[Conn]:
    """A connection past queue_done and session.created."""
    with connect(client, query + ("&revision=earlier" if revision == "earlier" else ""), revision) as conn:
        assert conn.event() == {"type": "session.queue_done"}
        init = ({"type": "session.init", "payload": {"system_prompt": prompt}} if revision == "current"
                else {"type": "session.update", "session": {"instructions": prompt}})
        [created] = conn.send(init)
        assert created["type"] == "session.created"
        yield conn


def app_client(**config: Any) -> TestClient:
    return TestClient(build_app(MockConfig(**config), names=["modelbest"]))


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with app_client() as c:
        yield c


def spoken(events: list[dict[str, Any]]) -> tuple[str, list[float], list[int]]:
    text = "".join(e.get("text", "") for e in events)
    chunks = [floats(e["audio"]) for e in events if "audio" in e]
    return text, [x for c in chunks for x in c], [len(c) for c in chunks]


# --- full sessions -----------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["video", "audio"])
def test_duplex_session_current(client: TestClient, mode: str) -> None:
    with started(client, f"mode={mode}") as conn:
        frames = [image(), image(colour=(0, 90, 200))] if mode == "video" else []
        answer = conn.send({"type": "input.append", "input": {"audio": pcm(), "video_frames": frames}})
        kinds = [e["kind"] for e in answer]
        assert kinds[-1] == "listen" and set(kinds[:-1]) == {"text", "audio"}
        assert len({e["response_id"] for e in answer}) == 1
        assert {e["session_id"] for e in answer} == {conn.events[1]["session_id"]}
        text, _, _ = spoken(answer)
        assert "1.000 s of speech" in text and "describe briefly" in text
        assert ("2 images" in text and "jpeg" in text) if frames else "image" not in text
        second = conn.send({"type": "input.append", "input": {"audio": pcm(8000)}})
        assert second[0]["response_id"] != answer[0]["response_id"]
        assert conn.send({"type": "session.close", "reason": "user_stop"}) == [
            {"type": "session.closed", "reason": "stopped"}]
        assert conn.closed().code == 1000


def test_output_audio_is_24khz_float32_speech(client: TestClient) -> None:
    scale = MockConfig().realtime_time_scale
    with started(client, "mode=audio") as conn:
        answer = conn.send({"type": "input.append", "input": {"audio": pcm()}})
        text, samples, sizes = spoken(answer)
        n_chunks = len([e for e in answer if e["kind"] == "text"])  # a text delta per spoken chunk
        per_token = round(24000 / SPOKEN_TOKENS_PER_S * scale)
        assert len(samples) == len(text.split()) * per_token  # every word is spoken
        assert all(s == SPOKEN_TOKENS_PER_S * per_token for s in sizes[:-1])  # 1 s chunks, scaled
        assert 0 < sizes[-1] <= sizes[0] and len(sizes) == n_chunks
        assert all(math.isfinite(x) and abs(x) <= 1 for x in samples)
        rms = math.sqrt(sum(x * x for x in samples) / len(samples))
        assert rms > 0.1  # a tone, not silence
        # Phase-continuous across chunks: no jump larger than one 24 kHz step of a <=600 Hz sine.
        steps = (abs(a - b) for a, b in itertools.pairwise(samples))
        assert max(steps) < 0.3 * 2 * math.pi * 600 / 24000 + 1e-6


def test_chat_session_streaming_and_not(client: TestClient) -> None:
    with started(client, "mode=chat") as conn:
        parts = [{"type": "text", "text": "What colour is it?"}, {"type": "image", "data": image("PNG")}]
        streamed = conn.send({"type": "input.append", "input": {"messages": parts}})
        assert streamed[-1]["type"] == "response.done"
        deltas = streamed[:-1]
        assert len(deltas) > 3 and {e["kind"] for e in deltas} == {"text"}
        text = "".join(e["text"] for e in deltas)
        assert "1 image" in text and "png" in text and "What colour is it?" in text
        whole = conn.send({"type": "input.append", "input": {"messages": "hello", "streaming": False,
                                                             "generation": {"max_new_tokens": 5}}})
        assert [e.get("kind", e["type"]) for e in whole] == ["text", "response.done"]
        assert len(whole[0]["text"].split()) == 5  # cut at max_new_tokens
        spoken_turn = conn.send({"type": "input.append",
                                 "input": {"messages": "hi", "tts": {"enabled": True}}})
        assert {e.get("kind") for e in spoken_turn[:-1]} == {"text", "audio"}
        conn.send({"type": "session.close"})
        assert conn.closed().code == 1000


def test_earlier_revision_session(client: TestClient) -> None:
    with started(client, "mode=video", revision="earlier") as conn:
        assert set(conn.events[1]) == {"type", "session_id", "prompt_length"}
        answer = conn.send({"type": "input_audio_buffer.append", "audio": pcm(),
                            "video_frames": [image()], "max_slice_nums": 4})
        assert {e["type"] for e in answer} == {"response.output_audio.delta"}
        assert [e["end_of_turn"] for e in answer] == [False] * (len(answer) - 1) + [True]
        kv = [e["kv_cache_length"] for e in answer]
        assert kv == sorted(kv) and kv[0] > conn.events[1]["prompt_length"] + 192  # 4 slices
        assert "1 image" in spoken(answer)[0]
        [listen] = conn.send({"type": "input_audio_buffer.append", "audio": pcm(), "force_listen": True})
        assert listen["type"] == "response.listen" and listen["kv_cache_length"] > kv[-1]
        assert conn.send({"type": "session.close"}) == [{"type": "session.closed", "reason": "stopped"}]
        assert conn.closed().code == 1000


def test_force_listen_and_silence_answer_listen(client: TestClient) -> None:
    with started(client, "mode=audio") as conn:
        forced = conn.send({"type": "input.append", "input": {"audio": pcm(), "force_listen": True}})
        silent = conn.send({"type": "input.append", "input": {"audio": pcm(amplitude=0.0)}})
        for answer in (forced, silent):
            assert [e["kind"] for e in answer] == ["listen"]


def test_queue_events_then_queue_done(client: TestClient) -> None:
    with connect(client, "mode=audio&queue=3") as conn:
        events = [conn.event() for _ in range(4)]
        assert [e["type"] for e in events] == ["session.queued", "session.queue_update",
                                               "session.queue_update", "session.queue_done"]
        assert [e.get("position") for e in events] == [3, 2, 1, None]


def test_same_seed_same_bytes_and_sessions_recorded() -> None:
    def run(seed: int) -> list[dict[str, Any]]:
        with app_client(seed=seed) as c:
            with started(c, "mode=video") as conn:
                conn.send({"type": "input.append", "input": {"audio": pcm(), "video_frames": [image()]}})
                conn.send({"type": "session.close"})
                record = c.app.state.mock.part("modelbest").sessions.get(conn.events[1]["session_id"])
                assert record.ended == "stopped" and record.turns == 1 and record.events_sent == len(
                    conn.events)
                return conn.events
        raise AssertionError("unreachable")

    assert run(7) == run(7)
    assert run(7) != run(8)


# --- errors ------------------------------------------------------------------------------

AUDIO = pcm()
BAD_INPUTS = [
    ({"type": "input.append"}, "missing_field", "input"),
    ({"type": "input.append", "input": {"video_frames": []}}, "missing_field", "audio"),
    ({"input": {"audio": AUDIO}}, "missing_field", "type"),
    ({"type": "input.append", "input": {"audio": "not base64!"}}, "invalid_payload", "/input/audio"),
    ({"type": "input.append", "input": {"audio": AUDIO[:-1]}}, "invalid_payload", "multiple of 4"),
    ({"type": "input.append", "input": {"audio": pcm(3999)}}, "invalid_payload", "3999 samples"),
    ({"type": "input.append", "input": {"audio": base64.b64encode(b"\0" * 16002).decode()}},
     "invalid_payload", "float32"),
    ({"type": "input.append", "input": {"audio": base64.b64encode(struct.pack(
        "<4000f", *[0.1] * 3999, math.nan)).decode()}}, "invalid_payload", "sample 3999"),
    ({"type": "input.append", "input": {"audio": AUDIO, "video_frames": [image()] * 5}},
     "invalid_payload", "5 frames"),
    ({"type": "input.append", "input": {"audio": AUDIO, "video_frames": [image("PNG")]}},
     "invalid_payload", "/input/video_frames/0"),
    ({"type": "input.append", "input": {"audio": AUDIO, "force_listen": "yes"}}, "invalid_payload",
     "/input/force_listen"),
    ({"type": "input.append", "input": {"audio": AUDIO, "max_slice_nums": 10}}, "invalid_payload",
     "max_slice_nums"),
    (["input.append"], "invalid_payload", "JSON object"),
    ({"type": "session.update", "session": {"instructions": "x"}}, "unknown_event", "earlier revision"),
    ({"type": "response.create"}, "unknown_event", "session.init, input.append, session.close"),
    ({"type": "session.init", "payload": {"system_prompt": "again"}}, "invalid_payload", "already"),
]


@pytest.mark.parametrize(("frame", "code", "names"), BAD_INPUTS,
                         ids=[f"{c}-{n}" for _, c, n in BAD_INPUTS])
def test_client_errors_answer_error_and_keep_the_session(
        client: TestClient, frame: Any, code: str, names: str) -> None:
    with started(client, "mode=video") as conn:
        [error] = conn.send(frame)
        assert error["error"]["code"] == code and error["error"]["type"] == "client_error"
        assert names in error["error"]["message"]
        assert len(error["error"]["message"]) < 400  # no payload echoed back
        assert conn.send({"type": "input.append", "input": {"audio": pcm()}})[-1]["kind"] == "listen"


def test_not_ready_before_init_and_earlier_revision_errors(client: TestClient) -> None:
    with connect(client, "mode=audio") as conn:
        conn.event()
        [error] = conn.send({"type": "input.append", "input": {"audio": AUDIO}})
        assert error["error"]["code"] == "not_ready"
        [error] = conn.send({"type": "session.init"})
        assert error["error"]["code"] == "missing_field" and "payload" in error["error"]["message"]
    with started(client, "mode=audio", revision="earlier") as conn:
        [error] = conn.send({"type": "input_audio_buffer.append", "audio": AUDIO, "extra": 1})
        assert error["error"]["code"] == "invalid_payload" and "extra" in error["error"]["message"]
        [error] = conn.send({"type": "input.append", "input": {"audio": AUDIO}})
        assert error["error"]["code"] == "unknown_event" and "current revision" in error["error"]["message"]


def test_chat_mode_errors(client: TestClient) -> None:
    with started(client, "mode=chat") as conn:
        [error] = conn.send({"type": "input.append", "input": {"audio": AUDIO}})
        assert error["error"]["code"] == "missing_field" and "messages" in error["error"]["message"]
        pcm_part = {"type": "image", "data": AUDIO}
        [error] = conn.send({"type": "input.append", "input": {"messages": [pcm_part]}})
        assert error["error"]["code"] == "invalid_payload" and "/input/messages/0/data" in error[
            "error"]["message"]


def test_inference_error_does_not_close(client: TestClient) -> None:
    with started(client, "mode=audio&simulate=inference_error") as conn:
        for _ in range(2):
            [error] = conn.send({"type": "input.append", "input": {"audio": AUDIO}})
            assert error["error"] == {"code": "inference_error", "type": "server_error",
                                      "message": error["error"]["message"]}
        assert conn.send({"type": "session.close"})[0]["reason"] == "stopped"


@pytest.mark.parametrize("code", ["queue_full", "service_unavailable"])
@pytest.mark.parametrize("via", ["query", "fault"])
def test_capacity_errors_on_connect_close_1013(client: TestClient, code: str, via: str) -> None:
    query, headers = ("mode=audio", {**AUTH, "x-harness-fault": f"error={code}"}) if via == "fault" else (
        f"mode=audio&simulate={code}", AUTH)
    with connect(client, query, headers=headers) as conn:
        error = conn.event()
        assert error["type"] == "error" and error["error"]["code"] == code
        assert error["error"]["type"] == "server_error"
        assert conn.closed().code == 1013


@pytest.mark.parametrize("code", ["worker_busy", "worker_connect_failed"])
def test_worker_errors_on_init_close_1013(client: TestClient, code: str) -> None:
    with connect(client, f"mode=video&simulate={code}") as conn:
        assert conn.event()["type"] == "session.queue_done"
        [error] = conn.send({"type": "session.init", "payload": {}})
        assert error["error"]["code"] == code
        assert conn.closed().code == 1013


@pytest.mark.parametrize("frame", ["{not json", b'{"type": "session.close"}', "[" * 100_000 + "]" * 100_000],
                         ids=["text", "binary", "deep"])
def test_unparseable_frame_closes_1003(client: TestClient, frame: str | bytes) -> None:
    with started(client, "mode=audio") as conn:
        if isinstance(frame, bytes):
            conn.ws.send_bytes(frame)
        else:
            conn.ws.send_text(frame)
        assert conn.closed().code == 1003


@pytest.mark.parametrize("query", ["mode=chat&revision=earlier", "mode=duplex", "revision=v3",
                                   "simulate=meteor", "queue=-1"])
def test_bad_query_is_invalid_payload_and_close_1008(client: TestClient, query: str) -> None:
    with connect(client, query) as conn:
        error = conn.event()
        assert error["error"]["code"] == "invalid_payload"
        assert query.split("&")[-1].split("=")[0] in error["error"]["message"]
        assert conn.closed().code == 1008


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong-key-123"}])
def test_bad_key_refuses_handshake_with_401(client: TestClient, headers: dict[str, str]) -> None:
    with pytest.raises(WebSocketDenialResponse) as info:
        with client.websocket_connect(f"{PATH}?mode=audio", headers=dict(headers)):
            pass
    assert info.value.status_code == 401
    body = info.value.json()
    assert body["error"]["type"] == "authentication_error" and "wrong-key-123" not in info.value.text


def test_status_fault_refuses_handshake(client: TestClient) -> None:
    headers = {**AUTH, "x-harness-fault": "status=503,retry-after=2"}
    with pytest.raises(WebSocketDenialResponse) as info:
        with client.websocket_connect(f"{PATH}?mode=audio", headers=headers):
            pass
    assert info.value.status_code == 503 and info.value.headers["retry-after"] == "2"


# --- limits and faults -------------------------------------------------------------------


def test_session_timeout_with_scaled_limit() -> None:
    with app_client(realtime_time_scale=0.001) as c:  # video: 300 s -> 0.3 s
        with started(c, "mode=video") as conn:
            t0 = time.monotonic()
            assert conn.event() == {"type": "session.closed", "reason": "timeout"}
            assert time.monotonic() - t0 < 1.0
            assert conn.closed().code == 1000
            sessions = c.app.state.mock.part("modelbest").sessions
            assert sessions.get(conn.events[1]["session_id"]).ended == "timeout"


@pytest.mark.parametrize("revision", ["current", "earlier"])
def test_context_full_closes_the_session(revision: str) -> None:
    limit = 300
    with app_client(realtime_context_tokens=limit) as c:
        with started(c, "mode=video", revision=revision) as conn:
            frame = ({"type": "input.append", "input": {"audio": pcm(), "video_frames": [image()]}}
                     if revision == "current" else
                     {"type": "input_audio_buffer.append", "audio": pcm(), "video_frames": [image()]})
            answers = [conn.send(frame) for _ in range(10)
                       if not conn.events or conn.events[-1]["type"] != "session.closed"]
            assert answers[-1] == [{"type": "session.closed", "reason": "context_full"}]
            assert len(answers) >= 2  # some turns fit before the context filled
            assert conn.closed().code == 1000
        # Each turn costs 1 s of audio (10 tokens), one 1-slice frame (64) and its spoken words.
        turns = [10 + 64 + len(spoken(a)[0].split()) for a in answers[:-1]]
        used = conn.events[1]["prompt_length"] + sum(turns)
        assert used <= limit < used + turns[-1]  # closed exactly when the next turn overflows
        assert all(e.get("kv_cache_length", 0) <= used for e in conn.events)
        assert [e["kv_cache_length"] for e in conn.events if "kv_cache_length" in e][-1:] in (
            [], [used])


def test_chunks_sent_faster_than_real_time_push_the_oldest_out_unheard() -> None:
    """providers.md 3: "clients sending too fast have old chunks silently dropped"."""
    sent = 10
    with app_client(realtime_time_scale=1.0, realtime_buffer_s=2.0) as c:  # 1 s chunk: 1 s
        with started(c, "mode=audio") as conn:
            for _ in range(sent):  # ten seconds of speech in a burst
                conn.ws.send_text(json.dumps({"type": "input.append", "input": {"audio": pcm()}}))
            answers = [conn.answer()]  # the first is heard at once, the rest wait or go
            with pytest.raises(TimeoutError):
                while True:
                    answers.append(conn.answer_within(1.6))
            record = c.app.state.mock.part("modelbest").sessions.get(conn.events[1]["session_id"])
    # One heard at once, two seconds of speech waiting (unless the burst took over a second)
    assert 3 <= len(answers) <= 4
    assert record.dropped_inputs == sent - len(answers) and record.turns == len(answers)
    assert len({a[0]["response_id"] for a in answers}) == len(answers)  # no error, no word


def test_ws_drop_fault_drops_without_session_closed(client: TestClient) -> None:
    headers = {**AUTH, "x-harness-fault": "ws-drop=3"}
    with connect(client, "mode=audio", headers=headers) as conn:
        assert conn.event()["type"] == "session.queue_done"
        conn.ws.send_text(json.dumps({"type": "session.init", "payload": {}}))
        assert conn.event()["type"] == "session.created"
        conn.ws.send_text(json.dumps({"type": "input.append", "input": {"audio": AUDIO}}))
        assert conn.event()["kind"] == "text"  # the third event, then nothing
        assert conn.closed().code == 1006
        assert all(e["type"] != "session.closed" for e in conn.events)


def test_ttft_fault_paces_the_first_delta(client: TestClient) -> None:
    with connect(client, "mode=chat", headers={**AUTH, "x-harness-fault": "ttft=80"}) as conn:
        conn.event()
        conn.send({"type": "session.init", "payload": {}})
        t0 = time.monotonic()
        conn.send({"type": "input.append", "input": {"messages": "hi"}})
        assert time.monotonic() - t0 >= 0.08


# --- on a real socket --------------------------------------------------------------------


@pytest.fixture
def served(served_mock: ServedMock) -> str:
    base = served_mock.base_url("modelbest", "minicpm-o-realtime")
    assert base.startswith("ws://127.0.0.1:")  # the advertised base URL is a WebSocket one
    return f"{base}/realtime"


def test_real_socket_session_refusal_and_drop(served: str) -> None:
    validator = schemas.validator("minicpm-o-realtime/current/server-event")

    async def scenario() -> None:
        async with websockets.connect(f"{served}?mode=video", additional_headers=AUTH,
                                      proxy=None) as ws:
            events = [json.loads(await ws.recv())]
            await ws.send(json.dumps({"type": "session.init", "payload": {"system_prompt": "hi"}}))
            events.append(json.loads(await ws.recv()))
            await ws.send(json.dumps({"type": "input.append",
                                      "input": {"audio": AUDIO, "video_frames": [image()]}}))
            events.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            while not is_terminal(events[-1]):
                events.append(json.loads(await asyncio.wait_for(ws.recv(), 5)))
            await ws.send(json.dumps({"type": "session.close"}))
            events.append(json.loads(await ws.recv()))
            with pytest.raises(websockets.ConnectionClosedOK):
                await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code == 1000
        assert [e["type"] for e in events[:2]] == ["session.queue_done", "session.created"]
        assert {e["kind"] for e in events[2:-1]} == {"text", "audio", "listen"}
        assert events[-1] == {"type": "session.closed", "reason": "stopped"}
        for event in events:
            assert not list(validator.iter_errors(event))

        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{served}?mode=audio", proxy=None):
                pass
        assert refused.value.response.status_code == 401

        dropped = {**AUTH, "x-harness-fault": "ws-drop=1"}
        async with websockets.connect(f"{served}?mode=audio", additional_headers=dropped,
                                      proxy=None) as ws:
            assert json.loads(await ws.recv()) == {"type": "session.queue_done"}
            with pytest.raises(websockets.ConnectionClosedError):
                await asyncio.wait_for(ws.recv(), 5)
            assert ws.close_code is None or ws.close_code == 1006  # no close frame: an abrupt drop
            assert ws.protocol.close_rcvd is None

    asyncio.run(scenario())
