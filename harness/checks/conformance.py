"""Exchange checks that apply to every answer: schema, documented status, content type, error shape.

These run on every exchange any scenario makes, so a provider that answers a media-limit probe
with an undocumented status or a WaveSpeed error outside its envelope is caught even though no
scenario looked for it. Findings point into the schema the protocol promises for that status.
"""

from __future__ import annotations

from collections.abc import Iterator

import jsonschema

from harness import schemas
from harness.checks.exchange import Exchange
from harness.checks.registry import CheckContext, check
from harness.findings import Finding, Severity

JSON_TYPES = ("application/json",)


def _validate(ctx: CheckContext, ex: Exchange, schema: str, instance: object,
              where: str = "") -> Iterator[Finding]:
    for error in schemas.validator(schema, ctx.profile.overlay(schema)).iter_errors(instance):
        pointer = "/" + "/".join(map(str, error.absolute_path)) if error.absolute_path else ""
        schema_ptr = "/" + "/".join(map(str, error.relative_schema_path))
        message = error.message if len(error.message) < 300 else error.message[:300] + "..."
        yield ctx.finding(f"{where}{pointer or 'body'}: {message}", exchange=ex, schema=schema,
                          schema_pointer=schema_ptr, instance_pointer=pointer)


@check(capability="errors", kind="exchange")
def response_schema_conformance(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """The body (and each stream event) validates against the schema promised for its status."""
    if ex.streamed and ex.status == 200 and ex.stream_schema:
        for i, event in enumerate(ex.events):
            if event.data.strip() == "[DONE]":
                continue
            try:
                payload = event.json()
            except ValueError:
                yield ctx.finding(f"stream event {i} is not JSON: {event.data[:80]!r}", exchange=ex)
                continue
            # A top-level error inside a stream is the protocol's mid-stream error, not a chunk.
            if isinstance(payload, dict) and "error" in payload and "choices" not in payload \
                    and ex.protocol == "openai-chat":
                continue
            yield from _validate(ctx, ex, ex.stream_schema, payload, f"event {i} ")
        return
    if ex.response_schema is None or ex.status >= 400:
        return  # error bodies belong to error-shape
    body = ex.json()
    if body is None:
        return  # the content-type check reports non-JSON bodies
    yield from _validate(ctx, ex, ex.response_schema, body)


@check(capability="errors", kind="exchange")
def documented_status(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """The status code is one the protocol documents for this endpoint."""
    if ex.documented and ex.status not in ex.documented:
        yield ctx.finding(f"status {ex.status} is not documented for {ex.endpoint} "
                          f"(documented: {', '.join(map(str, ex.documented))})", exchange=ex)


@check(capability="errors", kind="exchange")
def content_type(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """JSON answers say application/json; streams say text/event-stream."""
    expected = "text/event-stream" if ex.streamed and ex.status == 200 else "application/json"
    if ex.body and ex.content_type != expected:
        yield ctx.finding(f"content-type is {ex.content_type or '(none)'!r}, expected {expected!r}",
                          exchange=ex)


@check(capability="errors", kind="exchange")
def error_shape(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """Every 4xx/5xx carries the provider's own error body, and never a 500 for bad input."""
    if ex.status < 400:
        return
    error_schema = ex.response_schema or ctx.api.protocol.error
    body = ex.json()
    if body is None:
        yield ctx.finding(f"HTTP {ex.status} with a non-JSON body; the protocol's error shape "
                          f"is {error_schema}", exchange=ex, schema=error_schema)
        return
    documented = {(int(e["status"]), e["message"]) for e in ctx.profile.errors.values()
                  if e.get("body") == "message"}  # a body the provider's document prints
    if isinstance(body, dict) and set(body) == {"message"} and (ex.status, body["message"]) in \
            documented:
        return
    validator = schemas.validator(error_schema, ctx.profile.overlay(error_schema)) \
        if error_schema else None
    if validator is not None and not validator.is_valid(body):
        best = jsonschema.exceptions.best_match(validator.iter_errors(body))
        yield ctx.finding(f"HTTP {ex.status} error body is not in the provider's shape "
                          f"({error_schema}): {best.message if best else ''}", exchange=ex,
                          schema=error_schema)


@check(capability="errors", kind="exchange")
def advisory_limits(ex: Exchange, ctx: CheckContext) -> Iterator[Finding]:
    """A request the reference mock accepted leans on a limit no document states (warning).

    The mock names such limits in ``x-harness-advisory`` (harness.mock.advisory); a client
    that relies on them may meet a provider that enforces them, or one that does not."""
    advisory = ex.headers.get("x-harness-advisory")
    if advisory and ex.status < 400:
        yield ctx.finding(f"accepted, but past an advisory limit: {advisory}",
                          severity=Severity.WARNING, exchange=ex)
