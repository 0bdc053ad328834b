"""OpenAPI 3.1 documents assembled from the provider profiles and the JSON Schemas.

One document per provider that speaks HTTP (the realtime WebSocket API cannot be described in
OpenAPI and is listed under ``x-websocket`` instead). Path keys follow the reference mock's
layout with the ``/{provider}`` prefix removed: ``[/{host role}]{documented base path}{path}``.
That one layout serves both audiences: with the mock served at ``http://host:port``, the server
is ``http://host:port/{provider}``; against a real single-host provider the server is the
documented origin, because the documented base path (``/v1``, ``/anthropic``) is already part of
every key. fal is the exception: its queue and sync-run hosts both take ``POST /{app}``, so one
document can only tell them apart by the role prefix (``/queue/...``, ``/run/...``, ``/rest/...``,
``/cdn/...``); its real hosts are listed per prefix in ``x-hosts`` for a routing transport, and
its default server is the mock. Each schema goes once into ``components/schemas`` (named
``openai-chat.request``), inlined by :func:`harness.schemas.resolved` with the provider's
dialect overlay applied, and operations point at it with ``$ref``.
"""

from __future__ import annotations

import http
import json
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from harness import __version__, providers, schemas
from harness.errors import SchemaError, UsageError

HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
MOCK_ROOT = "http://127.0.0.1:8000"
# Keys whose value maps names to schemas, and keys whose value is data, not a schema.
_NAME_MAPS = frozenset({"properties", "patternProperties", "definitions", "$defs"})
_DATA_KEYS = frozenset({"enum", "const", "default", "examples", "x-source"})


def component_name(schema: str) -> str:
    return schema.replace("/", ".")


