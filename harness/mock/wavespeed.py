"""WaveSpeed v3 served by the mock: per-model submit, prediction polling and media uploads.

Submit is ``POST /api/v3/{model}``; with ``enable_sync_mode`` (default: the model schema's
default, true for the image model and false for the video model) the answer is the completed
prediction, otherwise a ``created`` prediction that moves to ``processing`` and ``completed``
on the job clock (see :mod:`harness.mock.jobs`; ``[fail]`` in ``custom_prompt`` makes it end
``failed``). ``GET /api/v3/predictions/{id}/result`` and ``/predictions/{id}`` both report
it. Every answer is the ``{code, message, data}`` envelope: success is exactly HTTP 200 with
``data`` set (the SDK treats 201 as failure and crashes on ``data: null``), and a failed
prediction is also HTTP 200, ``code`` 200, ``data.status`` ``"failed"``. Errors carry
``data: null`` and the matching HTTP status. Uploads follow SDK 2.x: a ticket from
``POST /api/v3/media/uploads``, then ``PUT`` of the bytes to a signed URL on the mock, served
back at ``download_url``. The 1.0.x multipart flow (``/media/upload/binary``) is not served:
parsing multipart needs python-multipart, which the project does not depend on.
"""

from __future__ import annotations

import hmac
from itertools import count
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from harness import media, schemas
from harness.mock import blobs, generate
from harness.mock.context import MockContext
from harness.mock.jobs import CANCEL_MESSAGE, Job, JobQueue, Phase
from harness.mock.routing import Route
from harness.mock.validation import MediaItem, short
from harness.providers import Operation

PRESETS = {"describe": "Describe this {kind} in detail.",
           "caption": "Write a one-sentence caption for this {kind}."}
STATUS = {Phase.QUEUED: "created", Phase.RUNNING: "processing", Phase.SUCCEEDED: "completed",
          Phase.FAILED: "failed", Phase.CANCELLED: "failed"}  # the documented enum has no cancelled
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def envelope(data: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"code": 200, "message": "success", "data": data}, status_code=200)


