"""One MiniCPM-o Realtime session of the mock, from ``accept`` to close (both revisions).

The session is a small state machine: queue events and ``session.queue_done``; then only the
init event (``session.init`` / ``session.update``) may start it, input before that is
``not_ready``; once ``session.created`` is sent, inputs are answered with output events and
count towards the context (``kv_cache_length``) until ``session.close`` (``stopped``), the
mode's time limit (``timeout``) or a full context (``context_full``) sends ``session.closed``
and a normal close. Client mistakes answer an ``error`` frame and the session lives on;
capacity errors close with 1013, an unparseable frame with 1003, an oversize one with 1009 after
an error event, the ``ws_drop`` fault drops the connection without a word. A server shutting
down sends ``session.closed`` ``server_shutdown`` and closes 1001; a failure of the mock itself
sends ``session.closed`` ``error`` and closes 1011 (both reasons are documented). Duplex audio
is heard on the session's clock (``realtime_buffer``): chunks sent faster than real time wait,
and the oldest are dropped unheard. Output is a pure function of the input and the seed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette.websockets import WebSocket, WebSocketDisconnect

from harness.media import MediaLimits
from harness.mock import edge, faults, generate
from harness.mock.context import MockContext
from harness.mock.realtime_buffer import InputBuffer
from harness.mock.realtime_input import (
    PROMPT_OVERHEAD,
    ChatTurn,
    Chunk,
    Limits,
    Setup,
    audio_chunks,
    check_schema,
    read_chat,
    read_chunk,
    read_setup,
    require_for_mode,
)
from harness.mock.realtime_wire import (
    AT_CONNECT,
    AT_INIT,
    CLOSE_ABNORMAL,
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL,
    CLOSE_NORMAL,
    CLOSE_TOO_BIG,
    CLOSE_TRY_AGAIN,
    CLOSE_UNSUPPORTED,
    SIMULATED_MESSAGES,
    Ids,
    RealtimeError,
    Wire,
)
from harness.mock.validation import short

log = logging.getLogger("harness.mock")
_HEARING = object()  # _next_event: no frame came, a waiting chunk is due to be heard


@dataclass(frozen=True, slots=True)
class Options:
    """What the handshake's query chose: revision, mode and the test parameters."""

    wire: Wire
    mode: str
    simulate: str | None = None
    queue: int = 0


@dataclass
class SessionRecord:
    """What the mock remembers of a session (in ``ctx.part.sessions``, bounded)."""

    session_id: str
    mode: str
    revision: str
    system_prompt: str
    kv_cache_length: int
    turns: int = 0
    events_sent: int = 0
    dropped_inputs: int = 0  # chunks sent faster than real time, pushed out unheard
    ended: str | None = None  # a session.closed reason, or dropped / client_disconnected / a code

    @property
    def nbytes(self) -> int:
        return 256 + len(self.system_prompt)


class _Ended(Exception):
    """The socket is closed; unwinds the session."""


class _Drop(Exception):
    """The ws_drop fault fired."""


