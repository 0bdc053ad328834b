"""How every target builds the httpx client it hands to a check, in one place.

All targets agree on the details a check must be able to rely on: a deadline on every request
covering the whole exchange (``TargetOptions.timeout_s``, cut short by the check's and the
run's budgets), the provider's auth headers built from its profile (or none for
``auth=False`` probes), same-origin redirects followed but a redirect to another host refused,
and a recognisable user agent. Only the transport (in-process ASGI, network, budgeted network)
and the base URL differ between targets, and those are what they pass in.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx

from harness import __version__
from harness.errors import HarnessError
from harness.providers import Api
from harness.targets.timed import DeadlineTransport, bounded_backend

USER_AGENT = f"vlm-contract-harness/{__version__}"


class RedirectRefused(HarnessError):
    """A response redirected to another origin; the client carries a key, so it stops here."""


def auth_headers(api: Api, key: str | None, *, auth: bool = True,
                 extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The headers a request to ``api`` carries: its key (unless ``auth`` is off), then ``extra``."""
    # Protocol headers that ride with auth (anthropic-version) still go out without a key, so
    # an auth=False probe differs from an authenticated request by the key alone.
    headers = api.auth.headers(key or "")
    if not (auth and key):
        headers.pop(api.auth.styles[0].header)
    headers.update(extra or {})
    return headers


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def refuse_cross_origin_redirect(response: httpx.Response) -> None:
    """Response hook: httpx strips ``Authorization`` on such redirects but not ``api-key`` or
    ``x-api-key`` (MiMo, Anthropic), so following one would hand the key to another host."""
    if not response.has_redirect_location:
        return
    location = response.url.join(response.headers["location"])
    if _origin(location) != _origin(response.url):
        raise RedirectRefused(
            f"{response.request.method} {response.url.copy_with(query=None)} answered "
            f"{response.status_code} redirecting to another host ({location.host}); not followed "
            "because the client carries a provider key")


def build_client(base_url: str, transport: httpx.BaseTransport, headers: Mapping[str, str],
                 timeout_s: float) -> httpx.Client:
    """A client for one API base; the single constructor every target uses. ``timeout_s``
    bounds each whole exchange (:class:`~harness.targets.timed.DeadlineTransport`)."""
    return httpx.Client(
        base_url=base_url, transport=DeadlineTransport(transport, timeout_s),
        headers={"user-agent": USER_AGENT, **headers},
        timeout=httpx.Timeout(timeout_s), follow_redirects=True,
        event_hooks={"response": [refuse_cross_origin_redirect]})


class Lent(httpx.BaseTransport):
    """A target's long-lived transport lent to one client: closing the client (checks open one
    per call) must neither stop the in-process app nor drop a connection pool the run reuses."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self.inner.handle_request(request)


def network_transport(base_url: str) -> httpx.HTTPTransport:
    """A socket transport for ``base_url`` that still honours ``*_PROXY``/``NO_PROXY``.

    httpx reads proxy variables only when it builds its own transport, and the targets wrap
    theirs (budget, retries), so the proxy is chosen here the way urllib and websockets do.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    proxy = None if urllib.request.proxy_bypass(host) else urllib.request.getproxies().get(parts.scheme)
    return bounded_backend(httpx.HTTPTransport(proxy=proxy))
