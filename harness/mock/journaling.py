"""The mock's upstream journal: every request it received and what it answered, per run.

When the mock stands upstream of a gateway, the harness needs to see the gateway's side of the
wire: which key it presented, whether the image bytes arrived intact, how it mapped
``max_tokens``, what the mock streamed back and which fault it injected. :class:`Recorder`
wraps the app, reads the request body and the answer as they pass (nothing is re-sent or
delayed; the summary is made after the answer's last byte) and appends one
:class:`~harness.journal.Entry` to the bounded log of :mod:`harness.mock.journal_store` (the
oldest go first, and are counted as dropped). ``GET /_harness/journal?since=SEQ`` reads it with
the run id (a restarted mock is a new run, so a reader never mixes two), ``DELETE`` clears it;
``PUT /_harness/fault`` sets a fault for every later request until ``DELETE``, for gateways
that do not forward the ``x-harness-fault`` header. Keys never enter the journal: credential
headers are redacted and the key presented is kept only as a digest. What the handler already
worked out (the parsed body, each medium's digest) it notes with :func:`note_body` and
:func:`note_media`, so a 10 MB image is parsed and hashed once per request, not twice; a small
request's entry is made only when the journal is read (:data:`DEFER_MAX`), and a larger one's
body is hashed only then (while the journal holds it), so a load test that never reads the
journal does not pay for either.
"""

from __future__ import annotations

import hashlib
import json
import marshal
import time
from collections.abc import Awaitable, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness import journal
from harness.errors import UsageError
from harness.media import Payload
from harness.mock import faults
from harness.mock.base64_pattern import handing_on
from harness.mock.journal_store import sha256_of
from harness.mock.routing import Route
from harness.providers import Api, Profile
from harness.secrets import CREDENTIAL_HEADERS, REDACTED

if TYPE_CHECKING:
    from harness.mock.context import MockState

BODY_CAP = 64 * 1024 * 1024  # larger requests are hashed but not parsed for facts
ANSWER_CAP = 1024 * 1024  # answer bytes kept to read its facts (the mock's answers are small)
# A request up to this size keeps a raw record and becomes an entry only when the journal is
# read (most never are: a load test's); a larger one is summed up at once, its body let go.
DEFER_MAX = 64 * 1024
# Bytes of a request's media text from which decoding and hashing leave the event loop for a
# worker thread: below it, the hand-over (~50 us) costs more than it frees (~1 ms of decoding
# and hashing per MB of media).
OFF_LOOP_MIN = 1024 * 1024
_OVERHEAD = 512  # bytes an entry holds beyond its raw bytes, for the byte budget
# What an entry is made from: request head, method, path, seq, arrival and end times, body (b""
# when not kept), body bytes, the answer's status (0: no answer) and content type, the answer,
# the runtime fault, and whether the body was read whole (else its digest is unknown).
_Record = tuple[list[tuple[bytes, bytes]], str, str, int, float, float, bytes, int, int,
                bytes, bytes, str, bool]


# What the handler of the request being journaled noted for it (None outside a journaled one).
_NOTES: ContextVar[dict[str, Any] | None] = ContextVar("vlm_harness_journal_notes", default=None)
_UNSET = object()


def note_body(parsed: Any) -> None:
    """The request's body as the handler parsed it (the journal reads the same bytes)."""
    notes = _NOTES.get()
    if notes is not None:
        notes["body"] = parsed


def note_media(values: Sequence[str], payloads: Sequence[Payload]) -> None:
    """Each media string of the parsed body (by identity) with its payload's digest."""
    notes = _NOTES.get()
    if notes is not None:
        notes.setdefault("media", {}).update(
            (id(v), (v, journal.payload_digest(p))) for v, p in zip(values, payloads, strict=True))


def _pack(record: _Record) -> bytes:
    try:
        return marshal.dumps(record)
    except ValueError:  # a subclass marshal refuses (an IntEnum status from some app, say)
        (head, method, path, seq, started, ended, body, size, status, content_type, answer,
         fault, whole) = record
        return marshal.dumps(([(bytes(k), bytes(v)) for k, v in head], str(method), str(path),
                              int(seq), float(started), float(ended), bytes(body), int(size),
                              int(status), bytes(content_type), bytes(answer), str(fault),
                              bool(whole)))


def _announced(head: Sequence[tuple[bytes, bytes]]) -> bool:
    """Whether the request's head announces a body: a non-zero length, or chunks."""
    length = _header(head, b"content-length")
    return bool(length.strip().lstrip(b"0")) or bool(_header(head, b"transfer-encoding"))


