"""The mock's routing: endpoints called without a wrapper of their own, no ServerErrorMiddleware.

What an endpoint raises must still reach the app's exception handlers (the mock's refusals and
its quiet 499 for a client gone mid-body), and what nobody handles must leave the app for the
outer middleware to answer (the Shield), not be swallowed or answered in plain text.
"""

from __future__ import annotations

import pytest
from starlette import routing
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.exceptions import ExceptionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.testclient import TestClient

from harness.mock.routing import App, Handlers, Mount, Route, Router


class Refused(Exception):
    pass


async def refused(request: Request) -> Response:
    raise Refused("no")


async def crashed(request: Request) -> Response:
    raise RuntimeError("boom")


async def echo(request: Request) -> Response:
    return PlainTextResponse(f"{request.scope['root_path']} {request.path_params['rest']!r}")


async def handled(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"handled {type(exc).__name__}", status_code=499)


def test_an_endpoints_exception_reaches_the_apps_handler() -> None:
    app = App(routes=[Route("/refused", refused, methods=["POST"])],
              exception_handlers={Refused: handled})
    answer = TestClient(app).post("/refused")
    assert (answer.status_code, answer.text) == (499, "handled Refused")


def test_an_unhandled_exception_leaves_the_app_for_the_outer_middleware() -> None:
    seen: list[str] = []

    class Outer:  # stands for the Shield: the first user middleware catches what nobody did
        def __init__(self, app: object) -> None:
            self.app = app

        async def __call__(self, scope: dict, receive: object, send: object) -> None:
            try:
                await self.app(scope, receive, send)  # type: ignore[operator]
            except RuntimeError as exc:
                seen.append(str(exc))
                await PlainTextResponse("shaped", status_code=500)(scope, receive, send)  # type: ignore[arg-type]

    app = App(routes=[Route("/crashed", crashed)], middleware=[Middleware(Outer)])
    answer = TestClient(app).get("/crashed")
    assert (answer.status_code, answer.text, seen) == (500, "shaped", ["boom"])
    with pytest.raises(RuntimeError, match="boom"):  # no ServerErrorMiddleware to answer it
        TestClient(App(routes=[Route("/crashed", crashed)])).get("/crashed")


def test_a_mount_routes_a_path_holding_a_newline() -> None:
    app = App(routes=[Mount("/api", app=App(routes=[Route("/{rest}", echo)]).router)])
    answer = TestClient(app).get("/api/x%0Ay")
    assert (answer.status_code, answer.text) == (200, "/api 'x\\ny'")


def test_a_sync_endpoint_or_an_error_handler_is_refused_when_built() -> None:
    def sync(request: Request) -> Response:
        return PlainTextResponse("")

    with pytest.raises(TypeError, match="/sync"):
        Route("/sync", sync)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="error handler"):
        App(routes=[], exception_handlers={Exception: handled}).build_middleware_stack()


def _named(name: str) -> object:
    async def endpoint(request: Request) -> Response:
        return PlainTextResponse(f"{name} {request.scope['route'].path} "
                                 f"{sorted(request.path_params.items())}")
    return endpoint


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/chat"), ("GET", "/chat"), ("GET", "/models"), ("HEAD", "/models"),
    ("GET", "/items/7"), ("GET", "/items/first"), ("GET", "/items/first/"), ("PUT", "/any"),
    ("GET", "/nowhere/else")])
