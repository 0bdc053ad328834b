"""The ``cassette`` target: the contract suite replayed from vcrpy cassettes, network blocked.

Clients get a :class:`~harness.recording.transport.ReplayTransport` on the canonical API base
(``http://mock.invalid/{provider}...``, the in-process mock's reserved name), which answers from
``cassettes/<provider>/*.yaml`` and never opens a socket: with ``record_mode="none"`` (the
default) a request no cassette holds is a :class:`~harness.recording.match.CassetteMiss` that
lists the closest recorded requests. The other vcrpy modes (``once``, ``new_episodes``,
``all``) wrap another target, the ``url`` target when a base URL is given, else ``live`` (or
whichever target the caller passes as ``inner``, as ``vlm-harness record --target mock`` does),
send what the cassettes lack through it and record the scrubbed interaction into the cassette
named by :attr:`CassetteTarget.scenario` (the recorder sets it to the running check; otherwise
``unsorted``). Realtime APIs are skipped: vcrpy records HTTP, not WebSocket sessions.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from vcr.record_mode import RecordMode

from harness.errors import UsageError
from harness.mock.config import MockConfig
from harness.providers import Api, Profile
from harness.recording.cassettes import (
    SUFFIX,
    UNSORTED,
    Pool,
    Recording,
    Written,
    canonical_base,
    default_dir,
    record_mode,
    scenarios,
)
from harness.recording.scrub import DEFAULT_MEDIA_THRESHOLD, Rebase, hooks
from harness.recording.transport import Forwarder, ReplayTransport
from harness.secrets import Scrubber
from harness.targets import clients
from harness.targets.base import Target, TargetKind, TargetOptions, WebSocketSession

# The key replay clients send: matching counts it as "our key", like the recording's own key.
REPLAY_KEY = "vlmh-cassette-replay-key"
NO_WEBSOCKET = ("vcrpy cannot record WebSocket sessions; run the realtime checks on the mock, "
                "url, live or local target")


def kind_name(target: Target) -> str:
    """A target's kind as a string (a kind added with ``register_target`` may be a plain str)."""
    kind: TargetKind | str = target.kind
    return kind.value if isinstance(kind, TargetKind) else kind


def origin_of(inner: Target, provider: str) -> str:
    """What a recording through ``inner`` is labelled with in the cassette metadata."""
    kind = kind_name(inner)
    if kind == TargetKind.MOCK.value:
        return "reference-mock"
    if kind == TargetKind.LIVE.value:
        return f"live:{provider}"
    # The host only: a served mock's random port would make every re-recording differ.
    base = getattr(getattr(inner, "options", None), "base_url", None) or ""
    return Scrubber.from_env().text(f"{kind}:{urlsplit(base).hostname or 'unknown'}")


