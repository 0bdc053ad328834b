"""Errors in each protocol's own shape, so clients fail against the mock as they would live.

OpenAI-compatible APIs answer ``{"error": {message, type, param, code}}`` with ``x-request-id``;
Anthropic answers ``{"type": "error", "error": {type, message}, "request_id"}`` with a
``request-id`` header; WaveSpeed wraps everything in its ``{code, message, data}`` envelope; fal
answers FastAPI-style ``{"detail": ...}``. :func:`error_response` is the one place that knows
these shapes; handlers only say which status, which message and which field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse

if TYPE_CHECKING:
    from harness.providers import Profile

_OPENAI_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                 403: "permission_denied_error", 404: "not_found_error",
                 413: "request_too_large", 422: "invalid_request_error",
                 431: "invalid_request_error",
                 429: "rate_limit_exceeded", 500: "server_error", 503: "service_unavailable"}
_ANTHROPIC_TYPES = {400: "invalid_request_error", 401: "authentication_error",
                    403: "permission_error", 404: "not_found_error", 413: "request_too_large",
                    431: "invalid_request_error",
                    429: "rate_limit_error", 500: "api_error", 503: "api_error",
                    529: "overloaded_error"}
_FAL_TYPES = {401: "authentication_error", 404: "not_found", 413: "request_too_large",
              431: "request_too_large",
              422: "validation_error", 429: "rate_limited", 500: "internal_error",
              503: "service_unavailable"}


def fastapi_loc(param: str) -> list[str | int]:
    """FastAPI's ``loc`` for a field: ``image_urls.0`` -> ["body", "image_urls", 0]; a
    ``query:``/``header:``/``path:`` prefix names where a non-body parameter sits."""
    where, sep, rest = param.partition(":")
    if not sep or where not in ("query", "header", "path"):
        where, rest = "body", param
    parts = [p for p in rest.replace("/", ".").split(".") if p]
    return [where, *(int(p) if p.isdigit() else p for p in parts)]


def error_shape(profile: Profile) -> str:
    """The shape a profile's errors take: its server flavour's (``object``: SGLang's top-level
    error object; ``status-code``: the OpenAI shape with the HTTP status as ``code``, as
    llama.cpp and vLLM answer), else the protocol's own."""
    flavour = profile.served_as
    return "protocol" if flavour is None or flavour.error_body == "openai" else flavour.error_body


def answer_shape(asked: str, own: str) -> str:
    """The shape a catalogue answer or an injected fault is sent in: a document's own body
    (``message``) as asked; the protocol's (``protocol``) as the API answers, ``own`` being its
    :func:`error_shape` (a server flavour's where it has one)."""
    return own if asked == "protocol" else asked


def error_body(protocol: str, status: int, message: str, *, param: str | None = None,
               request_id: str = "", shape: str = "protocol") -> dict[str, Any]:
    """The JSON body ``protocol`` sends for an error of ``status``; ``shape="message"`` is a
    document's own ``{"message": ...}`` body (MiMo's quota error, harness.mock.catalogue),
    ``object`` and ``status-code`` a local server flavour's (:func:`error_shape`)."""
    if shape == "message":
        return {"message": message}
    # The OpenAI error object; a local server flavour writes the HTTP status as its code, nested
    # ("status-code") or at the top level beside "object": "error" ("object").
    openai = {"message": message, "type": _OPENAI_TYPES.get(status, "api_error"), "param": param,
              "code": status if shape in ("object", "status-code") else None}
    if shape == "object":
        return {"object": "error", **openai}
    if shape == "status-code":
        return {"error": openai}
    if protocol == "anthropic-messages":
        return {"type": "error", "error": {"type": _ANTHROPIC_TYPES.get(status, "api_error"),
                                           "message": message}, "request_id": request_id}
    if protocol == "wavespeed-v3":
        return {"code": status, "message": message, "data": None}
    if protocol == "fal-queue":
        if status == 422 and param is not None:
            return {"detail": [{"loc": fastapi_loc(param), "msg": message, "type": "value_error"}]}
        return {"detail": message}
    return {"error": openai}


def error_response(protocol: str, status: int, message: str, *, param: str | None = None,
                   request_id: str = "", headers: dict[str, str] | None = None,
                   shape: str = "protocol") -> JSONResponse:
    """A complete error response: body, status and the protocol's request-id header."""
    out = dict(headers or {})
    if request_id:
        out["request-id" if protocol == "anthropic-messages" else "x-request-id"] = request_id
    if protocol == "fal-queue":  # a handler may name a more precise type (client_cancelled)
        out.setdefault("x-fal-error-type", _FAL_TYPES.get(status, "request_error"))
    body = error_body(protocol, status, message, param=param, request_id=request_id, shape=shape)
    return JSONResponse(body, status_code=status, headers=out)
