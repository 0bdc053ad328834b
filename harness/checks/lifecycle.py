"""Job lifecycle checks: WaveSpeed predictions and fal queue requests, polled as state machines.

A queued job is only as good as the statuses a client polls. The wavespeed SDK polls forever on
a status it does not know and the fal SDK raises on one (providers.md §1, §2); a status that
moves backwards takes back progress a client already reported; and a failed WaveSpeed
prediction still arrives as HTTP 200 with ``data.status: "failed"``, which no transport-level
check sees. ``async-job-lifecycle`` submits one job, polls it (bounded, see
:mod:`harness.checks.polling`) and checks every answer against the documented order, the
per-status fields and the URLs the server handed out, then fetches the result.
``envelope-failure`` reads every WaveSpeed envelope for a failure and, where the server may be
the reference mock, provokes one with the mock's ``[fail]`` prompt marker to check its shape;
``cancel-honoured`` and ``webhook-delivered`` cover fal's cancel and webhook promises. Schema,
status code and content type are judged by the exchange checks on the same requests.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from harness import schemas
from harness.checks import requests
from harness.checks.exchange import Exchange
from harness.checks.polling import FAL, WAVESPEED, Job, Jobs
from harness.checks.registry import CheckContext, Skip, check
from harness.findings import Finding, Severity
from harness.targets.base import TargetKind

FAIL_MARKER = "[fail]"  # the reference mock fails a job whose prompt holds it (harness.mock.jobs)
MAY_BE_MOCK = (TargetKind.MOCK, TargetKind.URL)  # targets where the reference mock may answer
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _finish(jobs: Jobs, job: Job) -> None:
    """A job that ended: it must have succeeded and its result must be retrievable."""
    error = jobs.data(job.last).get("error")
    if job.status == "failed" or (job.status == "COMPLETED" and error):
        jobs.report(f"job {job.id} ended {job.status!r} with error {error!r}", job.last)
        return
    ex = jobs.result(job)
    body = ex.json() if ex.status == 200 else None
    where = requests.ANSWER_AT[jobs.protocol]
    _, present, answer = requests.answer_of(jobs.protocol, body)
    if not (present and isinstance(answer, str) and answer):
        jobs.report(f"result of finished job {job.id} is not retrievable: HTTP {ex.status} without "
                    f"a non-empty answer at {where}", ex, pointer=where)


@check(capability="async", protocols=(WAVESPEED, FAL))
def async_job_lifecycle(ctx: CheckContext) -> Iterator[Finding]:
    """Submit, poll and fetch one job: statuses only move forward and keep their promises."""
    jobs = Jobs(ctx)
    job = jobs.submit()
    if job is not None and jobs.poll(job):
        _finish(jobs, job)
    yield from jobs.found


def _failed_in_200(ex: Exchange) -> dict[str, Any] | None:
    body = ex.json()
    data = body.get("data") if isinstance(body, dict) else None
    return data if ex.status == 200 and isinstance(data, dict) and data.get("status") == "failed" else None


@check(capability="async", protocols=(WAVESPEED,))
def envelope_failure(ctx: CheckContext) -> Iterator[Finding]:
    """A failed WaveSpeed prediction hides in an HTTP 200: find it, and check its envelope."""
    jobs = Jobs(ctx, judge=False)
    job = jobs.submit()
    if job is not None:
        jobs.poll(job)
    yield from jobs.found
    failed = {data.get("id"): (ex, data) for ex in ctx.probe.exchanges if (data := _failed_in_200(ex))}
    for job_id, (ex, data) in failed.items():
        yield ctx.finding(f"prediction {job_id} failed inside an HTTP 200 (data.status 'failed', "
                          f"data.error {data.get('error')!r}); transport-level checks see a success",
                          exchange=ex, instance_pointer="/data/status")
    if ctx.target.kind not in MAY_BE_MOCK:
        yield ctx.finding(f"provoked failure not attempted on a {ctx.target.kind.value} target: only "
                          f"the reference mock fails a prediction on request ({FAIL_MARKER})",
                          severity=Severity.INFO)
        return
    provoked = Jobs(ctx, judge=False)
    bad = provoked.submit(prompt=f"{FAIL_MARKER} {requests.PROMPT}")
    done = bad is not None and provoked.poll(bad)
    yield from provoked.found
    if not done or bad is None or bad.last is None:
        return
    ex, data = bad.last, provoked.data(bad.last)
    if bad.status != "failed":
        yield ctx.finding(
            f"prediction {bad.id} with {FAIL_MARKER} in custom_prompt ended {bad.status!r}; the "
            "reference mock documents that marker as a failure", exchange=ex,
            severity=Severity.ERROR if ctx.target.kind is TargetKind.MOCK else Severity.WARNING)
        return
    body = ex.json()
    problems = [what for what, broken in (
        (f"code is {body.get('code')!r}, not 200", body.get("code") != 200),
        ("data.error is empty", not (isinstance(data.get("error"), str) and data["error"].strip())),
        (f"data.outputs is {data.get('outputs')!r}, not []", data.get("outputs") != [])) if broken]
    if problems:
        yield ctx.finding(f"failed prediction {bad.id} has a malformed envelope: "
                          f"{'; '.join(problems)}", exchange=ex, schema="wavespeed-v3/prediction")


@check(capability="async", protocols=(FAL,))
def cancel_honoured(ctx: CheckContext) -> Iterator[Finding]:
    """A cancelled request never yields a result; cancel after completion is ALREADY_COMPLETED."""
    jobs = Jobs(ctx, judge=False)
    job = None
    for _ in range(2):  # a job may finish before the cancel lands; then try once more
        job = jobs.submit()
        if job is None:
            break
        ex, state = jobs.cancel(job)
        if state == "CANCELLATION_REQUESTED":
            break
        if state != "ALREADY_COMPLETED":
            jobs.report(f"cancel of queued request {job.id} answered HTTP {ex.status} "
                        f"{_status_text(state)}; expected 202 CANCELLATION_REQUESTED", ex)
            job = None
            break
    else:
        job = None
        jobs.report("both requests completed before their cancel arrived; cancellation was not "
                    "observed", severity=Severity.WARNING)
    if job is not None and jobs.poll(job):
        error = jobs.data(job.last).get("error")
        ex = jobs.result(job)
        if not error and ex.status == 200:
            jobs.report(f"cancel not honoured: request {job.id} was accepted for cancellation "
                        "(CANCELLATION_REQUESTED) yet COMPLETED without error and its result is "
                        "available", ex)
        again, state = jobs.cancel(job)
        if state != "ALREADY_COMPLETED":
            jobs.report(f"cancel of completed request {job.id} answered HTTP {again.status} "
                        f"{_status_text(state)}; expected ALREADY_COMPLETED", again)
    yield from jobs.found


def _status_text(state: str | None) -> str:
    """A cancel answer's status for a message: never Python's ``None`` ("answered HTTP 400
    None" read as a bug in the harness)."""
    return f"with status {state!r}" if state else "with no status field"


@contextmanager
def _receiver() -> Iterator[tuple[str, queue.Queue[bytes]]]:
    """A loopback HTTP server in a thread that queues each POST body (fal's webhook)."""
    bodies: queue.Queue[bytes] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            bodies.put(self.rfile.read(int(self.headers.get("content-length") or 0)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # no log lines on stderr
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/vlm-harness/webhook", bodies
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@check(capability="async", protocols=(FAL,))
def webhook_delivered(ctx: CheckContext) -> Iterator[Finding]:
    """?fal_webhook= gets one POST with the request_id and the app's output as payload."""
    jobs = Jobs(ctx, judge=False)
    kind = ctx.target.kind  # the in-process mock calls out from this very process
    if kind is not TargetKind.MOCK and (kind is not TargetKind.URL
                                        or urlsplit(jobs.base).hostname not in LOOPBACK):
        raise Skip(f"the {ctx.target.kind.value} target's server at {jobs.base} cannot reach this "
                   "machine's loopback webhook receiver")
    wait = float(ctx.options.get("webhook_timeout", 10.0))
    with _receiver() as (url, bodies):
        job = jobs.submit(params={"fal_webhook": url})
        done = job is not None and jobs.poll(job)
        try:
            raw = bodies.get(timeout=wait) if done else b""
        except queue.Empty:
            raw = None
    yield from jobs.found
    if not done or job is None:
        return
    if raw is None:
        yield ctx.finding(f"no webhook POST reached {url} within {wait:g} s after request {job.id} "
                          "completed", exchange=job.last)
        return
    try:
        hook = json.loads(raw)
    except ValueError:
        hook = None
    if not isinstance(hook, dict):
        yield ctx.finding(f"webhook body for request {job.id} is not a JSON object: {raw[:120]!r}")
        return
    if hook.get("request_id") != job.id:
        yield ctx.finding(f"webhook carries request_id {hook.get('request_id')!r}, not {job.id!r}")
    if hook.get("status") != "OK":
        yield ctx.finding(f"webhook status is {hook.get('status')!r} for request {job.id}, which "
                          "completed without error; expected 'OK'")
    for error in schemas.validator("fal-queue/output").iter_errors(hook.get("payload")):
        at = "/payload" + "".join(f"/{p}" for p in error.absolute_path)
        yield ctx.finding(f"webhook {at}: {error.message}", schema="fal-queue/output",
                          schema_pointer="/" + "/".join(map(str, error.relative_schema_path)),
                          instance_pointer=at)
