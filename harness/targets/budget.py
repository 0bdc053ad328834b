"""A spending limit and polite retries for targets that reach real servers.

:class:`BudgetTransport` wraps any ``httpx.BaseTransport``: before each request it charges the
provider's :class:`Budget` (one request, plus an estimated price) and refuses with
:class:`BudgetExceeded` once ``max_requests`` or ``max_cost`` would be passed, so a contract run
against a paid API can never spend more than it was given. On 429/503 with a ``Retry-After``
it waits (up to :attr:`RetryPolicy.cap_s`) and tries again, because a rate limit is a fact
about the moment, not about the contract. Prices come from the API's ``limits.usd_per_request``
in the provider profile (a number, or a table by model id with an optional ``default``); an API
without one is charged :data:`DEFAULT_USD_PER_REQUEST`, deliberately high so that an unknown
price exhausts ``max_cost`` early rather than late.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from harness import deadlines
from harness.errors import HarnessError
from harness.providers import Api

# Conservative: above what one image or short-video request costs on any profiled provider.
DEFAULT_USD_PER_REQUEST = 0.05


class BudgetExceeded(HarnessError):
    """A request would pass the run's request or cost limit for a provider; it was not sent."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """When a throttled request is sent again; ``retries=0`` turns retrying off."""

    retries: int = 1
    cap_s: float = 30.0  # a longer Retry-After is not waited for: the response is returned
    statuses: frozenset[int] = frozenset({429, 503})
    # Ends with the check's or the run's budget rather than outliving it.
    sleep: Callable[[float], None] = field(default=deadlines.sleep, compare=False)

    def delay(self, response: httpx.Response) -> float | None:
        """Seconds to wait before retrying ``response``, or None to hand it back as is."""
        if response.status_code not in self.statuses:
            return None
        value = response.headers.get("retry-after", "").strip()
        seconds = _seconds(value) if value else None
        return seconds if seconds is not None and seconds <= self.cap_s else None


NO_RETRY = RetryPolicy(retries=0)


def _seconds(value: str) -> float | None:
    """``Retry-After`` as delay-seconds or an HTTP date; None when it is neither."""
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def price(api: Api, request: httpx.Request) -> float:
    """Estimated USD for one request to ``api``, from the profile's price table."""
    table: Any = api.limits.get("usd_per_request")
    if isinstance(table, int | float):
        return float(table)
    if not isinstance(table, Mapping):
        return DEFAULT_USD_PER_REQUEST
    for model, usd in table.items():  # per-model endpoints carry the model in the path
        if model != "default" and model in request.url.path:
            return float(usd)
    model = _body_model(request)
    return float(table.get(model, table.get("default", DEFAULT_USD_PER_REQUEST)))


def _body_model(request: httpx.Request) -> str | None:
    if "json" not in request.headers.get("content-type", ""):
        return None
    try:
        body = json.loads(request.read())
    except (ValueError, UnicodeDecodeError):
        return None
    return body.get("model") if isinstance(body, dict) else None


@dataclass(slots=True)
class Budget:
    """What one provider may still spend in this run; shared by all of its clients."""

    provider: str
    max_requests: int | None = None
    max_cost: float | None = None
    requests: int = 0
    cost: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(self, usd: float, what: str) -> None:
        """Count one request costing ``usd``, or raise without counting it."""
        with self._lock:
            if self.max_requests is not None and self.requests >= self.max_requests:
                raise BudgetExceeded(
                    f"request budget for {self.provider!r} spent: {self.requests} of "
                    f"{self.max_requests} sent; refusing {what} "
                    "(raise --max-requests, or --vlm-max-requests under pytest)")
            if self.max_cost is not None and self.cost + usd > self.max_cost:
                raise BudgetExceeded(
                    f"cost budget for {self.provider!r} spent: about ${self.cost:.4f} of "
                    f"${self.max_cost:.4f} used and {what} is estimated at ${usd:.4f} "
                    "(raise --max-cost, or --vlm-max-cost under pytest)")
            self.requests += 1
            self.cost += usd


class BudgetTransport(httpx.BaseTransport):
    """Charges a :class:`Budget` for every request sent through ``inner`` and retries throttles."""

    def __init__(self, inner: httpx.BaseTransport, budget: Budget, api: Api,
                 retry: RetryPolicy = NO_RETRY) -> None:
        self.inner, self.budget, self.api, self.retry = inner, budget, api, retry

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # Only method and path go into messages: a query string could carry a credential.
        what = f"{request.method} {request.url.path}"
        usd = price(self.api, request)
        attempt = 0
        while True:
            self.budget.charge(usd, what)
            response = self.inner.handle_request(request)
            delay = self.retry.delay(response) if attempt < self.retry.retries else None
            if delay is None:
                return response
            response.close()
            self.retry.sleep(delay)
            attempt += 1

    def close(self) -> None:
        self.inner.close()
