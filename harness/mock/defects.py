"""Planted defects: a deliberately broken variant of the reference mock.

A contract suite that passes everything proves nothing. ``build_app(MockConfig(defects=...))``
(or ``vlm-harness serve --defects ...``) wraps the mock in :class:`Rewrite`, an ASGI middleware
that buffers one exchange at a time and lets a named defect corrupt the request before the mock
sees it or the answer before the client does. The harness's own tests run the suite against
each defect and assert that the right check reports it; users can do the same to prove that
their client tests notice a provider going wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from harness.errors import UnknownNameError


@dataclass
class Wire:
    """An HTTP request as the middleware saw it (headers lower-cased); edits mutate it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes
    memory: dict[str, Any] = field(default_factory=dict)  # per-app state a defect may keep


RequestEdit = Callable[[Wire], Wire]
ResponseEdit = Callable[[Wire, Answer], Answer]


class Rewrite:
    """Buffers each HTTP exchange so ``request``/``response`` edits can corrupt one thing."""

    def __init__(self, app: ASGIApp, *, request: RequestEdit | None = None,
                 response: ResponseEdit | None = None) -> None:
        self.app, self.request, self.response = app, request, response
        self.memory: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        wire = Wire(scope["method"], scope["path"], {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}, body)
        if self.request:
            wire = self.request(wire)
            wire.headers["content-length"] = str(len(wire.body))
        scope = {**scope, "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                      for k, v in wire.headers.items()]}
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:  # later reads wait for the client's disconnect, as they would
                return await receive()
            replayed = True
            return {"type": "http.request", "body": wire.body, "more_body": False}

        start: dict[str, Any] = {}
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, replay, capture)
        answer = Answer(start["status"], {k.decode("latin-1").lower(): v.decode("latin-1")
                                          for k, v in start.get("headers", [])},
                        b"".join(chunks), self.memory)
        if self.response:
            answer = self.response(wire, answer)
        answer.headers.pop("transfer-encoding", None)
        answer.headers["content-length"] = str(len(answer.body))
        await send({"type": "http.response.start", "status": answer.status, "headers": [
            (k.encode("latin-1"), v.encode("latin-1")) for k, v in answer.headers.items()]})
        await send({"type": "http.response.body", "body": answer.body})


def _json_edit(edit: Callable[[Any], Any]) -> Callable[[Answer], Answer]:
    def apply(answer: Answer) -> Answer:
        try:
            data = json.loads(answer.body)
        except ValueError:
            return answer
        answer.body = json.dumps(edit(data)).encode()
        return answer
    return apply


def _is_sse(answer: Answer) -> bool:
    return answer.headers.get("content-type", "").startswith("text/event-stream")


def wrong_field_type(wire: Wire, answer: Answer) -> Answer:
    """Chat completions: ``created`` becomes a string (schema: integer)."""
    if wire.path.endswith("/chat/completions") and not _is_sse(answer) and answer.status == 200:
        return _json_edit(lambda d: {**d, "created": str(d.get("created"))})(answer)
    return answer


def missing_done(wire: Wire, answer: Answer) -> Answer:
    """OpenAI streams end without ``data: [DONE]``."""
    if _is_sse(answer):
        answer.body = answer.body.replace(b"data: [DONE]\n\n", b"")
    return answer


def stream_disagrees(wire: Wire, answer: Answer) -> Answer:
    """OpenAI streams carry different text than the non-stream answer."""
    if _is_sse(answer) and wire.path.endswith("/chat/completions"):
        answer.body = re.sub(rb'"content": ?"', b'"content":"DIFFERENT ', answer.body, count=1)
    return answer


def status_backwards(wire: Wire, answer: Answer) -> Answer:
    """WaveSpeed polls: the first poll of a job says processing, the second says created."""
    if wire.method != "GET" or "/api/v3/predictions/" not in wire.path or answer.status != 200:
        return answer
    job = wire.path.split("/api/v3/predictions/")[1].split("/")[0]
    seen = answer.memory.setdefault("polls", {})
    seen[job] = seen.get(job, 0) + 1
    forced = {1: "processing", 2: "created"}.get(seen[job])
    if forced is None:
        return answer
    return _json_edit(lambda d: {**d, "data": {**d["data"], "status": forced, "outputs": []}})(answer)


def server_error_on_bad_input(wire: Wire, answer: Answer) -> Answer:
    """Any 4xx for a body that is not JSON becomes a 500."""
    try:
        json.loads(wire.body or b"{}")
    except ValueError:
        if 400 <= answer.status < 500:
            answer.status = 500
    return answer


def wrong_error_shape(wire: Wire, answer: Answer) -> Answer:
    """Every 4xx body becomes ``{"err": ...}``, nobody's documented error shape."""
    if 400 <= answer.status < 500:
        answer.body = json.dumps({"err": "bad request"}).encode()
    return answer


def key_leak(wire: Wire, answer: Answer) -> Answer:
    """401 answers quote the credential header the client sent."""
    if answer.status == 401:
        sent = next((v for k, v in wire.headers.items()
                     if k in ("authorization", "api-key", "x-api-key")), "")
        answer.body = _json_edit(lambda d: {**d, "leaked": f"invalid key {sent}"})(answer).body
    return answer


def failed_envelope(wire: Wire, answer: Answer) -> Answer:
    """WaveSpeed sync submissions come back failed inside an HTTP 200, with no error text."""
    if wire.method == "POST" and "/api/v3/wavespeed-ai/" in wire.path and answer.status == 200:
        return _json_edit(lambda d: {**d, "data": {**d["data"], "status": "failed",
                                                    "outputs": [], "error": ""}})(answer)
    return answer


DEFECTS: dict[str, ResponseEdit] = {
    "wrong-field-type": wrong_field_type, "missing-done": missing_done,
    "stream-disagrees": stream_disagrees, "status-backwards": status_backwards,
    "500-on-bad-input": server_error_on_bad_input, "wrong-error-shape": wrong_error_shape,
    "key-leak": key_leak, "failed-envelope": failed_envelope,
}


def parse(spec: str) -> list[ResponseEdit]:
    """``a,b`` -> the named defects; an unknown name lists the known ones."""
    chosen = []
    for name in filter(None, (p.strip() for p in spec.split(","))):
        if name not in DEFECTS:
            raise UnknownNameError("defect (--defects)", name, DEFECTS)
        chosen.append(DEFECTS[name])
    return chosen


def combine(edits: list[ResponseEdit]) -> ResponseEdit:
    """One response edit applying ``edits`` in order."""

    def combined(wire: Wire, answer: Answer) -> Answer:
        for edit in edits:
            answer = edit(wire, answer)
        return answer

    return combined
