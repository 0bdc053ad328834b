"""The OpenAPI document schemathesis fuzzes, and the way back from its paths to our profiles.

:func:`document` is :func:`harness.openapi.build` as schemathesis should read it (each
``text/event-stream`` schema describes one event's framing, our stream checks judge the rest);
:func:`routes` maps every (method, document path) to the :class:`Route` it came from: the
profile, API and operation a case belongs to, and the path prefix the document puts in front of
the API's paths, so a generated case can be sent through the suite's own targets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness import openapi, providers


@dataclass(frozen=True, slots=True)
class Route:
    """Where one OpenAPI operation lives in a profile: the API, its operation, the path prefix
    (the mock prefix less ``/{provider}``) that the document puts in front of the API's paths."""

    profile: providers.Profile
    api: providers.Api
    op: providers.Operation
    prefix: str


# How schemathesis reads a 3.1 text/event-stream schema: as the schema of each parsed event.
SSE_EVENT: dict[str, Any] = {"type": "object", "required": ["data"],
                             "properties": {"data": {"type": "string"}, "event": {"type": "string"},
                                            "id": {"type": "string"}}}


def document(provider: str) -> dict[str, Any]:
    """:func:`openapi.build` as schemathesis should read it: each ``text/event-stream`` schema
    describes one event's framing (its ``data`` JSON is our stream checks' business, which
    know ``[DONE]`` and mid-stream errors); everything else unchanged."""
    doc = openapi.build(provider)
    for item in doc["paths"].values():
        for op in item.values():
            for response in op.get("responses", {}).values():
                stream = response.get("content", {}).get("text/event-stream")
                if stream is not None:
                    stream["schema"] = SSE_EVENT
    return doc


def routes(profile: providers.Profile) -> dict[tuple[str, str], Route]:
    """(METHOD, document path) -> :class:`Route`, mirroring how :func:`openapi.build` keys paths."""
    out: dict[tuple[str, str], Route] = {}
    for api in profile.apis:
        for op in api.operations():
            if op.endpoint.method not in openapi.HTTP_METHODS:
                continue  # WebSocket APIs are not in the document
            prefix = api.mock_prefix(op.endpoint.host).removeprefix(f"/{profile.name}")
            out.setdefault((op.endpoint.method, prefix + op.path), Route(profile, api, op, prefix))
    return out
