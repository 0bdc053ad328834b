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
request's entry is made only when the journal is read (:data:`DEFER_MAX`), so a load test that
never reads it does not pay for it.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness import journal
from harness.errors import UsageError
from harness.media import Payload
from harness.mock import faults
from harness.providers import Api, Profile
from harness.secrets import CREDENTIAL_HEADERS, REDACTED

if TYPE_CHECKING:
    from harness.mock.context import MockState

BODY_CAP = 64 * 1024 * 1024  # larger requests are hashed but not parsed for facts
ANSWER_CAP = 1024 * 1024  # answer bytes kept to read its facts (the mock's answers are small)
# A request up to this size keeps its raw parts and becomes an entry only when the journal is
# read (most never are: a load test's); a larger one is summed up at once, its body let go.
DEFER_MAX = 64 * 1024
_OVERHEAD = 512  # bytes an entry holds beyond its raw parts, for the byte budget


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


def _header(head: Sequence[tuple[bytes, bytes]], name: bytes) -> bytes:
    """The value of header ``name`` (given in lower case), or b""."""
    for key, value in head:
        if key.lower() == name:
            return value
    return b""


class Recorder:
    """Journals each HTTP request under an API prefix (``/_harness/`` itself excluded)."""

    def __init__(self, app: ASGIApp, state: MockState,
                 apis: Sequence[tuple[str, Profile, Api]]) -> None:
        self.app, self.state = app, state
        self.apis = sorted(apis, key=lambda a: -len(a[0]))  # longest prefix first

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):  # on the loop that serves the app
            self.state.sweeper.ensure_running()
        if scope["type"] != "http" or scope["path"].startswith("/_harness/"):
            await self.app(scope, receive, send)
            return
        started, seq = time.time(), self.state.journal.next_seq()
        # The chunks themselves, not a copy: the handler reads the same bytes objects, and a
        # body is joined only if an entry needs it (a deferred one, or one the handler did
        # not parse).
        parts: list[bytes] = []
        answer = bytearray()
        digest, size = hashlib.sha256(), 0
        status, content_type = 0, ""
        more = True

        async def take() -> Message:
            nonlocal size, more
            message = await receive()
            chunk = message.get("body", b"")
            digest.update(chunk)
            size += len(chunk)
            more = message.get("more_body", False) and message["type"] == "http.request"
            if chunk and size <= BODY_CAP:
                parts.append(chunk)
            return message

        # A JSON body is read before the app runs (it would be read whole anyway), so even a
        # request refused before its body was looked at (401) is journaled with its facts;
        # uploads stream through untouched, under their own size limits.
        early: list[Message] = []
        if b"json" in _header(scope["headers"], b"content-type"):
            while more and size <= BODY_CAP:
                early.append(await take())

        async def reading() -> Message:
            return early.pop(0) if early else await take()

        async def sending(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = _header(message.get("headers", ()), b"content-type").decode(
                    "latin-1")
            elif message["type"] == "http.response.body" and len(answer) < ANSWER_CAP:
                answer.extend(message.get("body", b""))
            await send(message)

        notes: dict[str, Any] = {}
        token = _NOTES.set(notes)
        try:
            await self.app(scope, reading, sending)
        finally:
            _NOTES.reset(token)
            runtime = self.state.runtime_fault  # as it was for this request, not when read
            deferred = size <= DEFER_MAX
            # A deferred entry keeps the raw bytes only (what its size counts), not the parsed
            # body the handler noted: a small body is parsed again if the journal is read.
            build = partial(self._entry, scope["headers"], scope.get("method", "GET"),
                            scope["path"], seq, started, time.time(), parts, size,
                            digest.hexdigest(), status, content_type, bytes(answer),
                            {} if deferred else notes, runtime.spec if runtime else "")
            if deferred:
                self.state.journal.defer(seq, build, _OVERHEAD + size + len(answer) + sum(
                    len(k) + len(v) for k, v in scope["headers"]))
            else:
                self.state.journal.append(build())

    def _entry(self, head: Sequence[tuple[bytes, bytes]], method: str, path: str, seq: int,
               started: float, ended: float, parts: list[bytes], size: int, sha: str, status: int,
               content_type: str, answer: bytes, notes: dict[str, Any],
               runtime_fault: str) -> journal.Entry:
        raw = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in head}
        scrub = self.state.scrubber.text
        headers = {k: REDACTED if k in CREDENTIAL_HEADERS else scrub(v) for k, v in raw.items()}
        found = next(((p, a) for prefix, p, a in self.apis if path.startswith(f"{prefix}/")), None)
        provider, api = (found[0].name, found[1]) if found else ("", None)
        key = api.auth.presented_key(raw) if api else None
        key_header = next((s.header.lower() for s in api.auth.styles if s.header.lower() in raw),
                          "") if api and key is not None else ""
        parsed = notes.get("body", _UNSET)
        if parsed is _UNSET:  # the handler did not parse it (refused first, or not JSON)
            body = b"".join(parts)
            try:
                parsed = json.loads(body) if body and len(body) == size else None
            except (ValueError, UnicodeDecodeError):
                parsed = None
        fault = raw.get(faults.HEADER) or runtime_fault or self.state.config.faults
        return journal.Entry(
            seq=seq, at=started, method=method, path=path, provider=provider,
            api=api.protocol.name if api else "", headers=headers,
            correlation=raw.get(journal.CORRELATION_HEADER, ""), key=journal.key_digest(key),
            key_header=key_header,
            key_accepted=key is not None and key == self.state.config.key_for(provider),
            body_sha256=sha, body_bytes=size, status=status,
            request=journal.request_facts(parsed, notes.get("media")),
            content_type=content_type,
            answer=journal.answer_facts(status, content_type, answer) if status else
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
        return JSONResponse(state.journal.snapshot(int(raw)))

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
