"""fal's multipart CDN upload, as fal-client 1.x drives it for files over 100 MB.

fal-client's ``MultipartUpload`` (read from its source; providers.md names only the one-shot
upload) makes three kinds of call, each with the storage token as Bearer: ``POST
{cdn}/files/upload/multipart`` with the file's ``Content-Type`` and ``X-Fal-File-Name`` answers
``{access_url, uploadId}``; each part is ``PUT {access_url}/multipart/{uploadId}/{n}`` and must
answer an ``ETag`` (the SDK reads it); ``POST {access_url}/multipart/{uploadId}/complete`` with
``{"parts": [{partNumber, etag}]}`` joins them, after which the access URL serves the file. The
mock keeps each part in the provider's upload store (its byte budget and expiry apply), joins
the parts the client lists in partNumber order, and refuses a listed part it never
received or whose etag differs (400), or a whole file over the upload limit (413).
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from harness.mock import blobs, generate
from harness.mock.context import MockContext
from harness.mock.routing import Route
from harness.mock.validation import short

Authorise = Callable[[Request], Response | None]


def routes(ctx: MockContext, authorise: Authorise) -> list[BaseRoute]:
    """The three multipart routes (before the download route, whose path they extend)."""

    def guarded(handler: Callable[[Request], Awaitable[Response]]) -> Callable[..., Any]:
        async def endpoint(request: Request) -> Response:
            return authorise(request) or await handler(request)
        return endpoint

    tickets = itertools.count(1)

    async def create(request: Request) -> Response:
        name = blobs.file_name(request.headers.get("x-fal-file-name"), "upload.bin")
        blob_id = generate.digest(*ctx.config.unique("fal-multipart", ctx.config.seed, name,
                                                     next(tickets)))[:32]
        blobs.save(ctx, _meta(blob_id), (request.headers.get("content-type") or "").encode())
        return JSONResponse({"access_url": f"{ctx.base_url(request, 'cdn')}/files/{blob_id}/{name}",
                             "uploadId": _upload_id(ctx, blob_id)})

    async def part(request: Request) -> Response:
        blob_id, number = request.path_params["blob_id"], request.path_params["part"]
        if (refused := _unknown(ctx, request, blob_id)) is not None:
            return refused
        content_type = (blobs.stored(ctx, _meta(blob_id)) or b"").decode() or None
        limit = blobs.limit_for(ctx, content_type)
        data = await blobs.read_limited(request, limit)
        if data is None:
            return ctx.error(413, f"part {number} is over the {limit}-byte upload limit")
        blobs.save(ctx, _part(blob_id, number), data)
        return Response(status_code=200, headers={"ETag": _etag(data)})

    async def complete(request: Request) -> Response:
        blob_id = request.path_params["blob_id"]
        if (refused := _unknown(ctx, request, blob_id)) is not None:
            return refused
        body = await ctx.read_json(request)
        if isinstance(body, Response):
            return body
        listed = body.get("parts") if isinstance(body, dict) else None
        if not isinstance(listed, list) or not listed:
            return ctx.error(400, "parts: expected a non-empty list of {partNumber, etag}", "parts")
        chunks: list[bytes] = []
        # fal-client lists parts as their PUTs finish (threads), so the file is joined by
        # partNumber, not in the order listed.
        listed = sorted(listed, key=lambda e: _number(e.get("partNumber") if isinstance(e, dict) else None))
        for i, entry in enumerate(listed):
            number = entry.get("partNumber") if isinstance(entry, dict) else None
            data = blobs.stored(ctx, _part(blob_id, str(number)))
            if data is None or entry.get("etag") != _etag(data):
                return ctx.error(400, f"parts/{i}: part {short(str(number))} was not uploaded "
                                      "or its etag differs", f"parts/{i}")
            chunks.append(data)
        whole = b"".join(chunks)
        content_type = (blobs.stored(ctx, _meta(blob_id)) or b"").decode() or None
        if len(whole) > (limit := blobs.limit_for(ctx, content_type)):
            return ctx.error(413, f"file is over the {limit}-byte limit")
        blobs.advise_size(ctx, content_type, len(whole))
        blobs.save(ctx, blob_id, whole)
        for entry in listed:
            blobs.drop(ctx, _part(blob_id, str(entry["partNumber"])))
        return JSONResponse({"access_url": str(request.url).rsplit("/multipart/", 1)[0]})

    return [Route("/files/upload/multipart", guarded(create), methods=["POST"]),
            Route("/files/{blob_id}/{name}/multipart/{upload_id}/complete", guarded(complete),
                  methods=["POST"]),
            Route("/files/{blob_id}/{name}/multipart/{upload_id}/{part}", guarded(part),
                  methods=["PUT"])]


def _unknown(ctx: MockContext, request: Request, blob_id: str) -> Response | None:
    """404 for an upload id that is not this file's, or a multipart upload never created."""
    if (request.path_params["upload_id"] != _upload_id(ctx, blob_id)
            or blobs.stored(ctx, _meta(blob_id)) is None):
        return ctx.error(404, f"multipart upload {short(request.path_params['upload_id'])} "
                              "not found (never created, or expired)")
    return None


def _number(raw: Any) -> int:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else 0


def _upload_id(ctx: MockContext, blob_id: str) -> str:
    return generate.digest("fal-multipart-id", ctx.config.seed, blob_id)[:24]


def _meta(blob_id: str) -> str:
    return f"{blob_id}.multipart"


def _part(blob_id: str, number: str) -> str:
    return f"{blob_id}.part{number}"


def _etag(data: bytes) -> str:
    return f'"{hashlib.md5(data, usedforsecurity=False).hexdigest()}"'  # S3's form of an ETag
