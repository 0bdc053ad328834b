"""The OpenAPI document schemathesis fuzzes, and the way back from its paths to our profiles.

:func:`document` is :func:`harness.openapi.build`'s document (each ``text/event-stream``
schema already describes one event as schemathesis reads it);
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


def document(provider: str) -> dict[str, Any]:
    """The document schemathesis fuzzes: :func:`openapi.build`'s (its ``text/event-stream``
    schemas describe each event as schemathesis reads them), less the operations behind URLs
    the API hands out: a presigned upload URL cannot be called with made-up signatures."""
    return openapi.build(provider, handed_out=False)


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
