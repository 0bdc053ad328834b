"""What the ``url``, ``live`` and ``local`` targets share: real sockets, budgets, pools.

These targets differ only in where an API lives (:meth:`NetworkTarget.api_base`), which key they
send (:meth:`NetworkTarget.key`) and when they cannot run (``skip_reason``). Everything else is
here, once: one connection pool per origin kept for the whole run (checks open a client per
call), every request charged to the provider's :class:`~harness.targets.budget.Budget` (``--vlm-
max-requests``/``--vlm-max-cost``; a WebSocket session counts as one request), the retry policy
of the kind (only ``live`` waits out throttling by default: against a mock or a gateway a 429 is
usually what a check is looking at), the user's gateway headers (``--header``, on requests and
WebSocket handshakes alike) and model aliases (``--model``, :mod:`~harness.targets.aliases`),
and WebSocket sessions over ``websockets``. Keys are read from the environment when a client is
built and never stored, so no repr or error message of a target can show one."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager

import httpx

from harness.mock.config import MockConfig
from harness.providers import Api, Profile
from harness.targets import clients, ws
from harness.targets.aliases import AliasTransport
from harness.targets.base import TargetKind, TargetOptions, WebSocketSession
from harness.targets.budget import NO_RETRY, Budget, BudgetTransport, RetryPolicy, price


class NetworkTarget:
    """Base of the targets that reach a server over the network; subclasses say where."""

    kind: TargetKind
    default_retry: RetryPolicy = NO_RETRY

    def __init__(self, options: TargetOptions | None = None, *,
                 mock_config: MockConfig | None = None, retry: RetryPolicy | None = None) -> None:
        self.options = options or TargetOptions(kind=self.kind)
        self.mock_config = mock_config
        self.retry = self.default_retry if retry is None else retry
        self._lock = threading.Lock()
        self._budgets: dict[str, Budget] = {}
        self._pools: dict[str, httpx.HTTPTransport] = {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.options.base_url!r})"

    # -- what subclasses decide ---------------------------------------------------------------

    def api_base(self, profile: Profile, api: Api, host: str = "default") -> str:
        """The base URL an SDK would be given for ``api`` on ``host``."""
        raise NotImplementedError

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        return None

    def key(self, profile: Profile, api: Api) -> str | None:
        return api.auth.key_from_env()

    # -- shared machinery ----------------------------------------------------------------------

    def budget(self, provider: str) -> Budget:
        """The provider's budget for this run (created on first use, shared by its clients)."""
        with self._lock:
            if provider not in self._budgets:
                self._budgets[provider] = Budget(provider, self.options.max_requests,
                                                 self.options.max_cost)
            return self._budgets[provider]

    def _pool(self, base: str) -> httpx.HTTPTransport:
        origin = httpx.URL(base).copy_with(path="/", query=None, fragment=None)
        with self._lock:
            if str(origin) not in self._pools:
                self._pools[str(origin)] = clients.network_transport(base)
            return self._pools[str(origin)]

    def extra_headers(self, api: Api, headers: Mapping[str, str] | None) -> dict[str, str]:
        """The user's ``--header`` values for ``api``, then the caller's own (which win)."""
        mine = {name: value for scope, name, value in self.options.headers
                if scope in (None, api.protocol.name)}
        return {**mine, **(headers or {})}

    def client(self, profile: Profile, api: Api, host: str = "default", *,
               auth: bool = True, headers: Mapping[str, str] | None = None) -> httpx.Client:
        base = self.api_base(profile, api, host)
        wire: httpx.BaseTransport = clients.Lent(self._pool(base))
        if self.options.model_aliases:  # under the budget, which prices the documented model
            wire = AliasTransport(wire, self.options.model_aliases)
        transport = BudgetTransport(wire, self.budget(profile.name), api, self.retry)
        return clients.build_client(
            base, transport, clients.auth_headers(api, self.key(profile, api), auth=auth,
                                                  extra=self.extra_headers(api, headers)),
            self.options.timeout_s)

    def websocket(self, profile: Profile, api: Api, path: str, query: Mapping[str, str], *,
                  auth: bool = True, headers: Mapping[str, str] | None = None,
                  ) -> AbstractContextManager[WebSocketSession]:
        url = ws.ws_url(self.api_base(profile, api), path, query)
        probe = httpx.Request("GET", url.replace("ws", "http", 1))  # priced like a request
        self.budget(profile.name).charge(price(api, probe), f"WEBSOCKET {probe.url.path}")
        sent = clients.auth_headers(api, self.key(profile, api), auth=auth,
                                    extra=self.extra_headers(api, headers))
        return ws.over_socket(url, sent, self.options.timeout_s)

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), {}
        for pool in pools:
            pool.close()