def test_the_routers_dictionary_routes_as_starlettes_loop_does(method: str, path: str) -> None:
    """Same answers (status, endpoint, route, path parameters) from the same routes, which
    include a parameterless path shadowed by an earlier parameter route and a catch-all."""
    def routes() -> list[routing.BaseRoute]:
        return [Route("/chat", _named("chat"), methods=["POST"]),  # type: ignore[arg-type]
                Route("/models", _named("models"), methods=["GET"]),  # type: ignore[arg-type]
                Route("/items/{id}", _named("item"), methods=["GET"]),  # type: ignore[arg-type]
                Route("/items/first", _named("shadowed"), methods=["GET"]),  # type: ignore[arg-type]
                Route("/{rest:path}", _named("rest"), methods=["PUT"])]  # type: ignore[arg-type]

    ours, theirs = (TestClient(App(routes=[Mount("/v1", app=router)]))
                    for router in (Router(routes()), routing.Router(routes())))
    mine, plain = (c.request(method, f"/v1{path}", follow_redirects=False) for c in (ours, theirs))
    assert (mine.status_code, mine.text, mine.headers.get("allow")) == (
        plain.status_code, plain.text, plain.headers.get("allow"))


class Subtle(Refused):
    pass


async def teapot(request: Request) -> Response:
    raise HTTPException(418, "short and stout")


async def subtle(request: Request) -> Response:
    raise Subtle("found by its base class")


async def late(request: Request) -> Response:
    class Started(Response):
        async def __call__(self, scope: dict, receive: object, send: object) -> None:
            await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
            raise Refused("after the head")
    return Started()


def sync_handler(request: Request, exc: Exception) -> Response:
    return PlainTextResponse(f"sync {exc}", status_code=409)


@pytest.mark.parametrize("path", ["/teapot", "/subtle", "/refused", "/crashed", "/late"])
def test_handlers_answer_as_starlettes_exception_middleware_does(path: str) -> None:
    """Status handlers, handlers found along the exception's MRO, sync handlers, what nobody
    handles and what is handled after the head went out: the same outcome from both layers."""
    def outcome(layer: type) -> tuple[object, ...]:
        router = routing.Router([Route(p, e) for p, e in (
            ("/teapot", teapot), ("/subtle", subtle), ("/refused", refused),
            ("/crashed", crashed), ("/late", late))])
        app = layer(router, handlers={418: handled, Refused: sync_handler})
        try:
            answer = TestClient(app).get(path)
        except RuntimeError as exc:
            return ("raised", str(exc))
        return (answer.status_code, answer.text)

    ours = outcome(Handlers)
    assert ours == outcome(ExceptionMiddleware)
    assert ours == {"/teapot": (499, "handled HTTPException"),
                    "/subtle": (409, "sync found by its base class"),
                    "/refused": (409, "sync no"), "/crashed": ("raised", "boom"),
                    "/late": ("raised", "Caught handled exception, but response already started.")
                    }[path]


@pytest.mark.parametrize("path", ["/api/v1/chat", "/api/other", "/api/v1/", "/api/v1", "/api",
                                  "/api/", "/apix/y", "/health", "/nowhere", "/root/api/v1/chat"])
def test_the_apps_mounts_route_as_starlettes_loop_does(path: str) -> None:
    """The app's router takes a path under a leading mount's prefix straight to it, with the
    child scope (root path, path parameters, endpoint) that Starlette's loop would make."""
    async def scoped(request: Request) -> Response:
        s = request.scope
        return PlainTextResponse(f"{s['root_path']} {s.get('app_root_path')} {s['path_params']} "
                                 f"{s['endpoint'].__name__} {type(s['route']).__name__}")

    async def health(request: Request) -> Response:
        return PlainTextResponse("ok")

    def routes() -> list[routing.BaseRoute]:
        inner = [Route("/{rest:path}", scoped)]
        return [Mount("/api/v1", app=Router(inner)), Mount("/api", app=Router(inner)),
                Route("/health", health), Mount("/root", app=Router([
                    Mount("/api/v1", app=Router(inner))]))]

    class Plain(App):  # the same app on Starlette's own router
        def __init__(self) -> None:
            super().__init__(routes=routes())
            self.router = routing.Router(routes())

    ours, theirs = (TestClient(app, root_path="/srv") for app in (App(routes=routes()), Plain()))
    mine, plain = (c.get(path, follow_redirects=False) for c in (ours, theirs))
    assert (mine.status_code, mine.text, mine.headers.get("location")) == (
        plain.status_code, plain.text, plain.headers.get("location"))