def _header(head: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes:
    """The value of header ``name``, or b"" (ASGI header names are lower case)."""
    for key, value in head:
        if key == name:
            return value
    return b""


class _Exchange:
    """One request passing the :class:`Recorder`: its body's chunks as they are read (the same
    bytes objects the handler gets, not a copy) and the answer's messages as they are sent."""

    __slots__ = ("answer", "answered", "digest", "early", "more", "parts", "receive", "send",
                 "size", "start")

    def __init__(self, receive: Receive, send: Send) -> None:
        self.receive: Receive | None = receive
        self.send: Send | None = send
        self.parts: list[bytes] = []
        self.size, self.more, self.answered = 0, True, 0
        self.digest: Any = None  # a running SHA-256 once the body is past BODY_CAP
        self.early: list[Message] = []
        self.start: Message | None = None
        self.answer: list[bytes] = []

    async def take(self) -> Message:
        assert self.receive is not None
        return self.took(await self.receive())

    def took(self, message: Message) -> Message:
        """``message``, received, with its chunk kept (or hashed past BODY_CAP)."""
        chunk = message.get("body", b"")
        if chunk:
            self.size += len(chunk)
            if self.digest is None and self.size > BODY_CAP:  # too large to keep: hashed instead
                self.digest, self.parts = sha256_of(self.parts), []
            if self.digest is None:
                self.parts.append(chunk)
            else:
                self.digest.update(chunk)
        self.more = message.get("more_body", False) and message["type"] == "http.request"
        return message

    async def reading(self) -> Message:
        return self.early.pop(0) if self.early else await self.take()

    def sending(self, message: Message) -> Awaitable[None]:
        # Not a coroutine: the caller awaits what send returns, one frame fewer per message.
        if message["type"] == "http.response.start":
            self.start = message
        elif message["type"] == "http.response.body" and self.answered < ANSWER_CAP:
            chunk = message.get("body", b"")
            self.answer.append(chunk)
            self.answered += len(chunk)
        assert self.send is not None
        return self.send(message)

    def record(self, scope: Scope, seq: int, started: float, runtime_fault: str,
               keep_body: bool) -> _Record:
        """What the entry of this exchange is made from, nothing parsed (most small requests'
        entries are never made)."""
        start, head = self.start, scope["headers"]
        # A body the app answered before reading whole (a refusal that ignores an upload, say)
        # is not read after: the server hands over no more once the answer is complete.
        whole = not self.more or not _announced(head)
        return (head, scope.get("method", "GET"), scope["path"], seq, started,
                time.time(), b"".join(self.parts) if keep_body else b"", self.size,
                start.get("status", 0) if start else 0,
                _header(start.get("headers", ()), b"content-type") if start else b"",
                b"".join(self.answer), runtime_fault, whole)


class Recorder:
    """Journals each HTTP request under an API prefix (``/_harness/`` itself excluded)."""

    def __init__(self, app: ASGIApp, state: MockState,
                 apis: Sequence[tuple[str, Profile, Api]]) -> None:
        self.app, self.state = app, state
        self.apis = sorted(apis, key=lambda a: -len(a[0]))  # longest prefix first
        # bound once: each kept entry refers to it, not to a bound method of its own
        self._make_deferred = self._deferred

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):  # on the loop that serves the app
            self.state.sweeper.ensure_running()
        if scope["type"] != "http" or scope["path"].startswith("/_harness/"):
            await self.app(scope, receive, send)
            return
        started, seq = time.time(), self.state.journal.next_seq()
        x = _Exchange(receive, send)
        # A JSON body is read before the app runs (it would be read whole anyway), so even a
        # request refused before its body was looked at (401) is journaled with its facts;
        # uploads stream through untouched, under their own size limits.
        if b"json" in _header(scope["headers"], b"content-type"):
            while x.more and x.digest is None:  # not x.take(): a coroutine fewer a message
                x.early.append(x.took(await receive()))
        # A body read whole and small makes a deferred entry, which parses its raw bytes if it
        # is ever read: what the handler works out is not needed, so it notes nothing.
        small = not x.more and x.size <= DEFER_MAX
        notes: dict[str, Any] = {}
        token = None if small else _NOTES.set(notes)
        try:
            if small:
                await self.app(scope, x.reading, x.sending)
            else:
                with handing_on():  # megabytes of base64 are decoded once, for the media
                    await self.app(scope, x.reading, x.sending)
        finally:
            if token is not None:
                _NOTES.reset(token)
            runtime = self.state.runtime_fault  # as it was for this request, not when read
            deferred = x.size <= DEFER_MAX
            # A large body is kept only for an entry to parse when the handler did not.
            record = x.record(scope, seq, started, runtime.spec if runtime else "",
                              deferred or "body" not in notes)
            if deferred:
                # Only the record is kept, as one bytes object (what its size counts), never a
                # parsed body the handler noted (one read without a JSON content type, say).
                # Kept as the exchange left them, its facts were ~40 objects (the head's list
                # of tuples, the answer's start message with its headers, ...), cold by the
                # time the journal drops them a thousand requests later: freeing them and
                # reusing their memory cost ~10 % of a small chat served. marshal makes and
                # reads that one object in C, exactly (any bytes, any str), in ~0.5 us; only
                # this process reads what it wrote.
                packed = _pack(record)
                self.state.journal.defer(seq, self._make_deferred, packed, _OVERHEAD + len(packed))
            elif not record[12]:  # answered before its body was read whole: no digest
                self.state.journal.append(self._entry(record, notes, None))
            elif x.digest is not None:  # past BODY_CAP: hashed as its chunks passed
                self.state.journal.append(self._entry(record, notes, x.digest.hexdigest()))
            else:  # the journal holds the chunks; the entry's first reader hashes them
                self.state.journal.append(self._entry(record, notes, ""), x.parts)

    def _deferred(self, packed: bytes) -> journal.Entry:
        """The entry of a small request, made when the journal is first read."""
        record: _Record = marshal.loads(packed)
        return self._entry(record, {}, hashlib.sha256(record[6]).hexdigest() if record[12]
                           else None)

    def _entry(self, record: _Record, notes: dict[str, Any],
               body_sha256: str | None) -> journal.Entry:
        """The entry of an exchange; ``body_sha256`` is "" while the journal holds the body for
        its first reader to hash, None if it is not known."""
        (head, method, path, seq, started, ended, body, size, status, content_type, answer,
         runtime_fault, _) = record
        raw = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head}
        scrub = self.state.scrubber.text
        headers = {k: REDACTED if k in CREDENTIAL_HEADERS else scrub(v) for k, v in raw.items()}
        found = next(((p, a) for prefix, p, a in self.apis if path.startswith(f"{prefix}/")), None)
        provider, api = (found[0].name, found[1]) if found else ("", None)
        key = api.auth.presented_key(head) if api else None
        key_header = next((s.header.lower() for s in api.auth.styles if s.header.lower() in raw),
                          "") if api and key is not None else ""
        parsed = notes.get("body", _UNSET)
        if parsed is _UNSET:  # the handler did not parse it (refused first, or not JSON)
            try:  # a body past BODY_CAP was hashed, not kept: no facts from it
                parsed = json.loads(body) if body and len(body) == size else None
            except (ValueError, UnicodeDecodeError):
                parsed = None
        fault = raw.get(faults.HEADER) or runtime_fault or self.state.config.faults
        kind = content_type.decode("latin-1")
        return journal.Entry(
            seq=seq, at=started, method=method, path=path, provider=provider,
            api=api.protocol.name if api else "", headers=headers,
            correlation=raw.get(journal.CORRELATION_HEADER, ""), key=journal.key_digest(key),
            key_header=key_header,
            key_accepted=key is not None and key == self.state.config.key_for(provider),
            body_sha256=body_sha256, body_bytes=size, status=status,
            request=journal.request_facts(parsed, notes.get("media")),
            content_type=kind,
            answer=journal.answer_facts(status, kind, answer) if status else
            journal.AnswerFacts(complete=False, error="no answer"),
            fault=fault, duration_ms=round((ended - started) * 1000, 3))