class Session:
    """One WebSocket connection, from accept to close."""

    def __init__(self, ctx: MockContext, ws: WebSocket, number: int, options: Options) -> None:
        self.ctx, self.ws, self.number, self.options = ctx, ws, number, options
        self.wire, self.mode, self.simulate = options.wire, options.mode, options.simulate
        self.fault = faults.fault_of(ws.scope)
        self.limits = Limits.of(ctx.api, ctx.config.realtime_context_tokens,
                                ctx.config.realtime_time_scale)
        self.record: SessionRecord | None = None
        self.setup = Setup("", 1)
        self.sent = 0
        self.deadline = math.inf
        self.heard: InputBuffer[Chunk] = InputBuffer(ctx.config.realtime_time_scale,
                                                     ctx.config.realtime_buffer_s)
        self.loop = asyncio.get_running_loop()
        self.stopping = False

    async def run(self) -> None:
        self.ctx.state.live.add(self)
        try:
            await self._serve()
        except _Drop:
            self._end("dropped")
            # ASGI has no "abort": close with 1006, which a server must refuse to put on the
            # wire (uvicorn raises); returning without a close frame then makes it drop the TCP
            # connection. The in-process TestClient passes 1006 through: a drop, as clients see it.
            with contextlib.suppress(Exception):
                await self.ws.close(CLOSE_ABNORMAL)
        except WebSocketDisconnect:
            self._end("client_disconnected")
        except _Ended:
            pass
        except Exception:
            if self.stopping:  # the server closed the socket under a send: expected
                return
            log.exception("realtime session %s failed", self.number)
            await self._close_quietly("error", CLOSE_INTERNAL)
        finally:
            self.ctx.state.live.discard(self)

    async def shutdown(self) -> None:
        """The server is stopping: ``session.closed`` ``server_shutdown``, then close 1001."""
        self.stopping = True
        await self._close_quietly("server_shutdown", CLOSE_GOING_AWAY)

    async def _close_quietly(self, reason: str, code: int) -> None:
        """End the session with ``session.closed`` ``reason`` (documented: ``error`` and
        ``server_shutdown`` too) and close ``code``; the socket may be gone already."""
        self._end(reason)
        with contextlib.suppress(Exception):
            await self.ws.send_text(json.dumps(self.wire.closed(reason), separators=(",", ":")))
            await self.ws.close(code, reason)

    async def _serve(self) -> None:
        if self.fault.ws_drop == 0:
            raise _Drop
        if self.simulate in AT_CONNECT:
            await self.fail(RealtimeError(self.simulate, SIMULATED_MESSAGES[self.simulate]))
        await self._queue()
        # The clock starts when the session holds a worker, i.e. at queue_done.
        self.deadline = self.loop.time() + self.limits.session_s(self.mode)
        while True:
            try:
                event = await self._next_event()
                if event is not _HEARING:
                    await self._handle(event)
                await self._hear()
            except RealtimeError as err:
                await self.fail(err)

    async def _queue(self) -> None:
        step = self.ctx.config.job_step_s
        if self.options.queue:
            ticket = f"tk_{generate.digest('ticket', self.ctx.config.seed, self.number)[:12]}"
            await self.emit(self.wire.queued(self.options.queue, ticket, self.options.queue * step))
            for position in range(self.options.queue - 1, 0, -1):
                await asyncio.sleep(step)
                await self.emit(self.wire.queue_update(position, position * step))
            await asyncio.sleep(step)
        await self.emit(self.wire.queue_done())

    async def _next_event(self) -> Any:
        """The next client frame; _HEARING when a waiting input chunk's turn to be heard came
        first (not None: a client's frame may be JSON null)."""
        now = self.loop.time()
        remaining = self.deadline - now
        if remaining <= 0:
            await self.finish("timeout")
        due_in = self.heard.next_due_in(now)
        try:
            wait = remaining if due_in is None else min(remaining, due_in)  # due_in may be 0.0
            message = await asyncio.wait_for(self.ws.receive(), wait)
        except TimeoutError:
            if due_in is not None and due_in < remaining:
                return _HEARING
            await self.finish("timeout")
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        text = message.get("text")
        if text is None:
            self._end("unparseable_frame")
            await self.close(CLOSE_UNSUPPORTED, "binary frame; send JSON text")
        size = len(text) if text.isascii() else len(text.encode())
        if size > self.ctx.config.realtime_max_frame_bytes:
            await self.fail(RealtimeError("invalid_payload", f"frame is {size} bytes, over the "
                                          f"{self.ctx.config.realtime_max_frame_bytes}-byte limit"))
            self._end("frame_too_large")
            await self.close(CLOSE_TOO_BIG, "frame too large")
        try:
            event = edge.loads(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            self._end("unparseable_frame")
            await self.close(CLOSE_UNSUPPORTED, "frame is not valid JSON")
        found = edge.flaw(event)
        if found is not None and found.not_json:
            self._end("unparseable_frame")
            await self.close(CLOSE_UNSUPPORTED, f"frame is not valid JSON: {found.pointer}"[:120])
        if found is not None:  # encodable JSON is the frame's payload problem, not its syntax
            raise RealtimeError("invalid_payload", found.message)
        return event

    async def _handle(self, event: Any) -> None:
        if not isinstance(event, dict):
            raise RealtimeError("invalid_payload", f"a frame must be a JSON object with a 'type', "
                                                   f"got {type(event).__name__}")
        if "type" not in event:
            raise RealtimeError("missing_field", "frame: missing required field 'type'")
        kind = event["type"]
        if kind == self.wire.close_event:
            check_schema(event, self.wire.schema(kind))
            await self.finish("stopped")
        if kind == self.wire.init_event:
            return await self._init(event)
        if kind == self.wire.input_event:
            if self.record is None:
                raise RealtimeError("not_ready", f"{kind} before {self.wire.init_event}: send "
                                                 f"{self.wire.init_event} and wait for session.created")
            return await self._input(event)
        other = Wire("earlier" if self.wire.current else "current")
        hint = (f" ({kind} belongs to the {other.revision} revision; connect with "
                f"?revision={other.revision})" if kind in other.client_events else "")
        raise RealtimeError("unknown_event", f"unknown event type {short(kind)}{hint}; the "
                            f"{self.wire.revision} revision accepts {', '.join(self.wire.client_events)}")

    async def _init(self, event: dict[str, Any]) -> None:
        if self.record is not None:
            raise RealtimeError("invalid_payload", f"{event['type']}: session "
                                                   f"{self.record.session_id} is already set up")
        self.setup = read_setup(event, self.wire)
        if self.simulate in AT_INIT:
            raise RealtimeError(self.simulate, SIMULATED_MESSAGES[self.simulate])
        sid = f"rt_{generate.digest('session', self.ctx.config.seed, self.number)[:16]}"
        prompt_length = PROMPT_OVERHEAD + generate.count_tokens(self.setup.system_prompt)
        self.record = SessionRecord(sid, self.mode, self.wire.revision, self.setup.system_prompt,
                                    prompt_length, events_sent=self.sent)
        self.ctx.part.sessions.put(sid, self.record)
        await self.emit(self.wire.created(sid, prompt_length))

    async def _input(self, event: dict[str, Any]) -> None:
        assert self.record is not None
        fields, at = (event.get("input"), "/input") if self.wire.current else (event, "")
        if isinstance(fields, dict):
            require_for_mode(fields, at, self.mode)
        check_schema(event, self.wire.schema(event["type"]))
        assert isinstance(fields, dict)  # the schema requires it
        got: ChatTurn | Chunk = (
            read_chat(fields, self.ctx.profile.limits.get("image") or MediaLimits())
            if self.mode == "chat" else read_chunk(fields, at, self.limits, self.setup.max_slice_nums))
        if self.simulate == "inference_error":  # after validation: bad input is still the client's
            raise RealtimeError("inference_error", SIMULATED_MESSAGES["inference_error"])
        if isinstance(got, ChatTurn):
            await self._chat(self._turn(), got)
        else:
            self.record.dropped_inputs += self.heard.add(got, got.samples / self.limits.input_rate)

    async def _hear(self) -> None:
        """Answer the input chunks whose turn to be heard has come (at once, for a client that
        sends at the pace of speech)."""
        for chunk in self.heard.due(self.loop.time()):
            await self._duplex(self._turn(), chunk)

    def _turn(self) -> Ids:
        assert self.record is not None
        self.record.turns += 1
        sid = self.record.session_id
        return Ids(sid, f"resp_{sid[3:11]}_{self.record.turns:04d}")

    async def _duplex(self, ids: Ids, chunk: Chunk) -> None:
        assert self.record is not None
        if chunk.force_listen or chunk.silent:
            await self._account(chunk.tokens, 0)
            await self.emit(self.wire.listen(ids, self.record.kv_cache_length))
            return
        prompt = (f"{chunk.samples / self.limits.input_rate:.3f} s of speech; instructions: "
                  f"{self.setup.system_prompt}")
        answer = generate.answer(self.model, prompt, (chunk.audio, *chunk.frames), self.ctx.config.seed)
        pieces = generate.tokens(answer.text)
        await self._account(chunk.tokens, len(pieces))
        chunks = list(audio_chunks(answer.text, pieces, self.limits))
        for i, (group, audio) in enumerate(chunks):
            await self._pace(i == 0, len(group))
            self.record.kv_cache_length += len(group)
            for out in self.wire.speech(ids, "".join(group), audio, i == len(chunks) - 1,
                                        self.record.kv_cache_length):
                await self.emit(out)
        if self.wire.current:  # the earlier revision's end_of_turn delta says the same
            await self.emit(self.wire.listen(ids, self.record.kv_cache_length))

    async def _chat(self, ids: Ids, turn: ChatTurn) -> None:
        assert self.record is not None
        answer = generate.answer(self.model, turn.prompt, turn.images, self.ctx.config.seed,
                                 max_tokens=turn.max_new_tokens, reasoning=turn.thinking)
        pieces = generate.tokens(answer.text)
        await self._account(turn.tokens, len(pieces))
        for i, piece in enumerate(pieces if turn.streaming else [answer.text]):
            await self._pace(i == 0, 1 if turn.streaming else len(pieces))
            self.record.kv_cache_length += 1 if turn.streaming else len(pieces)
            await self.emit(self.wire.text(ids, piece))
        if turn.tts:
            for _, audio in audio_chunks(answer.text, pieces, self.limits):
                await self.emit(self.wire.audio(ids, audio))
        await self.emit(self.wire.done(ids))

    @property
    def model(self) -> str:
        return self.ctx.api.default_model()

    async def _account(self, tokens_in: int, tokens_out: int) -> None:
        """Take the input into the context, or end the session if the turn would overflow it."""
        assert self.record is not None
        if self.record.kv_cache_length + tokens_in + tokens_out > self.limits.context_tokens:
            await self.finish("context_full")
        self.record.kv_cache_length += tokens_in

    async def _pace(self, first: bool, n_tokens: int) -> None:
        delay = (self.fault.ttft / 1000 if first else 0.0) + (
            n_tokens / self.fault.tps if self.fault.tps else 0.0)
        if delay:
            await asyncio.sleep(delay)
        if self.loop.time() > self.deadline:
            await self.finish("timeout")

    async def emit(self, event: dict[str, Any]) -> None:
        await self.ws.send_text(json.dumps(event, separators=(",", ":"), ensure_ascii=False))
        self.sent += 1
        if self.record is not None:
            self.record.events_sent = self.sent
        if self.fault.ws_drop is not None and self.sent >= self.fault.ws_drop:
            raise _Drop

    async def fail(self, err: RealtimeError) -> None:
        await self.emit(self.wire.error(err.code, self.ctx.state.scrubber.text(err.message)))
        if err.closes:
            self._end(err.code)
            await self.close(CLOSE_TRY_AGAIN, err.code)

    async def finish(self, reason: str) -> NoReturn:
        """End the session the documented way: session.closed, then a normal close."""
        self._end(reason)
        await self.emit(self.wire.closed(reason))
        await self.close(CLOSE_NORMAL, reason)

    async def close(self, code: int, reason: str) -> NoReturn:
        await self.ws.close(code, reason)
        raise _Ended

    def _end(self, how: str) -> None:
        if self.record is not None and self.record.ended is None:
            self.record.ended = how
            self.ctx.part.sessions.put(self.record.session_id, self.record)
