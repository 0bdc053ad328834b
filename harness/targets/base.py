"""The one seam between checks and the thing under test.

A :class:`Target` only hands out clients: an ``httpx.Client`` whose base URL is the API's base
(what an SDK would be given) with the provider's auth already attached, and a WebSocket
opener for realtime APIs. Checks never learn whether the answers come from the in-process
mock, a served mock or gateway (``url``), cassettes, a live provider or a local GPU server,
which is what lets one contract suite run unchanged everywhere.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol

import httpx

from harness.errors import HarnessError
from harness.providers import Api, Profile


class TargetKind(str, Enum):
    MOCK = "mock"
    URL = "url"
    CASSETTE = "cassette"
    LIVE = "live"
    LOCAL = "local"
    GATEWAY = "gateway"


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """What the CLI and the pytest plugin pass to build a target."""

    kind: TargetKind | str = TargetKind.MOCK  # a str names a kind added with register_target
    base_url: str | None = None  # url/local: root of the server (mock layout) or API base
    cassette_dir: str | None = None
    record_mode: str = "none"
    max_requests: int | None = None  # live budget: requests per provider
    max_cost: float | None = None  # live budget: estimated USD per provider
    seed: int = 0
    timeout_s: float = 30.0  # per-request deadline covering the whole exchange
    # Gateway mode: API (protocol name, e.g. "anthropic-messages") -> that API's base URL; a
    # bare base_url stays the default for every API not named here.
    base_urls: Mapping[str, str] = field(default_factory=dict)
    # Extra request headers: (api or None for every API, name, value), in the order given.
    headers: tuple[tuple[str | None, str, str], ...] = ()
    # Model aliases: the provider's documented model name -> the name the target serves it as.
    model_aliases: Mapping[str, str] = field(default_factory=dict)
    # Gateway target: root of a running `vlm-harness serve` acting as the gateway's upstream;
    # None serves one in process.
    upstream: str | None = None
    # The server program behind the local profile (--local-flavour): the mock target serves
    # the local provider as it answers (harness.providers.flavours)
    local_flavour: str | None = None


class WebSocketClosed(HarnessError):
    """The server closed the WebSocket (``code``) or refused the handshake (``status``).

    Raised by a target's ``websocket()`` on entry when the handshake fails and by
    ``receive_json`` once the server has closed; every target raises this one type, so a check
    asserts on close codes without knowing whether it talks to the in-process mock or a socket.
    """

    def __init__(self, code: int | None, reason: str = "", status: int | None = None) -> None:
        self.code, self.reason, self.status = code, reason, status
        what = f"refused the handshake with HTTP {status}" if status is not None else (
            f"closed the connection with code {code}")
        super().__init__(f"WebSocket: the server {what}" + (f" ({reason})" if reason else ""))


class WebSocketSession(Protocol):
    """The minimal WebSocket surface the realtime checks use.

    ``receive_json`` raises :class:`TimeoutError` when nothing arrives within ``timeout`` and
    :class:`WebSocketClosed` once the server has closed (``close_code`` is then set).
    """

    def send_json(self, data: Any) -> None: ...
    def send_text(self, data: str) -> None: ...
    def receive_json(self, timeout: float = 5.0) -> Any: ...
    def close(self, code: int = 1000) -> None: ...
    @property
    def close_code(self) -> int | None: ...


class Target(Protocol):
    """Produces clients for a provider API; never knows what a check will send."""

    kind: TargetKind

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        """Why this API cannot be exercised here (no key, no WebSocket replay...), or None."""

    def client(self, profile: Profile, api: Api, host: str = "default", *,
               auth: bool = True, headers: Mapping[str, str] | None = None) -> httpx.Client:
        """A client whose base URL is the API base for ``host``; ``auth=False`` sends no key."""

    def websocket(self, profile: Profile, api: Api, path: str, query: Mapping[str, str], *,
                  auth: bool = True, headers: Mapping[str, str] | None = None,
                  ) -> AbstractContextManager[WebSocketSession]:
        """Open the API's WebSocket ``path`` (e.g. ``/realtime``) with ``query``; ``headers`` are
        sent with the handshake (``x-harness-fault`` for the mock)."""

    def key(self, profile: Profile, api: Api) -> str | None:
        """The key this target authenticates with (for scrubbing and wrong-key probes)."""

    def close(self) -> None: ...
