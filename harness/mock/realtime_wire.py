"""Server events of the two MiniCPM-o Realtime revisions, and the protocol's error codes.

The current revision answers ``session.init`` / ``input.append`` with ``response.output.delta``
events of kind listen, text or audio (chat mode ends each turn with ``response.done``); the
earlier one answers ``session.update`` / ``input_audio_buffer.append`` with
``response.output_audio.delta`` (text and audio together, ``end_of_turn``, ``kv_cache_length``)
and ``response.listen``. Queue events, ``session.created``, ``session.closed`` and the error
frame are shared. :class:`Wire` is the only place that knows which fields each revision's
events carry (the earlier schema forbids extra fields), so the session logic in
:mod:`harness.mock.realtime` is written once for both. Close codes and which error codes close
the socket are in providers.md §3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CLOSE_NORMAL = 1000
CLOSE_GOING_AWAY = 1001  # RFC 6455: the server is going down (session.closed server_shutdown)
CLOSE_UNSUPPORTED = 1003  # documented: an unparseable frame
CLOSE_POLICY = 1008  # ours: a handshake the server will not serve (bad mode, revision, parameter)
CLOSE_TOO_BIG = 1009  # RFC 6455 "message too big", after an error event saying how big
CLOSE_TRY_AGAIN = 1013  # documented: the capacity errors below
CLOSE_INTERNAL = 1011  # RFC 6455: the server failed (session.closed error)
CLOSE_ABNORMAL = 1006  # what a client observes when the socket drops; never valid on the wire

CLIENT_ERRORS = ("not_ready", "unknown_event", "missing_field", "invalid_payload")
CAPACITY_ERRORS = ("service_unavailable", "queue_full", "worker_busy", "worker_connect_failed")
SERVER_ERRORS = ("inference_error", *CAPACITY_ERRORS)
# When a simulated server error fires: on connect (no worker, no queue slot), when the session
# is set up (the worker is being reached) or on each input (the model fails, session lives on).
AT_CONNECT = ("service_unavailable", "queue_full")
AT_INIT = ("worker_busy", "worker_connect_failed")
AT_INPUT = ("inference_error",)
SIMULATED = (*AT_CONNECT, *AT_INIT, *AT_INPUT)
SIMULATED_MESSAGES = {
    "service_unavailable": "the realtime service is unavailable (simulated); retry later",
    "queue_full": "the session queue is full (simulated); retry later",
    "worker_busy": "no inference worker is free (simulated); retry later",
    "worker_connect_failed": "could not reach an inference worker (simulated); retry later",
    "inference_error": "inference failed on this input (simulated); the session continues"}


class RealtimeError(Exception):
    """A problem the server reports with an ``error`` frame (and, for capacity codes, 1013)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message

    @property
    def closes(self) -> bool:
        return self.code in CAPACITY_ERRORS


@dataclass(frozen=True, slots=True)
class Ids:
    """What ties an output event to its session and turn (current revision only)."""

    session_id: str
    response_id: str


class Wire:
    """Builds the server events of one revision (``current`` or ``earlier``)."""

    def __init__(self, revision: str) -> None:
        self.revision = revision
        self.current = revision == "current"
        self.init_event = "session.init" if self.current else "session.update"
        self.input_event = "input.append" if self.current else "input_audio_buffer.append"
        self.close_event = "session.close"

    @property
    def client_events(self) -> tuple[str, str, str]:
        return self.init_event, self.input_event, self.close_event

    def schema(self, event_type: str) -> str:
        return f"minicpm-o-realtime/{self.revision}/{event_type}"

    @staticmethod
    def error(code: str, message: str) -> dict[str, Any]:
        kind = "client_error" if code in CLIENT_ERRORS else "server_error"
        return {"type": "error", "error": {"code": code, "message": message, "type": kind}}

    @staticmethod
    def queued(position: int, ticket_id: str, wait_s: float) -> dict[str, Any]:
        return {"type": "session.queued", "position": position, "queue_length": position,
                "estimated_wait_s": wait_s, "ticket_id": ticket_id}

    @staticmethod
    def queue_update(position: int, wait_s: float) -> dict[str, Any]:
        return {"type": "session.queue_update", "position": position, "queue_length": position,
                "estimated_wait_s": wait_s}

    @staticmethod
    def queue_done() -> dict[str, Any]:
        return {"type": "session.queue_done"}

    @staticmethod
    def created(session_id: str, prompt_length: int) -> dict[str, Any]:
        return {"type": "session.created", "session_id": session_id, "prompt_length": prompt_length}

    @staticmethod
    def closed(reason: str) -> dict[str, Any]:
        return {"type": "session.closed", "reason": reason}

    def listen(self, ids: Ids, kv: int) -> dict[str, Any]:
        """The model (back to) listening: after a spoken turn, on silence, on force_listen."""
        if self.current:
            return self._delta(ids, "listen")
        return {"type": "response.listen", "kv_cache_length": kv}

    def speech(self, ids: Ids, text: str, audio: str, end_of_turn: bool, kv: int) -> list[dict[str, Any]]:
        """One spoken chunk: a text fragment and the audio that goes with it."""
        if self.current:
            return [*([self._delta(ids, "text", text=text)] if text else []),
                    self._delta(ids, "audio", audio=audio)]
        return [{"type": "response.output_audio.delta", "text": text, "audio": audio,
                 "end_of_turn": end_of_turn, "kv_cache_length": kv}]

    def text(self, ids: Ids, text: str) -> dict[str, Any]:
        return self._delta(ids, "text", text=text)

    def audio(self, ids: Ids, audio: str) -> dict[str, Any]:
        return self._delta(ids, "audio", audio=audio)

    @staticmethod
    def done(ids: Ids) -> dict[str, Any]:
        return {"type": "response.done", "response_id": ids.response_id, "session_id": ids.session_id}

    @staticmethod
    def _delta(ids: Ids, kind: str, **payload: str) -> dict[str, Any]:
        return {"type": "response.output.delta", "kind": kind, **payload,
                "response_id": ids.response_id, "session_id": ids.session_id}


def is_terminal(event: dict[str, Any]) -> bool:
    """Whether ``event`` completes the server's answer to one client frame.

    Every JSON client frame gets an answer that ends with exactly one such event, so a client
    (or a test) knows when to stop reading: an error, session.created, session.closed, a listen,
    the end_of_turn delta of the earlier revision, or response.done in chat mode. (A frame that
    is not JSON gets no event: the socket closes with 1003.)
    """
    kind = event.get("type")
    if kind in ("error", "session.created", "session.closed", "response.listen", "response.done"):
        return True
    if kind == "response.output_audio.delta":
        return bool(event.get("end_of_turn"))
    return kind == "response.output.delta" and event.get("kind") == "listen"
