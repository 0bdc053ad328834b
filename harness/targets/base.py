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
from dataclasses import dataclass
from enum import Enum
from typing import Any, Protocol

import httpx

from harness.providers import Api, Profile


class TargetKind(str, Enum):
    MOCK = "mock"
    URL = "url"
    CASSETTE = "cassette"
    LIVE = "live"
    LOCAL = "local"


@dataclass(frozen=True, slots=True)
class TargetOptions:
    """What the CLI and the pytest plugin pass to build a target."""

    kind: TargetKind = TargetKind.MOCK
    base_url: str | None = None  # url/local: root of the server (mock layout) or API base
    cassette_dir: str | None = None
    record_mode: str = "none"
    max_requests: int | None = None  # live budget: requests per provider
    max_cost: float | None = None  # live budget: estimated USD per provider
    seed: int = 0
    timeout_s: float = 30.0


class WebSocketSession(Protocol):
    """The minimal WebSocket surface the realtime checks use."""

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
                  auth: bool = True) -> AbstractContextManager[WebSocketSession]:
        """Open the API's WebSocket ``path`` (e.g. ``/realtime``) with ``query``."""

    def key(self, profile: Profile, api: Api) -> str | None:
        """The key this target authenticates with (for scrubbing and wrong-key probes)."""

    def close(self) -> None: ...
