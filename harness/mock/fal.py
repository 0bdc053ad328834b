"""fal.ai served by the mock: the queue, sync run, storage token and CDN upload hosts.

Queue: ``POST /{app}`` answers ``request_id`` and absolute ``status_url`` / ``response_url`` /
``cancel_url`` on the mock, built from the app's owner/name without its sub-path (as fal
does: ``fal-ai/mini-cpm/video`` polls ``/fal-ai/mini-cpm/requests/{id}/status``). Status is
202 with ``IN_QUEUE`` (``queue_position``) or ``IN_PROGRESS``, then 200 ``COMPLETED`` with
``metrics``; ``logs`` is a list with ``?logs=1`` (or ``true``) and null otherwise. The result
before completion is 400 ``{"detail": "Request is still in progress"}``. Choices where fal's
docs are silent: a job whose prompt holds ``[fail]`` completes with ``error`` and
``error_type: validation_error`` and its result is a 422 naming ``prompt``; a cancelled job
completes at once with ``error: "Request was cancelled"``, ``error_type: client_cancelled``
and its result is 400. Any ``?fal_webhook=`` is accepted, as fal accepts its own example URL; the
mock never calls out, so only a loopback URL is POSTed ``{request_id, gateway_request_id,
status: OK|ERROR, payload}`` on completion, by :mod:`harness.mock.webhooks` (shared client,
bounded queue, fal's retries). Every attempt, and every webhook left undelivered, is logged in
``ctx.state.webhooks``; the latter is also an advisory. Auth is
``Authorization: Key <key>`` on queue, run and rest; CDN uploads carry the storage token.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute

from harness import media
from harness.mock import blobs, fal_multipart, generate
from harness.mock.advisory import advise
from harness.mock.context import MockContext
from harness.mock.jobs import CANCEL_MESSAGE, FAIL_MESSAGE, Job, JobQueue, Phase, fails
from harness.mock.routing import Route
from harness.mock.validation import MediaItem, short
from harness.mock.webhooks import Delivery
from harness.providers import Operation

LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
STATUS = {Phase.QUEUED: "IN_QUEUE", Phase.RUNNING: "IN_PROGRESS"}  # anything else: COMPLETED
ERROR_TYPE = {Phase.FAILED: "validation_error", Phase.CANCELLED: "client_cancelled"}
ANY_METHOD = ["GET", "POST", "PUT", "PATCH", "DELETE"]


def routes(ctx: MockContext, host: str) -> list[BaseRoute]:
    factory = {"queue": _queue, "run": _run, "rest": _rest, "cdn": _cdn}[host]
    return [*factory(ctx), Route("/{path:path}", _not_found(ctx), methods=ANY_METHOD)]


def _not_found(ctx: MockContext) -> Any:
    async def not_found(request: Request) -> Response:
        path = short(request.path_params["path"])
        return ctx.error(404, f"no such endpoint: {request.method} /{path}")
    return not_found


def _ops(ctx: MockContext, name: str) -> list[Operation]:
    return [op for op in ctx.api.operations() if op.endpoint.name == name]


def undeliverable(url: str) -> str | None:
    """Why the mock will not call ``url``, or None: it only calls loopback http(s) hosts.
    Not an error: fal accepts the webhook, the mock just does not leave the machine."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        parts, host = urlsplit(""), ""
    if parts.scheme in ("http", "https") and host in LOOPBACK:
        return None
    return (f"fal_webhook {short(url)} accepted but not delivered: the mock only calls "
            f"loopback http(s) hosts ({', '.join(sorted(LOOPBACK))})")


async def _accept(ctx: MockContext, request: Request,
                  op: Operation) -> tuple[dict[str, Any], str] | Response:
    """Auth, schema and media checks of a run/submit body; (body, answer text) if accepted."""
    assert op.model is not None
    if (denied := ctx.authenticate(request)) is not None:
        return denied
    body = await ctx.json_body(request, op.request)
    if isinstance(body, Response):
        return body
    if "video_url" in body:
        items = [MediaItem("/video_url", body["video_url"], media.MediaKind.VIDEO)]
    else:
        items = [MediaItem(f"/image_urls/{i}", url, media.MediaKind.IMAGE)
                 for i, url in enumerate(body["image_urls"])]
    payloads = await ctx.media(items)
    if isinstance(payloads, Response):
        return payloads
    answer = generate.answer(op.model.id, body["prompt"], payloads, ctx.config.seed)
    return body, answer.text


