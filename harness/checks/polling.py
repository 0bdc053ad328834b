"""Following queued jobs (WaveSpeed predictions, fal queue requests) as state machines.

The lifecycle checks share one way to submit a job, poll it and fetch its result, so each
check states only its own promise. :class:`Jobs` sends the canonical queued request
(:func:`harness.checks.requests.async_sample`), polls with a growing pause bounded by the
``poll_interval``, ``max_polls`` and ``job_timeout`` options (never forever: a job that does not
finish is a finding naming its last status), and places every answer in the protocol's
:class:`Machine`. With ``judge=True`` it also reports what each answer breaks: a status that is
undocumented or moves backwards, WaveSpeed outputs before completion, fal's per-status fields,
and handed-out URLs that do not name the job or leave the API base; such URLs are never
followed, since the request would carry the provider key to another host.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from harness import deadlines
from harness.checks import requests
from harness.checks.exchange import Exchange
from harness.checks.registry import CheckContext
from harness.findings import Finding, Severity

WAVESPEED, FAL = "wavespeed-v3", "fal-queue"
FAL_URLS = ("status_url", "response_url", "cancel_url")
MAX_PAUSE_S = 5.0  # the longest pause between two polls, however long the job takes


@dataclass(frozen=True, slots=True)
class Machine:
    """A protocol's job statuses by rank; a status may repeat or advance, never go back."""

    rank: Mapping[str, int]
    terminal: frozenset[str]
    on_unknown: str  # what the protocol's SDK does with a status it does not know

    def problem(self, seen: list[str], status: str) -> str | None:
        order = " → ".join(sorted(self.rank, key=self.rank.__getitem__))
        if status not in self.rank:
            return f"status {status!r} is not a documented status ({order}); {self.on_unknown}"
        last = seen[-1] if seen else None
        if last in self.terminal and status != last:
            return f"status moved from terminal {last!r} back to {status!r}"
        if last is not None and self.rank[status] < self.rank[last]:
            return f"status moved backwards from {last!r} to {status!r} (order: {order})"
        return None


MACHINES = {
    WAVESPEED: Machine({"created": 0, "processing": 1, "completed": 2, "failed": 2},
                       frozenset({"completed", "failed"}), "the wavespeed SDK polls forever on it"),
    FAL: Machine({"IN_QUEUE": 0, "IN_PROGRESS": 1, "COMPLETED": 2}, frozenset({"COMPLETED"}),
                 "the fal SDK raises on it"),
}


@dataclass
class Job:
    """One submitted job as the check has seen it: id, model, handed-out URLs, statuses."""

    id: str
    model: str | None
    urls: dict[str, Any]  # what the server handed out (None where it left one out)
    statuses: list[str] = field(default_factory=list)
    last: Exchange | None = None

    @property
    def status(self) -> str | None:
        return self.statuses[-1] if self.statuses else None


