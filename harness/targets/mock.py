"""The default target: the reference mock, in process, without a socket.

One app is built from the :class:`~harness.mock.config.MockConfig` and every client and
WebSocket of the target shares it, so jobs created through one client can be polled through
another and the bounded stores see the whole run. HTTP goes through the project's streaming
in-process transport (:mod:`harness.mock.transport`) and WebSockets through Starlette's test
session, on ``http://mock.invalid`` (a reserved name: a client that escaped to the network
would fail loudly rather than reach a real host) under each API's mock prefix, exactly the
paths a served mock exposes, so the ``mock`` and ``url`` targets answer the same requests the
same way.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager

import httpx
from starlette.testclient import TestClient

from harness import providers
from harness.mock.app import build_app
from harness.mock.config import MockConfig
from harness.mock.transport import SyncASGITransport
from harness.providers import Api, Profile
from harness.targets import clients, ws
from harness.targets.base import TargetKind, TargetOptions, WebSocketSession

ROOT = "http://mock.invalid"


class MockTarget:
    """Clients for every built-in provider, answered by one in-process mock app."""

    kind = TargetKind.MOCK

    def __init__(self, options: TargetOptions | None = None, *,
                 mock_config: MockConfig | None = None) -> None:
        self.options = options or TargetOptions()
        self.config = mock_config or MockConfig(seed=self.options.seed,
                                                local_flavour=self.options.local_flavour)
        self.app = build_app(self.config)
        self._lock = threading.Lock()
        self._runner: TestClient | None = None

    def __repr__(self) -> str:
        return f"MockTarget(seed={self.config.seed}, faults={self.config.faults!r})"

    def _sockets(self) -> TestClient:
        # Only WebSockets need it (the HTTP transport has its own loop). Started on first use
        # and kept, so a run pays for one portal thread rather than one per session.
        with self._lock:
            if self._runner is None:
                runner = TestClient(ws.answered_handshakes(self.app, self.options.timeout_s),
                                    base_url=ROOT)
                runner.__enter__()
                self._runner = runner
            return self._runner

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        if profile.name not in providers.known():
            return (f"the mock serves only the built-in providers ({', '.join(providers.known())}); "
                    f"{profile.name!r} is not one")
        return None

    def key(self, profile: Profile, api: Api) -> str | None:
        return self.config.key_for(profile.name)

    def client(self, profile: Profile, api: Api, host: str = "default", *,
               auth: bool = True, headers: Mapping[str, str] | None = None) -> httpx.Client:
        return clients.build_client(
            f"{ROOT}{api.mock_prefix(host)}", SyncASGITransport(self.app),
            clients.auth_headers(api, self.key(profile, api), auth=auth, extra=headers),
            self.options.timeout_s)

    def websocket(self, profile: Profile, api: Api, path: str, query: Mapping[str, str], *,
                  auth: bool = True, headers: Mapping[str, str] | None = None,
                  ) -> AbstractContextManager[WebSocketSession]:
        url = ws.ws_url(f"{ROOT}{api.mock_prefix()}", path, query)
        sent = clients.auth_headers(api, self.key(profile, api), auth=auth, extra=headers)
        return ws.in_process(self._sockets(), url, sent)

    def close(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
        if runner is not None:
            runner.__exit__(None, None, None)