def _run(ctx: MockContext) -> list[BaseRoute]:
    def run_for(op: Operation) -> Route:
        async def run(request: Request) -> Response:
            accepted = await _accept(ctx, request, op)
            if isinstance(accepted, Response):
                return accepted
            body, text = accepted
            if fails(body["prompt"]):
                return ctx.error(422, FAIL_MESSAGE, "prompt")
            return JSONResponse({"output": text})
        return Route(op.path, run, methods=["POST"])

    return [run_for(op) for op in _ops(ctx, "run")]


def _queue(ctx: MockContext) -> list[BaseRoute]:
    queue = JobQueue(ctx)

    def urls(request: Request, job: Job) -> dict[str, str]:
        root = "/".join(job.model.split("/")[:2])  # status URLs drop the app's sub-path
        base = f"{ctx.base_url(request, 'queue')}/{root}/requests/{job.id}"
        return {"status_url": f"{base}/status", "response_url": base, "cancel_url": f"{base}/cancel"}

    async def deliver(job: Job) -> None:
        phase = queue.phase(job)
        body: dict[str, Any] = {"request_id": job.id, "gateway_request_id": job.id}
        if phase is Phase.SUCCEEDED:
            body |= {"status": "OK", "payload": {"output": job.output}}
        else:
            error = CANCEL_MESSAGE if phase is Phase.CANCELLED else job.error or ""
            body |= {"status": "ERROR", "error": error, "payload": {"detail": error}}
        ctx.state.deliveries.submit(Delivery(job.id, str(job.webhook), body))

    def submit_for(op: Operation) -> Route:
        assert op.model is not None
        model_id = op.model.id

        async def submit(request: Request) -> Response:
            if (denied := ctx.authenticate(request)) is not None:
                return denied
            webhook = request.query_params.get("fal_webhook")
            accepted = await _accept(ctx, request, op)
            if isinstance(accepted, Response):
                return accepted
            body, text = accepted
            job = queue.create(model_id, body, text, prompt=body["prompt"], webhook=webhook)
            if webhook is not None and (why := undeliverable(webhook)) is not None:
                advise(why)
                ctx.state.deliveries.skip(Delivery(job.id, webhook, {}), why)
            elif webhook is not None:
                queue.when_done(job, deliver)
            return JSONResponse({"request_id": job.id, "gateway_request_id": job.id,
                                 "status": "IN_QUEUE", "queue_position": 0, **urls(request, job)})
        return Route(op.path, submit, methods=["POST"])

    def find(request: Request, root: str) -> Job | Response:
        if (denied := ctx.authenticate(request)) is not None:
            return denied
        job_id = request.path_params["request_id"]
        job = queue.get(job_id)
        if job is None or "/".join(job.model.split("/")[:2]) != root:
            return ctx.error(404, f"Request {short(job_id)} not found")
        return job

    async def status(request: Request, job: Job) -> Response:
        phase = queue.phase(job)
        with_logs = request.query_params.get("logs", "0").lower() in ("1", "true")
        body: dict[str, Any] = {"status": STATUS.get(phase, "COMPLETED"), "request_id": job.id,
                                **urls(request, job)}
        if phase is Phase.QUEUED:
            return JSONResponse(body | {"queue_position": 0}, status_code=202)
        body["logs"] = job.logs(phase) if with_logs else None
        if phase is Phase.RUNNING:
            return JSONResponse(body, status_code=202)
        body["metrics"] = {"inference_time": job.inference_ms / 1000}
        if phase in ERROR_TYPE:
            body |= {"error": CANCEL_MESSAGE if phase is Phase.CANCELLED else job.error,
                     "error_type": ERROR_TYPE[phase]}
        return JSONResponse(body, status_code=200)

    async def result(request: Request, job: Job) -> Response:
        phase = queue.phase(job)
        if phase is Phase.SUCCEEDED:
            return JSONResponse({"output": job.output})
        if phase is Phase.FAILED:
            return ctx.error(422, job.error or FAIL_MESSAGE, "prompt")
        if phase is Phase.CANCELLED:
            return ctx.error(400, CANCEL_MESSAGE, headers={"x-fal-error-type": "client_cancelled"})
        return ctx.error(400, "Request is still in progress")

    async def cancel(request: Request, job: Job) -> Response:
        if queue.cancel(job):
            return JSONResponse({"status": "CANCELLATION_REQUESTED"}, status_code=202)
        return JSONResponse({"status": "ALREADY_COMPLETED"}, status_code=400)

    def by_id(name: str, root: str) -> Any:
        async def endpoint(request: Request) -> Response:
            job = find(request, root)
            if isinstance(job, Job):
                return await handlers[name][0](request, job)
            if name == "cancel" and job.status_code == 404:  # cancel has its own 404 shape
                return JSONResponse({"status": "NOT_FOUND"}, status_code=404)
            return job
        return endpoint

    out: list[BaseRoute] = [submit_for(op) for op in _ops(ctx, "submit")]
    handlers = {"status": (status, "GET"), "result": (result, "GET"), "cancel": (cancel, "PUT")}
    seen: set[str] = set()
    for name, (_, method) in handlers.items():
        for op in _ops(ctx, name):  # both apps share one owner/name root: one route each
            if op.model is not None and op.path not in seen:
                seen.add(op.path)
                out.append(Route(op.path, by_id(name, op.model.root), methods=[method]))
    return out