def routes(state: MockState) -> list[BaseRoute]:
    """``/_harness/journal`` (GET with ``since``, DELETE) and ``/_harness/fault`` (PUT, DELETE)."""

    async def read_journal(request: Request) -> Response:
        if request.method == "DELETE":
            return JSONResponse({"run": state.journal.run, "cleared": state.journal.clear()})
        raw = request.query_params.get("since", "0")
        if not raw.isdigit():
            return JSONResponse({"error": f"since must be a sequence number, got {raw!r}"}, 400)
        # Off the loop: reading may hash held bodies (~8 ms for a 10 MB image's).
        return JSONResponse(await run_in_threadpool(state.journal.snapshot, int(raw)))

    async def set_fault(request: Request) -> Response:
        if request.method == "DELETE":
            state.runtime_fault = None
        elif request.method == "PUT":
            spec = (await request.body()).decode("utf-8", "replace").strip()
            try:
                state.runtime_fault = faults.RuntimeFault(spec, faults.parse(spec, "fault"))
            except UsageError as exc:
                return JSONResponse({"error": str(exc)}, 400)
        fault = state.runtime_fault
        return JSONResponse({"fault": fault.spec if fault else None})

    return [Route("/_harness/journal", read_journal, methods=["GET", "DELETE"]),
            Route("/_harness/fault", set_fault, methods=["GET", "PUT", "DELETE"])]
