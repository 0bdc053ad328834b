"""The ``url`` target: a server the user names with ``--vlm-base-url``.

The URL is read by one rule. A bare root (no path, or ``/``) is a server laid out like the
reference mock (``vlm-harness serve``, or a gateway mirroring it): each API lives at
``{root}{api.mock_prefix(host)}``, e.g. ``http://127.0.0.1:8765/modelbest/v1``. A URL with a
path (``https://gw.example/v1``) is one API's base on a single-provider gateway: it serves the
*first* API of whichever provider is selected, for every host of that API, and the provider's
other APIs are skipped. ``API=URL`` (``--base-url anthropic-messages=http://gw:4000``, options'
``base_urls``) gives one API its own base, used as is, for every provider speaking that
protocol: a gateway serving ``/v1/chat/completions`` and ``/v1/messages`` on one host is tested
on both; an API with no URL of either kind is skipped, naming the flag to add. The key is the
provider's environment variable when set, else the key the mock accepts
(:data:`~harness.mock.config.MOCK_KEY`, or the one ``mock_config`` gives for the provider), so a
served mock works with no setup."""

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
        url, per_api = self.options.base_url, self.options.base_urls
        if not url and not per_api:
            raise UsageError("the url target needs --base-url (--vlm-base-url under pytest): the "
                             "root of a served mock or gateway (http://127.0.0.1:8765), one API's "
                             "base (https://gw.example/v1), or API=URL per API")
        for given in ([url] if url else []) + list(per_api.values()):
            parts = urlsplit(given)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise UsageError(f"--base-url (--vlm-base-url) must be an http(s) URL with a host, "
                                 f"not {given!r}")
        self.root = url.rstrip("/") if url else ""
        self.direct = urlsplit(url).path not in ("", "/") if url else False  # a path: one API's base
        self.per_api = {api: u.rstrip("/") for api, u in per_api.items()}

    def api_base(self, profile: Profile, api: Api, host: str = "default") -> str:
        if api.protocol.name in self.per_api:
            return self.per_api[api.protocol.name]
        return self.root if self.direct else f"{self.root}{api.mock_prefix(host)}"

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        first = profile.apis[0]
        if api.protocol.name in self.per_api:
            return None
        if not self.root:
            return (f"no base URL for {api.protocol.name}: add --base-url "
                    f"{api.protocol.name}=URL (--vlm-base-url under pytest)")
        if self.direct and api.protocol.name != first.protocol.name:
            return (f"--vlm-base-url {self.root} has a path, so it is taken as the base of "
                    f"{profile.name}'s first API ({first.protocol.name}) only; add --base-url "
                    f"{api.protocol.name}=URL, or give the server's root URL to reach every API "
                    "in the mock layout")
        return None

    def key(self, profile: Profile, api: Api) -> str | None:
        return api.auth.key_from_env() or (self.mock_config or MockConfig()).key_for(profile.name)
