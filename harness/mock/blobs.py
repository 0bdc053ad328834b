"""Uploaded files for the mock's storage flows (WaveSpeed media uploads, fal's CDN).

Both providers let a client upload bytes and then hand out a public URL for them; the mock
keeps the bytes in its provider's bounded ``ctx.part.uploads`` store and serves them back on
GET without auth, as a CDN would. Bodies are read incrementally and refused as soon as they
pass the limit, so a 1 GB upload never sits in memory. A file's size limit is the profile's
enforced limit for the kind its MIME type names (image, video), else the largest it has, else
the mock's own guard; an advisory limit it passes is reported, not refused. The content type
served back is sniffed from the bytes, else guessed from the file name.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from harness import media
from harness.mock.advisory import advise
from harness.mock.context import MockContext

# No document bounds fal's or WaveSpeed's uploads; the mock keeps them in memory, so it refuses
# past this size and says the limit is its own (a guard, not a provider's rule).
UPLOAD_GUARD = 1 << 30


def _limit(limits: Mapping[str, media.MediaLimits], content_type: str | None) -> int | None:
    kind = (content_type or "").split("/", 1)[0].strip().lower()
    if kind in limits:
        return limits[kind].max_bytes
    known = [lim.max_bytes for lim in limits.values() if lim.max_bytes is not None]
    return max(known) if known else None


def limit_for(ctx: MockContext, content_type: str | None) -> int:
    """The byte limit for a file of ``content_type``: the profile's enforced one, or the guard."""
    limit = _limit(ctx.profile.media.enforced(ctx.config.strict), content_type)
    return UPLOAD_GUARD if limit is None else min(limit, UPLOAD_GUARD)


def advise_size(ctx: MockContext, content_type: str | None, size: int) -> None:
    """Report a file over an advisory (unsourced) size limit that the mock still accepts."""
    soft = None if ctx.config.strict else _limit(ctx.profile.media.advisory, content_type)
    if soft is not None and size > soft:
        advise(f"file: {size} bytes is over {soft} (unsourced limit, not enforced)")


async def read_limited(request: Request, limit: int | None) -> bytes | None:
    """The request body, or None as soon as it grows past ``limit`` bytes."""
    declared = request.headers.get("content-length", "")
    if limit is not None and declared.isdigit() and int(declared) > limit:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _key(ctx: MockContext, blob_id: str) -> str:
    return f"blob:{blob_id}"


def file_name(raw: str | None, default: str) -> str:
    """The last path segment of a client's file name, URL-quoted (``default`` when empty): it
    becomes part of the URL the file is served at."""
    return quote((raw or default).replace("\\", "/").rsplit("/", 1)[-1] or default)


def save(ctx: MockContext, blob_id: str, data: bytes) -> None:
    ctx.part.uploads.put(_key(ctx, blob_id), data)


def stored(ctx: MockContext, blob_id: str) -> bytes | None:
    """The bytes saved under ``blob_id``; None when never saved or expired."""
    return ctx.part.uploads.get(_key(ctx, blob_id))


def drop(ctx: MockContext, blob_id: str) -> None:
    ctx.part.uploads.pop(_key(ctx, blob_id))


def serve(ctx: MockContext, blob_id: str, filename: str) -> Response:
    """The stored bytes, or the provider's 404 when they are unknown or expired."""
    data = stored(ctx, blob_id)
    if data is None:
        return ctx.error(404, f"file {blob_id!r} not found (never uploaded, or expired)")
    fmt = media.sniff(data[:64])
    mime = mimetypes.guess_type(f"file.{fmt}" if fmt else filename)[0]
    return Response(data, media_type=mime or "application/octet-stream")
