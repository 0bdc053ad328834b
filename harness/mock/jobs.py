"""Asynchronous jobs for the mock's queue APIs (WaveSpeed predictions, fal queue requests).

A :class:`Job` never changes by itself: its phase is computed from how many clock steps
(``MockConfig.job_step_s``) have passed since it was created, so each poll moves it forward
(queued for one step, running for one, then terminal) and phases can only advance. A job
whose prompt contains :data:`FAIL_MARKER` (``"[fail]"``, case-insensitive) ends *failed*
instead of succeeded, so clients can test their handling of a failed prediction without a
fault header; a cancelled job ends *cancelled* at once. Sync jobs (WaveSpeed's
``enable_sync_mode``) are terminal when created. Ids are a pure function of (seed, provider,
counter), so the same run of requests gives the same ids (a worker of ``serve --workers N``
adds its name, so siblings never mint the same id). Jobs live in their provider's bounded
``ctx.part.jobs`` store; :meth:`JobQueue.when_done` runs a callback (fal's webhook) once a
job is terminal, on the running event loop.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from itertools import count
from typing import Any

from harness.mock.context import MockContext
from harness.mock.generate import digest

FAIL_MARKER = "[fail]"
FAIL_MESSAGE = "inference failed: the prompt contains the mock's [fail] marker"
CANCEL_MESSAGE = "Request was cancelled"
QUEUED_STEPS = 1  # steps a job spends queued before it runs
RUNNING_STEPS = 1  # steps it then spends running before it is terminal
MAX_KEPT_CHARS = 256  # longer input strings (base64 media) are summarised, not kept


class Phase(str, Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in (Phase.SUCCEEDED, Phase.FAILED, Phase.CANCELLED)


def fails(prompt: str) -> bool:
    """Whether a job with this prompt is asked to fail (see :data:`FAIL_MARKER`)."""
    return FAIL_MARKER in prompt.lower()


def iso_now() -> str:
    """An ISO-8601 UTC timestamp with milliseconds, as WaveSpeed documents it."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def summarise(value: Any) -> Any:
    # A job keeps its input for inspection, but 2048 stored 10 MB data URLs would be 20 GB.
    if isinstance(value, str):
        return value if len(value) <= MAX_KEPT_CHARS else f"<{len(value)} characters>"
    if isinstance(value, list):
        return [summarise(v) for v in value]
    if isinstance(value, dict):
        return {k: summarise(v) for k, v in value.items()}
    return value


@dataclass
class Job:
    id: str
    provider: str
    model: str
    input: Mapping[str, Any]
    output: str  # the answer text, revealed only once the job succeeded
    born: float  # clock reading at creation
    step_s: float
    created_at: str = field(default_factory=iso_now)
    error: str | None = None  # set on creation when the job is going to fail
    webhook: str | None = None
    sync: bool = False
    cancelled: bool = False
    inference_ms: int = 0

    @property
    def nbytes(self) -> int:
        """Roughly what the job holds (its byte budget counts this): input and output."""
        return 512 + len(self.output) + len(repr(self.input))

    @property
    def total_steps(self) -> int:
        return 0 if self.sync else QUEUED_STEPS + RUNNING_STEPS

    def phase(self, now: float) -> Phase:
        if self.cancelled:
            return Phase.CANCELLED
        steps = self.total_steps if self.step_s <= 0 else int((now - self.born) / self.step_s)
        if steps < min(QUEUED_STEPS, self.total_steps):
            return Phase.QUEUED
        if steps < self.total_steps:
            return Phase.RUNNING
        return Phase.FAILED if self.error else Phase.SUCCEEDED

    def done_in(self, now: float) -> float:
        """Seconds until this job is terminal (0 when it already is)."""
        return max(0.0, self.born + self.total_steps * self.step_s - now)

    def logs(self, phase: Phase) -> list[dict[str, str]]:
        """fal-style log lines for what the job has done so far."""
        lines = []
        if phase is not Phase.QUEUED:
            lines += [("INFO", f"Loading {self.model}"), ("INFO", "Running inference")]
        if phase is Phase.SUCCEEDED:
            lines.append(("INFO", f"Inference done in {self.inference_ms} ms"))
        elif phase is Phase.FAILED:
            lines.append(("ERROR", self.error or FAIL_MESSAGE))
        elif phase is Phase.CANCELLED:
            lines.append(("WARNING", CANCEL_MESSAGE))
        return [{"message": m, "level": lvl, "source": "user", "timestamp": self.created_at}
                for lvl, m in lines]


class JobQueue:
    """The jobs of one provider API: creation, lookup, cancellation and completion hooks."""

    def __init__(self, ctx: MockContext, clock: Callable[[], float] = time.monotonic) -> None:
        self.ctx, self.clock = ctx, clock
        self._counter = count(1)
        self._tasks: set[asyncio.Task[None]] = set()  # strong refs: the loop keeps weak ones

    def new_id(self) -> str:
        h = digest(*self.ctx.config.unique("job", self.ctx.config.seed, self.ctx.profile.name,
                                           next(self._counter)))
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"  # fal's UUID-like shape

    def create(self, model: str, input: Mapping[str, Any], output: str, *, prompt: str,
               sync: bool = False, webhook: str | None = None) -> Job:
        step_s = self.ctx.config.job_step_s
        job = Job(self.new_id(), self.ctx.profile.name, model, summarise(dict(input)), output,
                  self.clock(), step_s, error=FAIL_MESSAGE if fails(prompt) else None,
                  webhook=webhook, sync=sync,
                  inference_ms=int(RUNNING_STEPS * step_s * 1000) + len(output) % 97)
        self.ctx.part.jobs.put(self._key(job.id), job)
        return job

    def get(self, job_id: str) -> Job | None:
        job = self.ctx.part.jobs.get(self._key(job_id))
        return job if isinstance(job, Job) else None

    def phase(self, job: Job) -> Phase:
        return job.phase(self.clock())

    def cancel(self, job: Job) -> bool:
        """Cancel a job that is not yet terminal; False when it already finished."""
        if self.phase(job).terminal:
            return False
        job.cancelled = True
        self.ctx.part.jobs.put(self._key(job.id), job)  # a shared store holds a copy
        return True

    def when_done(self, job: Job, callback: Callable[[Job], Awaitable[None]]) -> None:
        """Run ``callback(job)`` on the current event loop once ``job`` is terminal."""

        async def wait() -> None:
            current = job
            while not self.phase(current).terminal:
                await asyncio.sleep(max(current.done_in(self.clock()), 0.001))
                current = self.get(job.id) or current  # another worker may have cancelled it
            await callback(current)

        task = asyncio.get_running_loop().create_task(wait())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _key(self, job_id: str) -> str:
        return f"job:{job_id}"
