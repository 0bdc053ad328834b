"""The reference mock: one Starlette app assembled from the provider profiles.

Each provider API is mounted at ``/{provider}[/{host}]{documented base path}`` (for example
``/modelbest/v1``, ``/mimo/anthropic``, ``/wavespeed``, ``/fal/queue``) and the provider's own
paths follow unchanged, so an SDK only needs its base URL pointed here. Which routes an API
gets is decided by its protocol's handler module; faults wrap each mount. ``/_harness/health``,
``/_harness/providers``, ``/_harness/webhooks`` (every webhook delivery attempt) and
``/_harness/state`` (items and bytes held per provider) describe the running mock for humans,
scripts and checks; ``/_harness/journal`` and ``/_harness/fault`` serve it as a gateway's
upstream (:mod:`harness.mock.journaling`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib import import_module
from itertools import count
from typing import Any

from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from harness import __version__, providers
from harness.mock import defects, faults, journaling
from harness.mock.advisory import AdvisoryMiddleware
from harness.mock.config import MockConfig
from harness.mock.context import MockContext, MockState
from harness.mock.errors import error_response, error_shape
from harness.mock.routing import App, Mount, Route, Router
from harness.mock.shield import ProtocolAt, Shield, protocol_lookup
from harness.mock.validation import short

# protocol -> module under harness.mock whose ``routes(ctx, host)`` serves it
HANDLERS = {"openai-chat": "openai_chat", "anthropic-messages": "anthropic_messages",
            "wavespeed-v3": "wavespeed", "fal-queue": "fal", "minicpm-o-realtime": "realtime"}

RouteFactory = Callable[[MockContext, str], list[BaseRoute]]


def handler(protocol: str) -> RouteFactory:
    module = import_module(f"harness.mock.{HANDLERS[protocol]}")
    return module.routes  # type: ignore[no-any-return]


def base_urls(root: str, names: Iterable[str] | None = None) -> dict[str, dict[str, str]]:
    """provider -> {api label -> base URL an SDK should be given} for a mock at ``root``."""
    out: dict[str, dict[str, str]] = {}
    for profile in providers.select(",".join(names) if names else "all"):
        entry = out.setdefault(profile.name, {})
        for api in profile.apis:
            for host in api.base_urls:
                label = api.protocol.name if host == "default" else f"{api.protocol.name}:{host}"
                scheme_root = root.replace("http", "ws", 1) if api.protocol.name.endswith(
                    "realtime") else root
                entry[label] = f"{scheme_root.rstrip('/')}{api.mock_prefix(host)}"
    return out


def _refusals(protocol_at: ProtocolAt, seed: int) -> dict[Any, Callable[..., Any]]:
    """Starlette's own 404/405 answers (plain text) in the error shape of the API whose prefix
    the path is under: an unknown path, or a wrong method; and a client gone mid-body, quietly."""
    ids = count(1)

    async def refuse(request: Request, exc: Exception) -> Response:
        status = getattr(exc, "status_code", 404)
        path = request.url.path
        what = "no such endpoint" if status == 404 else "method not allowed"
        response = error_response(protocol_at(path), status,
                                  f"{what}: {request.method} {short(path)}",
                                  request_id=f"req_route_{seed}_{next(ids):06d}")
        # RFC 9110 15.5.6: a 405 lists the allowed methods (Starlette's exception carries them).
        response.headers.update(getattr(exc, "headers", None) or {})
        return response

    async def gone(request: Request, exc: Exception) -> Response:
        # The client went away mid-body: nobody can read an answer, and it is not a server
        # error to log with a traceback. 499 is nginx's "client closed request" (for the log).
        return Response(status_code=499)

    return {404: refuse, 405: refuse, ClientDisconnect: gone}


def build_app(config: MockConfig | None = None, names: Iterable[str] | None = None) -> App:
    """The whole mock (or only the named providers) as one ASGI app."""
    config = config or MockConfig()
    state = MockState.create(config)
    server_fault = faults.parse(config.faults)
    profiles = providers.select(",".join(names) if names else "all", config.local_flavour)
    selected = [p.name for p in profiles]
    # APIs sharing a prefix (ModelBest chat and realtime under /modelbest/v1) share one mount.
    grouped: dict[str, tuple[str, list[BaseRoute], providers.Profile]] = {}
    for profile in profiles:
        for api in profile.apis:
            ctx = MockContext(profile, api, state)
            for host in api.base_urls:
                prefix = api.mock_prefix(host)
                _, routes, _ = grouped.setdefault(prefix, (api.protocol.name, [], profile))
                routes.extend(handler(api.protocol.name)(ctx, host))
    protocol_at = protocol_lookup({p: proto for p, (proto, _, _) in grouped.items()})
    refusals = _refusals(protocol_at, config.seed)
    mounts: list[BaseRoute] = [
        Mount(prefix, app=faults.FaultMiddleware(
            # A Router, not a Starlette app: its misses and crashes must reach the outer app's
            # refusals and Shield, not a nested ServerErrorMiddleware's plain-text 500.
            Router(routes=routes), protocol=protocol,
            server=server_fault, seed=config.seed, shape=error_shape(profile),
            catalogue=profile.errors, runtime=lambda: state.runtime_fault))
        for prefix, (protocol, routes, profile) in sorted(grouped.items(), key=lambda kv: -len(kv[0]))
    ]

    async def health(request: Request) -> JSONResponse:
        worker = {"worker": config.worker} if config.worker else {}  # serve --workers N
        return JSONResponse({"status": "ok", "version": __version__, "providers": selected, **worker})

    async def provider_urls(request: Request) -> JSONResponse:
        root = config.public_url or str(request.base_url)
        return JSONResponse(base_urls(root, selected))

    async def webhook_log(request: Request) -> JSONResponse:
        return JSONResponse(list(state.webhooks))

    async def stored(request: Request) -> JSONResponse:
        kinds = ("jobs", "uploads", "sessions")
        return JSONResponse({"bytes": state.stored_bytes(), "providers": {
            name: {k: {"items": len(s), "bytes": s.bytes} for k, s in zip(kinds, p.stores,
                                                                          strict=True)}
            for name, p in state.partitions.items()}})

    journaled = [(api.mock_prefix(host), profile, api) for profile in profiles
                 for api in profile.apis for host in api.base_urls]
    # The APIs first: every request of a load test is theirs, and no API prefix can match the
    # /_harness/ paths, so the order changes no answer.
    app = App(routes=[*mounts, Route("/_harness/health", health),
                            Route("/_harness/providers", provider_urls),
                            Route("/_harness/webhooks", webhook_log),
                            Route("/_harness/state", stored),
                            *journaling.routes(state)],
                    middleware=[Middleware(Shield, protocol_at=protocol_at),
                                Middleware(journaling.Recorder, state=state, apis=journaled),
                                Middleware(AdvisoryMiddleware)],
                    exception_handlers=refusals)
    app.state.mock = state
    app.state.protocol_at = protocol_at  # the served mock answers unparseable requests with it
    edits = defects.parse(config.defects)
    if edits:  # only a deliberately broken mock pays for buffering every exchange
        app.add_middleware(defects.Rewrite, response=defects.combine(edits))
    return app
