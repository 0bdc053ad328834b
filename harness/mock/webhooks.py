"""fal webhook delivery off the request path: one client, a bounded queue, a few workers.

fal POSTs ``{request_id, gateway_request_id, status, payload}`` to ``?fal_webhook=`` once a
queued request is done and, its docs say, "if the webhook fails to deliver the payload, it
will retry 10 times in the span of 2 hours" (docs.fal.ai, model endpoints, webhooks). The mock
does the same on its scaled clock: :data:`RETRIES` retries with doubling delays that add up to
``MockConfig.webhook_retry_span_s`` (2 hours times the realtime clock's scale by default).
fal does not document a per-attempt timeout; ``webhook_timeout_s`` is ours. A non-2xx answer,
a timeout or a refused connection is a failed attempt.

Building an ``httpx.AsyncClient`` per delivery cost ~31 ms of event-loop time (an SSL context)
and let a receiver that never answers hold one task per job: submits fell from 198 to 35 req/s.
Here one client serves every delivery, at most ``webhook_concurrency`` are in flight, and the
queue holds at most ``webhook_queue_max`` waiting deliveries; past that a delivery is dropped
and logged as such, never blocking a submit. Every attempt's outcome goes to the bounded log
(``state.webhooks``, served at ``GET /_harness/webhooks``) for tests and checks to read.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from harness.mock.config import MockConfig
from harness.mock.store import Journal

RETRIES = 10  # fal: "it will retry 10 times in the span of 2 hours"


@dataclass(frozen=True, slots=True)
class Delivery:
    request_id: str
    url: str
    body: dict[str, Any]


def retry_delays(span_s: float, retries: int = RETRIES) -> list[float]:
    """Doubling delays before each retry, adding up to ``span_s``."""
    unit = span_s / (2 ** retries - 1)
    return [unit * 2 ** k for k in range(retries)]


class Deliveries:
    """The webhook sender of one mock app. Workers start with work and end when the queue is
    empty, and the last one closes the client: nothing lingers on an idle (or ended) loop."""

    def __init__(self, config: MockConfig, log: Journal[dict[str, Any]]) -> None:
        self.config, self.log = config, log
        self._pending: deque[Delivery] = deque()
        self._tasks: set[asyncio.Task[None]] = set()
        self._client: httpx.AsyncClient | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._active = 0  # workers inside _work (the task set lags: done callbacks run later)

    def submit(self, delivery: Delivery) -> None:
        """Queue ``delivery``; drop it (logged) when the queue is full."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a new loop (in-process tests): nothing carries over
            self._loop, self._pending, self._tasks, self._client = loop, deque(), set(), None
            self._active = 0
        if len(self._pending) >= self.config.webhook_queue_max:
            self._record(delivery, 0, "dropped", error=f"delivery queue full "
                                                       f"({self.config.webhook_queue_max} waiting)")
            return
        self._pending.append(delivery)
        if len(self._tasks) < self.config.webhook_concurrency:
            task = loop.create_task(self._work())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @property
    def busy(self) -> bool:
        return bool(self._pending or self._tasks)

    async def _work(self) -> None:
        self._active += 1
        try:
            while self._pending:
                await self._deliver(self._pending.popleft())
        finally:
            self._active -= 1
            if not self._active and self._client is not None:  # the last worker out
                client, self._client = self._client, None
                await client.aclose()

    async def _deliver(self, delivery: Delivery) -> None:
        delays = retry_delays(self.config.webhook_retry_span_s)
        for attempt in range(1, RETRIES + 2):
            status, error = await self._attempt(delivery)
            ok = status is not None and 200 <= status < 300
            last = attempt == RETRIES + 1
            outcome = "delivered" if ok else "failed" if last else "retrying"
            self._record(delivery, attempt, outcome, status, error)
            if ok or last:
                return
            await asyncio.sleep(delays[attempt - 1])

    async def _attempt(self, delivery: Delivery) -> tuple[int | None, str | None]:
        if self._client is None:
            # trust_env=False: an HTTP(S)_PROXY variable must not route loopback calls away
            self._client = httpx.AsyncClient(timeout=self.config.webhook_timeout_s,
                                             trust_env=False)
        try:
            response = await self._client.post(delivery.url, json=delivery.body)
        except httpx.HTTPError as exc:
            return None, f"{type(exc).__name__}: {exc}"
        return response.status_code, None

    def skip(self, delivery: Delivery, why: str) -> None:
        """Log a webhook the mock will not deliver (not a loopback URL), with the reason."""
        self._record(delivery, 0, "skipped", skipped=why)

    def _record(self, delivery: Delivery, attempt: int, outcome: str, status: int | None = None,
                error: str | None = None, **extra: str) -> None:
        self.log.append({"request_id": delivery.request_id, "url": delivery.url,
                         "status": delivery.body.get("status"),
                         "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
                         "attempt": attempt, "outcome": outcome, "response_status": status,
                         "error": error, **extra})

    async def drain(self, timeout_s: float) -> None:
        """Give queued deliveries up to ``timeout_s`` (shutdown), then stop what is left."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while self.busy and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)
        await self.aclose()

    async def aclose(self) -> None:
        tasks, self._tasks = list(self._tasks), set()
        self._pending.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()