def routes(ctx: MockContext, host: str) -> list[BaseRoute]:
    queue = JobQueue(ctx)
    tickets = count(1)

    def base(request: Request) -> str:
        return ctx.base_url(request, host)

    def prediction(request: Request, job: Job) -> dict[str, Any]:
        phase = queue.phase(job)
        done = phase is Phase.SUCCEEDED
        return {
            "id": job.id, "model": job.model,
            # The page documents outputs as "URLs to the generated content"; a VLM's content
            # is its text, so the answer itself is the single item (as the live API returns).
            "outputs": [job.output] if done else [],
            "urls": {"get": f"{base(request)}/api/v3/predictions/{job.id}/result"},
            "has_nsfw_contents": [False] if done else [],
            "status": STATUS[phase], "created_at": job.created_at,
            "error": {Phase.FAILED: job.error or "", Phase.CANCELLED: CANCEL_MESSAGE}.get(phase, ""),
            "timings": {"inference": job.inference_ms if phase.terminal else 0},
        }

    def submit_for(op: Operation) -> Route:
        assert op.model is not None and op.request is not None
        model, schema = op.model, op.request
        kind = media.MediaKind.VIDEO if "video" in model.capabilities else media.MediaKind.IMAGE
        field = kind.value  # the input is named after its kind: `image` or `video`
        sync_default = bool(schemas.load(schema)["properties"]["enable_sync_mode"].get("default"))

        async def submit(request: Request) -> Response:
            if (denied := ctx.authenticate(request)) is not None:
                return denied
            body = await ctx.json_body(request, schema)
            if isinstance(body, Response):
                return body
            payloads = await ctx.media([MediaItem(f"/{field}", body[field], kind)])
            if isinstance(payloads, Response):
                return payloads
            # Only the preset is a template: a custom prompt is the client's text, braces and all.
            prompt = body.get("custom_prompt") or PRESETS[
                body.get("preset_prompt", "describe")].format(kind=field)
            seed = body.get("seed", -1)  # -1 means "random": the mock's seed keeps it repeatable
            answer = generate.answer(model.id, prompt, payloads,
                                     ctx.config.seed if seed == -1 else seed)
            job = queue.create(model.id, body, answer.text, prompt=prompt,
                               sync=bool(body.get("enable_sync_mode", sync_default)))
            return envelope(prediction(request, job))

        return Route(op.path, submit, methods=["POST"])

    async def result(request: Request) -> Response:
        if (denied := ctx.authenticate(request)) is not None:
            return denied
        job_id = request.path_params["id"]
        job = queue.get(job_id)
        if job is None:
            return ctx.error(404, f"prediction {short(job_id)} not found (unknown id, or expired)")
        return envelope(prediction(request, job))

    def signature(blob_id: str, size: int) -> str:
        # The upload URL is presigned, as an object store's is: the PUT carries no API key.
        return generate.digest("ws-put", ctx.config.seed, ctx.config.key_for(ctx.profile.name),
                               blob_id, size)[:32]

    async def create_upload(request: Request) -> Response:
        if (denied := ctx.authenticate(request)) is not None:
            return denied
        body = await ctx.json_body(request, "wavespeed-v3/upload-request")
        if isinstance(body, Response):
            return body
        size, content_type = body["size"], body.get("content_type")  # optional: SDK may omit it
        limit = blobs.limit_for(ctx, content_type)
        blobs.advise_size(ctx, content_type, size)
        if size > limit:  # 400, not 413: no bytes were sent yet
            return ctx.error(400, f"size: {size} bytes is over the {limit}-byte limit for "
                                  f"{short(content_type or 'an untyped file')}", "size")
        blob_id = generate.digest(*ctx.config.unique("ws-upload", ctx.config.seed, next(tickets)))[:24]
        filename = blobs.file_name(body["filename"], "upload")
        return envelope({
            "upload": {"method": "PUT",
                       "headers": {"Content-Type": content_type} if content_type else {},
                       "url": f"{base(request)}/media/uploads/{blob_id}?size={size}"
                              f"&sig={signature(blob_id, size)}"},
            "download_url": f"{base(request)}/media/files/{blob_id}/{filename}"})

    async def put_upload(request: Request) -> Response:
        blob_id = request.path_params["blob_id"]
        size, sig = request.query_params.get("size", ""), request.query_params.get("sig", "")
        if not size.isdigit() or not hmac.compare_digest(sig, signature(blob_id, int(size))):
            return ctx.error(403, "upload URL signature does not match (size or sig altered)")
        data = await blobs.read_limited(request, int(size))
        if data is None:
            return ctx.error(413, f"body is larger than the {size} bytes declared for this upload")
        if len(data) != int(size):
            return ctx.error(400, f"body is {len(data)} bytes but the upload declared {size}")
        blobs.save(ctx, blob_id, data)
        return Response(status_code=200)

    async def download(request: Request) -> Response:
        return blobs.serve(ctx, request.path_params["blob_id"], request.path_params["filename"])

    async def not_found(request: Request) -> Response:
        path = request.path_params["path"]
        if request.method == "POST" and path.startswith("api/v3/"):
            models = ", ".join(ctx.api.models)
            return ctx.error(404, f"model {short(path[7:])} not found; available: {models}")
        return ctx.error(404, f"no such endpoint: {request.method} /{short(path)}")

    out: list[BaseRoute] = [
        Route("/api/v3/media/uploads", create_upload, methods=["POST"]),
        Route("/api/v3/predictions/{id}/result", result, methods=["GET"]),
        Route("/api/v3/predictions/{id}", result, methods=["GET"]),
        Route("/media/uploads/{blob_id}", put_upload, methods=["PUT"]),
        Route("/media/files/{blob_id}/{filename:path}", download, methods=["GET"]),
    ]
    out += [submit_for(op) for op in ctx.api.operations() if op.endpoint.name == "submit"]
    return [*out, Route("/{path:path}", not_found, methods=ANY_METHOD)]