def _ref(schema: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{component_name(schema)}"}


def _clean(node: Any, names: bool = False) -> Any:
    """Drop ``$id``/``$schema`` anywhere (inlined whole files bring their own) from a schema."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    if names:
        return {k: _clean(v) for k, v in node.items()}
    return {k: v if k in _DATA_KEYS else _clean(v, k in _NAME_MAPS)
            for k, v in node.items() if k not in ("$id", "$schema")}


def _phrase(code: int) -> str:
    try:
        return http.HTTPStatus(code).phrase
    except ValueError:
        return {529: "Overloaded"}.get(code, "Error")


# Credentials other than the API's key (an endpoint's ``wire.auth``).
_OTHER_AUTH = {"storage-token": {"type": "http", "scheme": "bearer", "description":
                                 "the token POST /rest/storage/auth/token answers (fal's CDN)"}}


def _security(api: providers.Api, schemes: dict[str, Any],
              auth: str = "api") -> list[dict[str, list[str]]]:
    """Register the API's auth styles as security schemes; any one of them is accepted. A
    presigned URL takes no credential (an empty list); another credential is its own scheme."""
    if auth == "presigned":
        return []
    if auth in _OTHER_AUTH:
        schemes.setdefault(auth, _OTHER_AUTH[auth])
        return [{auth: []}]
    out: list[dict[str, list[str]]] = []
    for style in api.auth.styles:
        shown = f"`{style.header}: {style.prefix}${api.auth.env}`"
        if style.header.lower() == "authorization" and style.prefix.strip().lower() == "bearer":
            name, scheme = "bearer", {"type": "http", "scheme": "bearer"}
        else:
            prefix = style.prefix.strip().lower()
            name = style.header.lower() + (f"-{prefix}" if prefix else "")
            scheme = {"type": "apiKey", "in": "header", "name": style.header}
        schemes.setdefault(name, {**scheme, "description": shown})
        out.append({name: []})
    return [*out, {}] if api.auth.optional else out


def _parameters(api: providers.Api, key: str, wire: Any) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
        for name in re.findall(r"{(\w+)}", key)]
    if api.auth.versions:  # the anthropic SDKs always send it; the mock accepts its absence
        params.append({"name": "anthropic-version", "in": "header", "required": False,
                       "schema": {"type": "string", "enum": list(api.auth.versions)}})
    return params + [dict(p) for p in (*wire.get("query", ()), *wire.get("headers", ()))]


def _response(code: int, schema: str, used: set[str]) -> dict[str, Any]:
    """One documented answer: a JSON schema, or the bytes of a file ("binary"), or "empty"."""
    if schema == "empty":
        return {"description": _phrase(code)}
    if schema == "binary":
        return {"description": _phrase(code), "content": {"*/*": {"schema": {}}}}
    used.add(schema)
    return {"description": _phrase(code), "content": {"application/json": {"schema": _ref(schema)}}}


def _operation(op: providers.Operation, key: str, used: set[str],
               schemes: dict[str, Any]) -> dict[str, Any]:
    ep = op.endpoint
    out: dict[str, Any] = {
        "operationId": re.sub(r"[^A-Za-z0-9_.-]", "_", f"{op.api.protocol.name}.{op.key}"),
        "summary": f"{op.api.protocol.title}: {ep.name}" + (f" ({op.model.id})" if op.model else ""),
        "tags": [op.api.protocol.name],
    }
    if params := _parameters(op.api, key, ep.wire):
        out["parameters"] = params
    if op.request:
        used.add(op.request)
        out["requestBody"] = {"required": True,
                              "content": {"application/json": {"schema": _ref(op.request)}}}
    elif "body" in ep.wire:  # what the SDKs send where no schema of ours describes it
        out["requestBody"] = {"required": ep.wire.get("body_required", True), "content": {
            media: {"schema": dict(schema)} for media, schema in ep.wire["body"].items()}}
    responses = {str(code): _response(code, schema, used)
                 for code, schema in sorted(ep.responses.items())}
    if ep.stream and "200" in responses:
        used.add(ep.stream)
        if op.api.protocol.error:
            used.add(op.api.protocol.error)
        responses["200"]["description"] += (
            f"; with `stream: true` a text/event-stream whose events each carry one "
            f"{component_name(ep.stream)} as their data")
        responses["200"]["content"]["text/event-stream"] = {
            "schema": sse_event(op.api.protocol.name, ep.stream, op.api.protocol.error),
            "x-event-schema": _ref(ep.stream)}
    out["responses"] = responses
    out["security"] = _security(op.api, schemes, ep.wire.get("auth", "api"))
    source = (op.model.source if op.model else None) or ep.source
    if source:
        out["x-source"] = source.to_dict()
    return out


# The data a stream ends with that is not JSON (providers.md §5: the openai SDK waits for it).
STREAM_END = {"openai-chat": "[DONE]"}


def sse_event(protocol: str, stream: str, error: str | None) -> dict[str, Any]:
    """The schema of one server-sent event, as OpenAPI 3.1 tools read a ``text/event-stream``
    schema (schemathesis parses the stream and validates each ``{data, event, id, retry}``):
    its ``data`` is JSON (``contentMediaType``) holding one stream event, or a mid-stream error
    in the protocol's error shape, or the protocol's end marker. Validators that do not parse
    the stream (Prism's proxy checks the whole body as one string) meet the second branch, the
    stream as text: they cannot judge its events either way, and must not call it invalid."""
    data: list[dict[str, Any]] = [{"type": "string", "contentMediaType": "application/json",
                                   "contentSchema": _ref(stream)}]
    if error is not None:
        data.append({"type": "string", "contentMediaType": "application/json",
                     "contentSchema": _ref(error)})
    if protocol in STREAM_END:
        data.insert(0, {"const": STREAM_END[protocol]})
    event = {"type": "object", "required": ["data"], "properties": {
        "data": data[0] if len(data) == 1 else {"anyOf": data}, "event": {"type": "string"},
        "id": {"type": "string"}, "retry": {"type": "integer", "minimum": 0}}}
    return {"anyOf": [event, {"type": "string", "description": "the whole stream, as text"}]}


def _servers(profile: providers.Profile, apis: list[providers.Api],
             server: str | None) -> list[dict[str, Any]]:
    if server:
        return [{"url": server.rstrip("/"), "description": "given on the command line"}]
    mock = {"url": "{mock}/" + profile.name,
            "description": "the reference mock (vlm-harness serve), provider-prefixed",
            "variables": {"mock": {"default": MOCK_ROOT, "description": "the mock's root URL"}}}
    hosts = {host for api in apis for host in api.base_urls}
    origins = {"{0.scheme}://{0.netloc}".format(urlsplit(api.base_urls["default"]))
               for api in apis if "default" in api.base_urls}
    if hosts != {"default"} or len(origins) != 1:
        return [mock]  # several hosts (fal): only the role-prefixed mock layout fits one document
    return [{"url": origins.pop(), "description": f"{profile.title}, as documented"}, mock]


def build(provider: str, server: str | None = None, handed_out: bool = True,
          flavour: str | None = None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``provider`` (a dict ready for ``json.dumps``); with
    ``handed_out`` (the default) also the operations behind the upload and download URLs the
    API's answers hand out (``urls`` in the protocol), which only make sense with those URLs;
    ``flavour``: the provider as that server program speaks it (``--local-flavour``)."""
    profile = providers.select(provider, flavour)[0] if flavour else providers.get(provider)
    apis = [a for a in profile.apis if any(e.method in HTTP_METHODS for e in a.protocol.endpoints)]
    if not apis:
        raise UsageError(f"{provider} has no HTTP API to describe in OpenAPI")
    paths: dict[str, dict[str, Any]] = {}
    used: set[str] = set()
    schemes: dict[str, Any] = {}
    websocket: list[dict[str, Any]] = []
    for api in profile.apis:
        urls = api.protocol.urls if handed_out else ()
        for op in [*api.operations(), *(providers.Operation(api, ep, None, ep.path, ep.request)
                                        for ep in urls)]:
            if op.endpoint.method not in HTTP_METHODS:
                websocket.append(_websocket(api, op))
                continue
            key = api.mock_prefix(op.endpoint.host).removeprefix(f"/{provider}") + op.path
            # fal's status/result/cancel URLs drop the app's sub-path: both apps share them.
            item = paths.setdefault(key, {})
            item.setdefault(op.endpoint.method.lower(), _operation(op, key, used, schemes))
            if op.endpoint in urls and not server:  # only the mock serves them at this path
                item["servers"] = [_servers(profile, apis, None)[-1]]
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": f"{profile.title}: contract", "version": __version__,
                 "description": _description(profile, apis, websocket)},
        "servers": _servers(profile, apis, server),
        "paths": paths,
        "components": {
            "schemas": {component_name(n): _clean(schemas.resolved(n, profile.overlay(n)))
                        for n in sorted(used)},
            "securitySchemes": schemes},
    }
    if hosts := {api.mock_prefix(h).removeprefix(f"/{provider}"): url
                 for api in apis for h, url in api.base_urls.items() if h != "default"}:
        doc["x-hosts"] = hosts
    if websocket:
        doc["x-websocket"] = websocket
    return doc


