"""The reference mock of ModelBest's MiniCPM-o Realtime WebSocket API: the handshake.

``ws://host:port/modelbest/v1/realtime?mode=chat|video|audio[&revision=current|earlier]``; the
revision defaults to ``current`` (or the API's ``limits.revision`` in the profile) and the mode
to the revision's default. The handshake is authenticated like the HTTP API: a missing or wrong
Bearer key is refused with the provider's HTTP 401 body (ASGI WebSocket Denial Response; a
server without that extension closes with 1008 before accepting, which clients see as HTTP 403),
and a ``status`` fault refuses it the same way. An unknown mode or revision (chat is
current-only) or a bad test parameter is accepted, answered with an ``invalid_payload`` error and
closed with 1008: 1003 is documented for unparseable frames, and reusing it would send a client
hunting for a bad frame when its URL is wrong. Test parameters: ``queue=N`` (start at queue
position N, one ``session.queue_update`` per ``job_step_s``) and ``simulate=<code>``
(``queue_full``, ``service_unavailable``: on connect; ``worker_busy``,
``worker_connect_failed``: on init; all four close with 1013; ``inference_error``: an error
frame for every input, the session lives on); the fault item ``error=<code>`` does the same.
The session itself is :mod:`harness.mock.realtime_session`.
"""

from __future__ import annotations

import itertools

from starlette.responses import Response
from starlette.routing import BaseRoute, WebSocketRoute
from starlette.websockets import WebSocket

from harness.errors import UsageError
from harness.mock import faults
from harness.mock.context import MockContext
from harness.mock.realtime_session import Options, Session
from harness.mock.realtime_wire import CLOSE_POLICY, SIMULATED, RealtimeError, Wire
from harness.mock.validation import short

MAX_QUEUE = 50


def routes(ctx: MockContext, host: str) -> list[BaseRoute]:
    numbers = itertools.count(1)

    async def realtime(ws: WebSocket) -> None:
        fault = faults.fault_of(ws.scope)
        refusal = ctx.authenticate(ws) or _fault_refusal(ctx, fault)
        if refusal is not None:
            if "websocket.http.response" in ws.scope.get("extensions", {}):
                await ws.send_denial_response(refusal)
            else:
                await ws.close(CLOSE_POLICY)
            return
        await ws.accept()
        try:
            options = parse_query(ctx, ws, fault)
        except RealtimeError as err:
            await ws.send_json(Wire.error(err.code, err.message))
            await ws.close(CLOSE_POLICY, err.code)
            return
        await Session(ctx, ws, next(numbers), options).run()

    return [WebSocketRoute("/realtime", realtime)]


def _fault_refusal(ctx: MockContext, fault: faults.Fault) -> Response | None:
    """A status fault (or a catalogue error that is not a realtime code) refuses the handshake."""
    if fault.status is None and (fault.error is None or fault.error in SIMULATED):
        return None
    try:
        answer = faults.resolve_error(fault, ctx.profile.errors, ctx.protocol)
    except UsageError as exc:
        return ctx.error(400, str(exc))
    extra = {"retry-after": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
    return ctx.error(answer.status, answer.message, headers=extra)


def parse_query(ctx: MockContext, ws: WebSocket, fault: faults.Fault) -> Options:
    """Revision, mode and test parameters from the URL; raises ``invalid_payload``."""
    query, revisions = ws.query_params, ctx.api.protocol.revisions
    name = query.get("revision") or str(ctx.api.limits.get("revision", "current"))
    if name not in revisions:
        raise RealtimeError("invalid_payload", f"query revision={short(name)} is not one of "
                                               f"{', '.join(revisions)}")
    revision = revisions[name]
    mode = query.get("mode") or revision.default_mode
    if mode not in revision.modes:
        raise RealtimeError("invalid_payload", f"query mode={short(mode)} is not one of "
                                               f"{', '.join(revision.modes)} (revision {name})")
    simulate = query.get("simulate") or (fault.error if fault.error in SIMULATED else None)
    if simulate not in (None, *SIMULATED):
        raise RealtimeError("invalid_payload", f"query simulate={short(simulate)} is not one of "
                                               f"{', '.join(SIMULATED)}")
    raw = query.get("queue", "0")
    if not raw.isdigit() or int(raw) > MAX_QUEUE:
        raise RealtimeError("invalid_payload", f"query queue={short(raw)} is not an integer "
                                               f"0..{MAX_QUEUE}")
    return Options(Wire(name), mode, simulate, int(raw))
