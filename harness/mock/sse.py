"""Server-sent events for the mock's streaming answers: framing, pacing and cut-offs.

The OpenAI and Anthropic handlers build the whole list of frames of an answer up front (so a
stream and a non-stream answer come from the same text and usage), then :func:`paced` lets
them out under the request's fault: ``ttft`` before the first frame, ``tps`` between token
frames, and ``cut`` ending the stream after N frames, optionally with a last frame of the
protocol's own (Anthropic's ``event: error``). The HTTP response still ends cleanly after a
cut, as it does behind a proxy, so a client sees a truncated stream rather than a socket error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import Response, StreamingResponse

from harness.mock.faults import Fault

HEADERS = {"cache-control": "no-cache", "x-accel-buffering": "no"}


@dataclass(frozen=True, slots=True)
class Frame:
    data: bytes
    token: bool = False  # carries generated text: paced by the fault's tokens per second


def compact(answer: Any) -> bytes:
    """An answer the mock built from strings, integers, booleans and nulls, as compact JSON:
    the very bytes ``json.dumps(..., ensure_ascii=False, separators=(",", ":"))`` writes
    (Starlette's JSONResponse), made by orjson in a fraction of the time. Floats are the one
    thing the two write differently (``1e-05`` against ``0.00001``), so answers holding them
    do not come here; what orjson refuses (an integer past 64 bits) goes to json."""
    try:
        return orjson.dumps(answer)
    except TypeError:  # orjson.JSONEncodeError
        return json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()


class _JsonAnswer(Response):
    """A 200 answer of JSON bytes whose head is written out directly: the very headers, in
    the order, that ``Response(body, media_type="application/json", headers=...)`` makes
    (given ones, content-length, content-type; tests pin it), without its generic walk over
    them, which was ~2 % of a small chat."""

    media_type = "application/json"

    def __init__(self, body: bytes, headers: Mapping[str, str]) -> None:
        self.status_code, self.background, self.body = 200, None, body
        self.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                            for k, v in headers.items()]
        self.raw_headers += ((b"content-length", str(len(body)).encode("latin-1")),
                             (b"content-type", b"application/json"))


def json_response(answer: Any, headers: Mapping[str, str] | None = None) -> Response:
    """A 200 JSON answer of :func:`compact` bytes (what JSONResponse would send); ``headers``
    must not set the content's length or type, which the answer's bytes decide."""
    return _JsonAnswer(compact(answer), headers or {})


def encode(data: Any, event: str | None = None, *, token: bool = False) -> Frame:
    """One SSE frame: an optional ``event:`` line and one ``data:`` line of compact JSON."""
    payload = data.encode() if isinstance(data, str) else compact(data)
    head = f"event: {event}\n".encode() if event else b""
    return Frame(head + b"data: " + payload + b"\n\n", token)


def generation_delay(fault: Fault, n_tokens: int) -> float:
    """Seconds a non-stream answer of ``n_tokens`` takes under the fault's pacing."""
    return fault.ttft / 1000 + (n_tokens / fault.tps if fault.tps > 0 else 0.0)


async def paced(frames: Sequence[Frame], fault: Fault,
                on_cut: Frame | None = None) -> AsyncIterator[bytes]:
    """Yield ``frames`` under ``fault``; after ``fault.cut`` frames send ``on_cut`` and stop.

    Frames due at the same instant leave as one chunk: each chunk is a trip through the
    server's send path, so an unpaced answer is one write, not one per token (the bytes, and
    so every client's reading of the stream, are the same)."""
    due: list[bytes] = []
    for i, frame in enumerate(frames):
        if fault.cut is not None and i >= fault.cut:
            if on_cut is not None:
                due.append(on_cut.data)
            break
        wait = fault.ttft / 1000 if i == 0 and fault.ttft > 0 else (
            1 / fault.tps if frame.token and fault.tps > 0 else 0.0)
        if wait:
            if due:
                yield b"".join(due)
                due.clear()
            await asyncio.sleep(wait)
        due.append(frame.data)
    if due:
        yield b"".join(due)


def response(frames: Sequence[Frame], fault: Fault, *, on_cut: Frame | None = None,
             headers: dict[str, str] | None = None) -> StreamingResponse:
    return StreamingResponse(paced(frames, fault, on_cut), media_type="text/event-stream",
                             headers={**HEADERS, **(headers or {})})