class CassetteTarget:
    """Replays (and, in a record mode, records) one cassette pool per provider."""

    kind = TargetKind.CASSETTE

    def __init__(self, options: TargetOptions | None = None, *,
                 mock_config: MockConfig | None = None, inner: Target | None = None,
                 media_threshold: int = DEFAULT_MEDIA_THRESHOLD) -> None:
        self.options = options or TargetOptions(kind=TargetKind.CASSETTE)
        self.mode = record_mode(self.options.record_mode)
        self.folder = Path(self.options.cassette_dir) if self.options.cassette_dir else default_dir()
        self._owns_inner = False
        if self.mode is RecordMode.NONE and inner is None:
            # Replaying nothing would skip every case and pass: a mistyped or empty folder is a
            # usage error, not a green run.
            if not self.folder.is_dir():
                raise UsageError(f"--cassettes-dir (--vlm-cassette-dir) {self.folder}: no such folder")
            if not any(self.folder.glob(f"*/*{SUFFIX}")):
                raise UsageError(f"--cassettes-dir (--vlm-cassette-dir) {self.folder}: no cassettes "
                                 "(<provider>/<scenario>.yaml); record them with: "
                                 "vlm-harness record --target mock --cassettes-dir "
                                 f"{self.folder}")
        if self.mode is not RecordMode.NONE and inner is None:
            from harness.targets import make_target  # the wrapped kind is only needed to record

            kind = TargetKind.URL if self.options.base_url else TargetKind.LIVE
            inner = make_target(TargetOptions(
                kind=kind, base_url=self.options.base_url, max_requests=self.options.max_requests,
                max_cost=self.options.max_cost, seed=self.options.seed,
                timeout_s=self.options.timeout_s), mock_config=mock_config)
            self._owns_inner = True
        self.inner = inner if self.mode is not RecordMode.NONE else None
        self.media_threshold = media_threshold
        self.scenario = UNSORTED  # where new interactions go; the recorder names each check
        self._pools: dict[str, Pool] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CassetteTarget(folder={str(self.folder)!r}, record_mode={self.mode.value!r})"

    def _pool(self, profile: Profile) -> Pool:
        with self._lock:
            if profile.name not in self._pools:
                self._pools[profile.name] = self._new_pool(profile)
            return self._pools[profile.name]

    def _new_pool(self, profile: Profile) -> Pool:
        if self.inner is None:
            return Pool(profile.name, self.folder, own=(REPLAY_KEY,))
        keys = tuple(k for api in profile.apis if (k := self.inner.key(profile, api)))
        rebase = self._rebase(profile)
        return Pool(profile.name, self.folder, self.mode, own=(REPLAY_KEY, *keys),
                    recording=Recording(
                        hooks(Scrubber.from_env(), own=keys, rebase=rebase,
                              media_threshold=self.media_threshold),
                        rebase=rebase, origin=origin_of(self.inner, profile.name),
                        target=kind_name(self.inner), media_threshold=self.media_threshold))

    def _rebase(self, profile: Profile) -> Rebase:
        """Each real API base of the wrapped target, paired with its canonical base."""
        assert self.inner is not None
        pairs = []
        for api in profile.apis:
            if self._websocket_only(api) or self.inner.skip_reason(profile, api):
                continue
            for host in api.base_urls:
                with self.inner.client(profile, api, host, auth=False) as probe:
                    pairs.append((str(probe.base_url), canonical_base(api, host)))
        return Rebase.of(pairs)

    @staticmethod
    def _websocket_only(api: Api) -> bool:
        return all(ep.method.upper() == "WEBSOCKET" for ep in api.protocol.endpoints)

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        if self._websocket_only(api):
            return NO_WEBSOCKET
        if self.inner is not None:
            return self.inner.skip_reason(profile, api)
        if not scenarios(self.folder, profile.name):
            return (f"no cassettes for {profile.name} under {self.folder}; record them with: "
                    f"vlm-harness record --target mock --provider {profile.name}")
        return None

    def key(self, profile: Profile, api: Api) -> str | None:
        return REPLAY_KEY if self.inner is None else self.inner.key(profile, api)

    def client(self, profile: Profile, api: Api, host: str = "default", *,
               auth: bool = True, headers: Mapping[str, str] | None = None) -> httpx.Client:
        pool = self._pool(profile)
        key = self.key(profile, api)
        sent = clients.auth_headers(api, key, auth=auth, extra=headers)
        forward = None
        if self.inner is not None:
            inner = self.inner
            forward = Forwarder(lambda: inner.client(profile, api, host, auth=auth, headers=headers),
                                {**sent, "user-agent": clients.USER_AGENT},
                                pool.recording.rebase if pool.recording else Rebase())
        transport = ReplayTransport(pool, key=key if auth else None, scenario=lambda: self.scenario,
                                    forward=forward)
        return clients.build_client(canonical_base(api, host), transport, sent, self.options.timeout_s)

    def websocket(self, profile: Profile, api: Api, path: str, query: Mapping[str, str], *,
                  auth: bool = True, headers: Mapping[str, str] | None = None,
                  ) -> AbstractContextManager[WebSocketSession]:
        raise UsageError(f"{profile.name} {api.protocol.name}: {NO_WEBSOCKET}")

    def save(self) -> list[Written]:
        """Write every cassette recorded into during this session."""
        with self._lock:
            pools = list(self._pools.values())
        return [w for pool in pools for w in pool.save()]

    def close(self) -> None:
        if self.inner is not None:
            self.save()
            if self._owns_inner:
                self.inner.close()
