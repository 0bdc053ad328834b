"""The ``url`` target: a server the user names with ``--vlm-base-url``.

The URL is read by one rule. A bare root (no path, or ``/``) is a server laid out like the
reference mock (``vlm-harness serve``, or a gateway mirroring it): each API lives at
``{root}{api.mock_prefix(host)}``, e.g. ``http://127.0.0.1:8765/modelbest/v1``. A URL with a
path (``https://gw.example/v1``) is one API's base on a single-provider gateway: it serves the
*first* API of whichever provider is selected, for every host of that API, and the provider's
other APIs are skipped. The key is the provider's environment variable when set, else the
key the mock accepts (:data:`~harness.mock.config.MOCK_KEY`, or the one ``mock_config`` gives
for the provider), so a served mock works with no setup.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from harness.errors import UsageError
from harness.mock.config import MockConfig
from harness.providers import Api, Profile
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.budget import RetryPolicy
from harness.targets.network import NetworkTarget


class UrlTarget(NetworkTarget):
    """A served mock or gateway at a user-given URL."""

    kind = TargetKind.URL

    def __init__(self, options: TargetOptions | None = None, *,
                 mock_config: MockConfig | None = None, retry: RetryPolicy | None = None) -> None:
        super().__init__(options, mock_config=mock_config, retry=retry)
        url = self.options.base_url
        if not url:
            raise UsageError("the url target needs --base-url (--vlm-base-url under pytest): the "
                             "root of a served mock or gateway (http://127.0.0.1:8765) or one API's base (https://gw.example/v1)")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"--base-url (--vlm-base-url) must be an http(s) URL with a host, not {url!r}")
        self.root = url.rstrip("/")
        self.direct = parts.path not in ("", "/")  # a path means: one API's base, used as is

    def api_base(self, profile: Profile, api: Api, host: str = "default") -> str:
        return self.root if self.direct else f"{self.root}{api.mock_prefix(host)}"

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        first = profile.apis[0]
        if self.direct and api.protocol.name != first.protocol.name:
            return (f"--vlm-base-url {self.root} has a path, so it is taken as the base of "
                    f"{profile.name}'s first API ({first.protocol.name}) only; give the server's "
                    "root URL to reach every API in the mock layout")
        return None

    def key(self, profile: Profile, api: Api) -> str | None:
        return api.auth.key_from_env() or (self.mock_config or MockConfig()).key_for(profile.name)