def cdn_token(ctx: MockContext) -> str:
    return generate.digest("fal-cdn", ctx.config.seed, ctx.config.key_for(ctx.profile.name))[:48]


def _rest(ctx: MockContext) -> list[BaseRoute]:
    async def token(request: Request) -> Response:
        if (denied := ctx.authenticate(request)) is not None:
            return denied
        kind = request.query_params.get("storage_type", "fal-cdn-v3")
        if kind != "fal-cdn-v3":
            return ctx.error(422, f"storage_type {short(kind)} is not served by the mock; "
                                  "use fal-cdn-v3", "query:storage_type")
        expires = datetime.now(UTC) + timedelta(hours=1)
        return JSONResponse({"token": cdn_token(ctx), "token_type": "Bearer",
                             "base_url": ctx.base_url(request, "cdn"),
                             "expires_at": expires.isoformat(timespec="seconds")})

    return [Route("/storage/auth/token", token, methods=["POST"])]


def _cdn(ctx: MockContext) -> list[BaseRoute]:
    async def upload(request: Request) -> Response:
        if (denied := authorise(request)) is not None:
            return denied
        content_type = request.headers.get("content-type")
        limit = blobs.limit_for(ctx, content_type)
        data = await blobs.read_limited(request, limit)
        if data is None:
            return ctx.error(413, f"file is over the {limit}-byte limit for "
                                  f"{short(content_type or 'this content type')}")
        blobs.advise_size(ctx, content_type, len(data))
        name = blobs.file_name(request.headers.get("x-fal-file-name"), "upload.bin")
        # Content-addressed: the same file uploaded twice gets the same URL, deterministically.
        blob_id = generate.digest("fal-cdn-file", ctx.config.seed,
                                  hashlib.sha256(data).hexdigest(), name)[:32]
        blobs.save(ctx, blob_id, data)
        return JSONResponse({"access_url": f"{ctx.base_url(request, 'cdn')}/files/{blob_id}/{name}"})

    async def download(request: Request) -> Response:
        return blobs.serve(ctx, request.path_params["blob_id"], request.path_params["name"])

    def authorise(request: Request) -> Response | None:
        if request.headers.get("authorization", "") != f"Bearer {cdn_token(ctx)}":
            return ctx.error(401, "missing or invalid storage token: send 'Authorization: "
                                  "Bearer <token from /storage/auth/token>'")
        return None

    return [Route("/files/upload", upload, methods=["POST"]),
            *fal_multipart.routes(ctx, authorise),
            Route("/files/{blob_id}/{name:path}", download, methods=["GET"])]