def _websocket(api: providers.Api, op: providers.Operation) -> dict[str, Any]:
    return {"protocol": api.protocol.name, "url": api.base_urls["default"].rstrip("/") + op.path,
            "mock_path": api.mock_prefix() + op.path,
            "revisions": {r.name: {"client": r.client, "server": r.server, "modes": list(r.modes),
                                   "default_mode": r.default_mode}
                          for r in api.protocol.revisions.values()}}


def _description(profile: providers.Profile, apis: list[providers.Api],
                 websocket: list[dict[str, Any]]) -> str:
    lines = [f"Generated by vlm-contract-harness from the {profile.name} profile and the "
             "project's JSON Schemas (each carries its x-source). Protocols: "
             + ", ".join(a.protocol.title for a in apis) + "."]
    if any(h != "default" for a in apis for h in a.base_urls):
        lines.append("Paths carry the host role (/queue, /run, ...): serve them from the mock, "
                     "or route each prefix to its real host as listed in x-hosts.")
    if websocket:
        lines.append("The WebSocket API (" + ", ".join(w["url"] for w in websocket)
                     + ") cannot be described in OpenAPI; see x-websocket.")
    return " ".join(lines)


def command(provider: str, output: Path | None, server: str | None,
            flavour: str | None = None) -> int:
    """The body of ``vlm-harness openapi``: build, validate, write (stdout when no ``output``)."""
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

    if server is not None and urlsplit(server).scheme not in ("http", "https"):
        raise UsageError(f"--server {server!r}: expected an http(s) URL such as "
                         "http://127.0.0.1:8000/wavespeed")
    doc = build(provider, server, flavour=flavour)
    try:
        validate(doc)
    except OpenAPIValidationError as exc:  # our bug, not the user's: say so plainly
        raise SchemaError(f"the generated OpenAPI document of {provider} is invalid: {exc}") from exc
    text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    return 0
