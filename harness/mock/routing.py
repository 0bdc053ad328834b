"""The mock's routing: Starlette's, less the layers the mock's own middleware already provides.

Every request of a load test crosses each layer, so a layer that can never act is not free
(measured with valgrind, each of the two below cost ~3 % of a small chat's instructions).
Starlette puts its ``ServerErrorMiddleware`` outermost; the mock's
:class:`~harness.mock.shield.Shield` sits right inside it and catches every exception first,
so :class:`App` leaves it out. Starlette's ``Route`` wraps each endpoint in a second exception
catcher holding the same handlers as the app's ``ExceptionMiddleware`` (the mock registers
none per route), so an exception the endpoint raises (a client gone mid-body) reaches the same
handler either way; :class:`Route` calls the endpoint directly. :class:`Handlers` is the app's
``ExceptionMiddleware`` without what it made per request for the rare exception (a
``Request``, two closures, a coroutine around each ``send``: ~3 % of a small chat).
:class:`Router` finds a parameterless route by a dictionary lookup, and the app's router a
path under one of its leading mounts by its prefix, before trying each route's regex in turn;
:class:`Mount` matches a path holding a decoded newline, which Starlette's ``.*`` would not.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Collection, Sequence
from typing import Any

from starlette import routing
from starlette._utils import get_route_path, is_async_callable
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class Route(routing.Route):
    """An HTTP route whose endpoint (async, taking the request) is called with no wrapper of
    its own: what it raises goes to the app's ``ExceptionMiddleware``."""

    def __init__(self, path: str, endpoint: Callable[[Request], Any], *,
                 methods: Collection[str] | None = None) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            raise TypeError(f"route {path}: the mock's endpoints are async functions")
        super().__init__(path, endpoint, methods=methods)

        async def app(scope: Scope, receive: Receive, send: Send) -> None:
            response = await endpoint(Request(scope, receive, send))
            await response(scope, receive, send)

        self.app = app


class Router(routing.Router):
    """Starlette's router with a dictionary in front of its loop: a path that is exactly one
    route's (no parameters, and no route before it matches that path) goes straight to that
    route with the scope the loop would have given it; anything else takes the loop."""

    def __init__(self, routes: Sequence[routing.BaseRoute], lifespan: Any = None) -> None:
        super().__init__(routes=routes, lifespan=lifespan)
        self._exact: dict[str, routing.Route] = {}
        for i, route in enumerate(self.routes):
            if (isinstance(route, routing.Route) and not route.param_convertors
                    and not any(_matches_path(r, route.path) for r in self.routes[:i])):
                self._exact.setdefault(route.path, route)
        # The mounts ahead of every other route (the app's API prefixes): the loop would try
        # them first, in this order, and a path under one's prefix is that mount's.
        self._mounts: list[tuple[str, Mount]] = []
        for route in self.routes:
            if not isinstance(route, Mount) or set(route.param_convertors) != {"path"}:
                break
            self._mounts.append((f"{route.path}/", route))

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await super().app(scope, receive, send)  # lifespan
            return
        path = get_route_path(scope)
        route = self._exact.get(path) if scope["type"] == "http" else None
        if route is None:
            await self._mounted(scope, receive, send, path)
            return
        if route.methods is not None and scope["method"] not in route.methods:
            await super().app(scope, receive, send)  # a 405: the loop's
            return
        scope.setdefault("router", self)
        scope["route"], scope["endpoint"] = route, route.endpoint
        scope["path_params"] = dict(scope.get("path_params", {}))
        await route.handle(scope, receive, send)

    async def _mounted(self, scope: Scope, receive: Receive, send: Send, path: str) -> None:
        """The first mount whose prefix ``path`` is under, with the child scope its
        ``matches`` would make (no regex, no match dictionary); else the loop."""
        for prefix, mount in self._mounts:
            if path.startswith(prefix):
                scope.setdefault("router", self)
                root_path = scope.get("root_path", "")
                scope["route"] = mount
                scope.update(path_params=dict(scope.get("path_params", {})),
                             app_root_path=scope.get("app_root_path", root_path),
                             root_path=root_path + prefix[:-1], endpoint=mount.app)
                await mount.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)  # a 404, a parameter: the loop's


def _matches_path(route: routing.BaseRoute, path: str) -> bool:
    regex = getattr(route, "path_regex", None)
    return regex is None or regex.match(path) is not None  # unknown kinds: assume they do


class Mount(routing.Mount):
    """A mount whose prefix also matches paths holding a decoded newline: Starlette's ``.*``
    stops at one, so such a path (a fuzzed request id) would miss every route of its API."""

    def __init__(self, path: str, app: ASGIApp) -> None:
        super().__init__(path, app=app)
        self.path_regex = re.compile(self.path_regex.pattern, re.DOTALL)


class Handlers(ExceptionMiddleware):
    """Starlette's ``ExceptionMiddleware`` (the same handlers, found the same way) at less cost
    per HTTP request: Starlette's makes a ``Request`` and two closures for every request and
    wraps ``send`` in a coroutine, one more frame per message; this makes the ``Request`` only
    for a handler, and watches ``send`` with a plain function."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        scope["starlette.exception_handlers"] = (self._exception_handlers, self._status_handlers)
        started = False

        def watched(message: Message) -> Any:
            # Not a coroutine: the caller awaits what send returns, one frame fewer per message.
            nonlocal started
            started = started or message["type"] == "http.response.start"
            return send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            handler = self._status_handlers.get(exc.status_code) if isinstance(
                exc, HTTPException) else None
            handler = handler or next((self._exception_handlers[c] for c in type(exc).__mro__
                                       if c in self._exception_handlers), None)
            if handler is None:
                raise
            if started:
                raise RuntimeError("Caught handled exception, but response already started.") from exc
            request = Request(scope, receive, send)
            handle: Any = handler  # Starlette types handlers for a Request or a WebSocket
            response = await (handle(request, exc) if is_async_callable(handle)
                              else run_in_threadpool(handle, request, exc))
            if response is not None:
                await response(scope, receive, watched)
            exc.__traceback__ = None  # a reused exception would pile up tracebacks


class App(Starlette):
    """Starlette without its outermost ``ServerErrorMiddleware`` (the first user middleware
    must catch every exception: the mock's is :class:`~harness.mock.shield.Shield`), with
    :class:`Handlers` for its ``ExceptionMiddleware`` and :class:`Router` for its router."""

    def __init__(self, *, routes: Sequence[routing.BaseRoute] | None = None, lifespan: Any = None,
                 **settings: Any) -> None:
        super().__init__(routes=routes, lifespan=lifespan, **settings)
        self.router = Router(routes or [], lifespan=lifespan)

    def build_middleware_stack(self) -> ASGIApp:
        if getattr(self, "max_body_size", None) is not None or any(
                k in (500, Exception) for k in self.exception_handlers):
            raise ValueError("a body limit or an error handler needs a layer App leaves out")
        stack: list[Middleware] = [
            *self.user_middleware,
            Middleware(Handlers, handlers=self.exception_handlers, debug=self.debug)]
        app: ASGIApp = self.router
        for cls, args, kwargs in reversed(stack):
            app = cls(app, *args, **kwargs)
        return app