class Jobs:
    """Submits and polls jobs of one API for one check; ``judge=False`` only follows them."""

    def __init__(self, ctx: CheckContext, *, judge: bool = True) -> None:
        self.ctx, self.judge = ctx, judge
        self.protocol = ctx.api.protocol.name
        self.machine = MACHINES[self.protocol]
        self.found: list[Finding] = []
        host = "queue" if self.protocol == FAL else "default"
        with ctx.target.client(ctx.profile, ctx.api, host) as client:
            self.base = str(client.base_url).rstrip("/")

    def data(self, ex: Exchange | None) -> dict[str, Any]:
        """The job object of an answer: WaveSpeed's envelope ``data``, fal's whole body."""
        body = ex.json() if ex is not None else None
        body = body.get("data") if self.protocol == WAVESPEED and isinstance(body, dict) else body
        return body if isinstance(body, dict) else {}

    def report(self, message: str, ex: Exchange | None = None, *, pointer: str = "",
               severity: Severity = Severity.ERROR) -> None:
        if not any(f.message == message for f in self.found):  # once per run, not per poll
            self.found.append(self.ctx.finding(message, exchange=ex, instance_pointer=pointer,
                                               severity=severity))

    def url(self, job: Job, name: str, suffix: str) -> str | None:
        """The URL the server handed out as ``name``, when it may be followed with our key."""
        url = job.urls.get(name)
        if not isinstance(url, str) or not url.startswith(self.base + "/"):
            if self.judge:
                self.report(f"{name} {url!r} of job {job.id} is not under the API base {self.base}; "
                            "not followed (the request would carry the key)")
            return None
        if self.judge and not urlsplit(url).path.endswith(suffix):
            self.report(f"{name} {url} does not end with {suffix} (job {job.id})")
        return url

    def submit(self, *, prompt: str | None = None, params: Mapping[str, str] | None = None
               ) -> Job | None:
        sample = requests.async_sample(self.ctx.api, seed=self.ctx.seed, prompt=prompt)
        ex = self.ctx.probe.call(sample.endpoint, model=sample.model, json_body=sample.json_body,
                                 params=params)
        data = self.data(ex)
        key = "data.id" if self.protocol == WAVESPEED else "request_id"
        job_id = data.get(key.split(".")[-1])
        if ex.status != 200 or not isinstance(job_id, str) or not job_id:
            self.report(f"submit answered HTTP {ex.status} without a {key}; no job to follow", ex)
            return None
        job = Job(job_id, sample.model, {k: data.get(k) for k in FAL_URLS if k in data})
        if self.protocol == FAL:
            root = f"/{'/'.join(str(sample.model).split('/')[:2])}/requests/{job_id}"
            for name, suffix in zip(FAL_URLS, ("/status", "", "/cancel"), strict=True):
                self.url(job, name, root + suffix)
        if "status" in data:  # fal may leave it out of the submit answer
            self.observe(job, ex)
        return job

    def observe(self, job: Job, ex: Exchange) -> bool:
        """Place one answer in the job's state machine; False when polling cannot go on."""
        data = self.data(ex)
        status = data.get("status")
        where = "data.status" if self.protocol == WAVESPEED else "status"
        if not isinstance(status, str):
            self.report(f"answer about job {job.id} has no {where} string (HTTP {ex.status})", ex)
            return False
        problem = self.machine.problem(job.statuses, status)
        if problem and (self.judge or status not in self.machine.rank):
            self.report(f"job {job.id}: {problem}", ex, pointer=f"/{where.replace('.', '/')}")
        job.statuses.append(status)
        job.last = ex
        if self.judge:
            self._fields(job, ex, data, status, submit=len(job.statuses) == 1 and ex.method == "POST")
        return status in self.machine.rank

    def _fields(self, job: Job, ex: Exchange, data: dict[str, Any], status: str, *, submit: bool) -> None:
        """What each status promises beyond its name."""
        if self.protocol == WAVESPEED:
            outputs = data.get("outputs")
            if status != "completed" and outputs:
                self.report(f"data.outputs has {len(outputs)} item(s) while data.status is {status!r}; "
                            "outputs stay empty until completed", ex, pointer="/data/outputs")
            if data.get("id") != job.id:
                self.report(f"answer about prediction {job.id} carries data.id {data.get('id')!r}", ex)
            job.urls["data.urls.get"] = (data.get("urls") or {}).get("get")
            self.url(job, "data.urls.get", f"/api/v3/predictions/{job.id}/result")
            return
        if submit:
            return  # the submit answer's per-status fields are optional
        if status == "IN_QUEUE" and not isinstance(data.get("queue_position"), int):
            self.report("IN_QUEUE status answer has no integer queue_position", ex,
                        pointer="/queue_position")
        if status in ("IN_PROGRESS", "COMPLETED") and "logs" not in data:
            self.report(f"{status} status answer has no logs key (null allowed); the fal SDK reads it",
                        ex, pointer="/logs")
        if data.get("request_id", job.id) != job.id:
            self.report(f"status of request {job.id} carries request_id {data['request_id']!r}", ex)

    def _pauses(self) -> Iterator[int]:
        opts = self.ctx.options
        interval = float(opts.get("poll_interval", 0.05))
        deadline = time.monotonic() + float(opts.get("job_timeout", 120.0))
        for i in range(int(opts.get("max_polls", 40))):
            pause = min(interval * 1.5 ** i, MAX_PAUSE_S, deadline - time.monotonic())
            if pause < 0:
                return
            deadlines.sleep(pause, "the next poll of a job")
            yield i

    def poll(self, job: Job) -> bool:
        """Poll until a terminal status (True), a broken answer or the bound (False)."""
        if job.status in self.machine.terminal:  # a server that finished the job at once
            return True
        started, polls = time.monotonic(), 0
        for polls in self._pauses():  # noqa: B007  (the count is reported below)
            if self.protocol == WAVESPEED:
                ex = self.ctx.probe.call("result", path_params={"id": job.id})
            else:
                ex = self.ctx.probe.call("status", model=job.model, params={"logs": "1"},
                                         path_params={"request_id": job.id},
                                         url=self.url(job, "status_url", "/status"))
            if ex.status not in ((200,) if self.protocol == WAVESPEED else (200, 202)):
                seen = f"last status {job.status!r}" if job.status else "no status seen yet"
                self.report(f"polling job {job.id} answered HTTP {ex.status} ({seen})", ex)
                return False
            if not self.observe(job, ex):
                return False
            if job.status in self.machine.terminal:
                return True
        self.report(f"job {job.id} did not finish within {polls + 1} polls and "
                    f"{time.monotonic() - started:.1f} s; last status {job.status!r}", job.last)
        return False

    def result(self, job: Job) -> Exchange:
        """Fetch a finished job's result from the URL handed out (else the documented path)."""
        if self.protocol == WAVESPEED:
            ex = self.ctx.probe.call("result", path_params={"id": job.id}, url=self.url(
                job, "data.urls.get", f"/api/v3/predictions/{job.id}/result"))
            if ex.status == 200:
                self.observe(job, ex)
            return ex
        return self.ctx.probe.call("result", model=job.model, path_params={"request_id": job.id},
                                   url=self.url(job, "response_url", f"/requests/{job.id}"))

    def cancel(self, job: Job) -> tuple[Exchange, Any]:
        ex = self.ctx.probe.call("cancel", model=job.model, path_params={"request_id": job.id},
                                 url=self.url(job, "cancel_url", "/cancel"))
        return ex, self.data(ex).get("status")
