"""The ``gateway`` target: a gateway under test with the reference mock as its upstream.

The client side is the ``url`` target's (``--base-url``, per-API ``API=URL``, ``--header``,
``--model`` aliases) with the key the gateway expects from its clients
(:data:`GATEWAY_KEY_ENV`, else the provider's variable, else the mock's key). The upstream side
is a reference mock the harness serves itself on a free loopback port (point the gateway's
upstream at :attr:`GatewayTarget.upstream_url`) or, with ``--upstream URL``, a running
``vlm-harness serve``. Every client request carries a fresh :data:`~harness.journal.CORRELATION_HEADER`;
the probe notes the journal's last request number before sending (:meth:`upstream_mark`) and,
after the answer, :meth:`GatewayTarget.upstream_of` returns the upstream requests that arrived
since and belong to it: those carrying the same correlation id when the gateway forwards the
header, else those with the same content fingerprint (user texts and media digests, the same
whichever protocol the gateway spoke upstream), else all of them (requests are sequential).
:meth:`GatewayTarget.upstream_fault` sets a fault on the upstream for the gateway checks, for
gateways that drop the ``x-harness-fault`` header.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import httpx

from harness import journal
from harness.errors import TargetUnreachable, UsageError
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock
from harness.providers import Api, Profile
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.budget import RetryPolicy
from harness.targets.url import UrlTarget

GATEWAY_KEY_ENV = "VLM_HARNESS_GATEWAY_KEY"
SETTLE_S = 5.0  # how long to wait for upstream requests still in flight after an answer


class GatewayTarget(UrlTarget):
    """Clients that talk to a gateway; the gateway's upstream is a journaled reference mock."""

    kind = TargetKind.GATEWAY
    # Upstream requests are matched to exchanges by arrival order when the gateway drops the
    # correlation header, and upstream faults are set for the whole mock: one case at a time.
    sequential = True

    def __init__(self, options: TargetOptions | None = None, *,
                 mock_config: MockConfig | None = None, retry: RetryPolicy | None = None) -> None:
        super().__init__(options, mock_config=mock_config, retry=retry)
        self.served: ServedMock | None = None
        given = self.options.upstream
        if given:
            parts = urlsplit(given)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise UsageError(f"--upstream must be the http(s) root of a running `vlm-harness "
                                 f"serve`, not {given!r}")
            self.upstream_url = given.rstrip("/")
            self._http: httpx.Client | None = httpx.Client(base_url=self.upstream_url, timeout=10)
            try:
                self._http.get("/_harness/health").raise_for_status()
            except httpx.HTTPError as exc:
                self._http.close()
                raise TargetUnreachable(f"--upstream {given}: no vlm-harness mock answers there "
                                        f"({type(exc).__name__}: {exc})") from None
        else:
            self._http = None
            self.served = ServedMock(mock_config or MockConfig(seed=self.options.seed)).start()
            self.upstream_url = self.served.url

    def __repr__(self) -> str:
        return f"GatewayTarget(base_url={self.options.base_url!r}, upstream={self.upstream_url!r})"

    # -- the client side -----------------------------------------------------------------------

    def key(self, profile: Profile, api: Api) -> str | None:
        return os.environ.get(GATEWAY_KEY_ENV) or super().key(profile, api)

    def client(self, profile: Profile, api: Api, host: str = "default", *,
               auth: bool = True, headers: Mapping[str, str] | None = None) -> httpx.Client:
        # One id per client, and the probe opens one client per call: one id per exchange.
        tagged = {journal.CORRELATION_HEADER: uuid.uuid4().hex, **(headers or {})}
        return super().client(profile, api, host, auth=auth, headers=tagged)

    # -- the upstream side ---------------------------------------------------------------------

    def upstream_key(self, profile: Profile) -> str:
        """The key the upstream mock accepts, which the gateway must present for ``profile``."""
        return (self.mock_config or MockConfig()).key_for(profile.name)

    def _snapshot(self, since: int = 0) -> dict[str, Any]:
        if self.served is not None:
            return self.served.app.state.mock.journal.snapshot(since)
        assert self._http is not None
        answer = self._http.get("/_harness/journal", params={"since": since})
        answer.raise_for_status()
        data: dict[str, Any] = answer.json()
        return data

    def entries(self, since: int = 0) -> list[journal.Entry]:
        """The upstream's journal entries after ``since``, waiting out requests in flight."""
        deadline = time.monotonic() + SETTLE_S
        while True:
            snap = self._snapshot(since)
            if not snap.get("in_flight") or time.monotonic() > deadline:
                return [journal.Entry.from_dict(e) for e in snap["entries"]]
            time.sleep(0.02)

    def upstream_mark(self) -> int:
        """The upstream's newest request number; pass it to :meth:`upstream_of` after a call."""
        if self.served is not None:
            return int(self.served.app.state.mock.journal.last_seq)
        return int(self._snapshot(1 << 62)["next"])

    def upstream_of(self, request: httpx.Request, mark: int) -> tuple[journal.Entry, ...]:
        """The upstream requests made on behalf of ``request``, sent after :meth:`upstream_mark`
        returned ``mark``, oldest first."""
        after = self.entries(mark)
        tag = request.headers.get(journal.CORRELATION_HEADER, "")
        tagged = [e for e in after if tag and e.correlation == tag]
        if tagged:
            return tuple(tagged)
        try:
            facts = journal.request_facts(json.loads(request.content))
        except (ValueError, UnicodeDecodeError, httpx.RequestNotRead):
            facts = journal.RequestFacts()
        same = [e for e in after if e.request.fingerprint == facts.fingerprint]
        return tuple(same or after)

    @contextmanager
    def upstream_fault(self, spec: str) -> Iterator[None]:
        """Every upstream request fails as ``spec`` says (a ``--faults`` spec) inside the block."""
        self._put_fault(spec)
        try:
            yield
        finally:
            self._put_fault(None)

    def _put_fault(self, spec: str | None) -> None:
        if self.served is not None:
            from harness.mock import faults  # the served mock's own parser

            state = self.served.app.state.mock
            state.runtime_fault = faults.RuntimeFault(spec, faults.parse(spec, "upstream fault")) \
                if spec else None
            return
        assert self._http is not None
        answer = (self._http.put("/_harness/fault", content=spec) if spec
                  else self._http.delete("/_harness/fault"))
        if answer.status_code == 400:
            raise UsageError(f"upstream fault {spec!r}: {answer.json().get('error')}")
        answer.raise_for_status()

    def close(self) -> None:
        super().close()
        if self.served is not None:
            self.served.close()
            self.served = None
        if self._http is not None:
            self._http.close()
            self._http = None
