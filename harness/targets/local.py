"""The ``local`` target: an OpenAI-compatible GPU server (vLLM, SGLang, llama.cpp).

It serves only the ``local`` provider. The server is ``--vlm-base-url`` or, failing that, the
profile's ``base_url_env`` (``VLM_HARNESS_LOCAL_URL``); with neither, every API is skipped with
a message saying which to set, because guessing a port would test whatever happens to listen
there. A URL without a path gets ``/v1`` appended, where all three servers mount their
OpenAI routes. The key (``VLM_HARNESS_LOCAL_KEY``) is optional, as these servers usually run
without one; the served model is the profile's ``model_env`` (``VLM_HARNESS_LOCAL_MODEL``),
which ``Api.default_model()`` already reads.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit

from harness.errors import UsageError
from harness.providers import Api, Profile
from harness.targets.base import TargetKind
from harness.targets.network import NetworkTarget

PROVIDER = "local"


class LocalTarget(NetworkTarget):
    """A local inference server speaking the OpenAI chat protocol."""

    kind = TargetKind.LOCAL

    def _configured(self, api: Api) -> str | None:
        return (self.options.base_urls.get(api.protocol.name) or self.options.base_url
                or (api.base_url_env and os.environ.get(api.base_url_env)) or None)

    def skip_reason(self, profile: Profile, api: Api) -> str | None:
        if profile.name != PROVIDER:
            return f"the local target serves only the {PROVIDER!r} provider"
        if self._configured(api) is None:
            return (f"set {api.base_url_env or 'VLM_HARNESS_LOCAL_URL'} or --base-url "
                    "(--vlm-base-url under pytest)")
        return None

    def api_base(self, profile: Profile, api: Api, host: str = "default") -> str:
        reason = self.skip_reason(profile, api)
        url = self._configured(api)
        if reason is not None or url is None:
            raise UsageError(f"local target: {reason}")
        url = url.rstrip("/")
        return url if urlsplit(url).path else f"{url}/v1"
