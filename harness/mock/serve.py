"""The mock served over a real socket: ``vlm-harness serve`` and :class:`ServedMock` for tests.

SDKs that cannot be handed a transport (fal-client, wavespeed, an SDK in a subprocess, the
contract engine's ``url`` target) need a listening server. :class:`ServedMock` runs uvicorn
in a background thread on a free loopback port, waits until ``/_harness/health`` answers and
says which base URL each provider API has; with ``tls=True`` it first makes a throwaway CA and
a certificate for 127.0.0.1/localhost with trustme (fal-client only speaks https). The
command serves in the foreground, prints the same URLs, and stops on Ctrl-C or SIGTERM with
exit status 0: realtime sessions closed the documented way, streams given :data:`GRACE_S`
to finish, the TLS folder (CA and server key) removed.
"""

from __future__ import annotations

import socket
import ssl
import sys
import tempfile
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

import httpx

from harness import providers
from harness.errors import UsageError
from harness.mock import allocator, defects, faults, server
from harness.mock.app import base_urls, build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.server import GRACE_S, MockServer


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto must say TCP: asyncio sets TCP_NODELAY only on sockets whose proto is IPPROTO_TCP,
    # and without it every keep-alive response waits ~40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise UsageError(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.setblocking(False)
    return sock


class ServedMock:
    """The mock app behind uvicorn in a daemon thread; use as a context manager or ``.close()``."""

    def __init__(self, config: MockConfig | None = None, *, names: Iterable[str] | None = None,
                 host: str = "127.0.0.1", port: int = 0, tls: bool = False,
                 log_level: str = "warning") -> None:
        self.config = config or MockConfig()
        self.names = [p.name for p in providers.select(",".join(names) if names else "all")]
        self.app = build_app(self.config, self.names)
        self._tmp = tempfile.TemporaryDirectory(prefix="vlm-harness-tls-") if tls else None
        self.ca_path: Path | None = None
        self.certfile = self._make_certs() if self._tmp else None
        self._sock = _bind(host, port)
        bound_port = self._sock.getsockname()[1]
        shown_host = f"[{host}]" if ":" in host else host
        self.url = f"{'https' if tls else 'http'}://{shown_host}:{bound_port}"
        self._server = MockServer(server.config(self.app, log_level=log_level,
                                                ssl_certfile=self.certfile),
                                  lambda: self.app.state.mock)
        self._thread: threading.Thread | None = None

    def _make_certs(self) -> str:
        import trustme  # only TLS needs it

        assert self._tmp is not None
        ca = trustme.CA()
        leaf = ca.issue_cert("127.0.0.1", "localhost", "::1")
        folder = Path(self._tmp.name)
        self.ca_path = folder / "ca.pem"
        ca.cert_pem.write_to_path(str(self.ca_path))
        certfile = folder / "server.pem"  # key and chain in one file, as uvicorn accepts
        leaf.private_key_and_cert_chain_pem.write_to_path(str(certfile))
        return str(certfile)

    def start(self, timeout: float = 10.0) -> ServedMock:
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name=f"vlm-harness-mock-{self.url}", daemon=True)
        self._thread.start()
        try:
            self._wait_healthy(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self._thread and self._thread.is_alive():
            if self._server.started:
                try:
                    r = httpx.get(f"{self.url}/_harness/health", verify=self.ssl_context(), timeout=1)
                    if r.is_success:
                        return
                except httpx.TransportError:
                    pass
            time.sleep(0.02)
        raise UsageError(f"the mock did not come up on {self.url} within {timeout} s")

    @property
    def socket(self) -> socket.socket:
        """The bound, listening socket (workers of ``serve --workers N`` accept on it)."""
        return self._sock

    def ssl_context(self) -> ssl.SSLContext:
        """A client context that trusts this server (its throwaway CA when serving TLS)."""
        return ssl.create_default_context(cafile=str(self.ca_path) if self.ca_path else None)

    def base_urls(self) -> dict[str, dict[str, str]]:
        return base_urls(self.url, self.names)

    def base_url(self, provider: str, label: str | None = None) -> str:
        """The base URL an SDK should be given, e.g. ``base_url("mimo", "anthropic-messages")``;
        ``label`` defaults to the provider's first API."""
        apis = self.base_urls().get(provider)
        if apis is None:
            raise UsageError(f"provider {provider!r} is not served; served: {', '.join(self.names)}")
        if label is None:
            return next(iter(apis.values()))
        if label not in apis:
            raise UsageError(f"{provider} has no API {label!r}; known: {', '.join(apis)}")
        return apis[label]

    def serve_forever(self) -> None:
        """Serve in the calling (main) thread until Ctrl-C or SIGTERM; then close (which
        removes the TLS folder)."""
        try:
            self._server.run(sockets=[self._sock])
        finally:
            self.close()

    def close(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(GRACE_S + 5)
            self._thread = None
        self._sock.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> ServedMock:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def env_hints(urls: dict[str, dict[str, str]], ca_path: Path | None) -> list[str]:
    """Environment for SDKs that cannot take a base URL (fal-client reads these at import)."""
    hints = [f"SSL_CERT_FILE={ca_path}"] if ca_path else []
    fal = urls.get("fal", {})
    for var, label in (("FAL_RUN_HOST", "fal-queue:run"), ("FAL_QUEUE_RUN_HOST", "fal-queue:queue")):
        if label in fal and ca_path:  # fal-client hard-codes https://, so only with --tls
            parts = urlsplit(fal[label])
            hints.append(f"{var}={parts.netloc}{parts.path}")
    return hints


# (provider, API label, how its official SDK is pointed at a base URL)
SDK_SNIPPETS = (
    ("modelbest", "openai-chat", 'OpenAI(base_url="{url}", api_key="{key}")'),
    ("mimo", "openai-chat", 'OpenAI(base_url="{url}", api_key="{key}")'),
    ("mimo", "anthropic-messages", 'Anthropic(base_url="{url}", api_key="{key}")'),
    ("wavespeed", "wavespeed-v3", 'wavespeed.Client(api_key="{key}", base_url="{url}")'),
    ("local", "openai-chat", 'OpenAI(base_url="{url}", api_key="EMPTY")'),
)


def banner(served: ServedMock, key_note: str = "") -> list[str]:
    """What ``serve`` prints: the key to use and how each official SDK is pointed here."""
    urls = served.base_urls()
    lines = [f"API key: {MOCK_KEY} (a published test value){key_note}", "SDKs:"]
    for provider, label, text in SDK_SNIPPETS:
        url = urls.get(provider, {}).get(label)
        if url:
            lines.append(f"  {text.format(url=url, key=MOCK_KEY)}")
    if "fal" in urls:
        lines.append("  # fal-client hard-codes https: serve with --tls and use the "
                     "FAL_QUEUE_RUN_HOST / SSL_CERT_FILE hints" if served.ca_path is None else
                     f"  # fal-client: export FAL_KEY={MOCK_KEY} and the hints below")
    return lines


def command(*, host: str, port: int, tls: bool, faults_spec: str, seed: int,
            names: str, defects_spec: str = "", workers: int = 1, strict: bool = False,
            time_scale: float = 1.0, keys: tuple[str, ...] = (), any_key: bool = False,
            local_flavour: str | None = None) -> int:
    faults.parse(faults_spec)  # a bad spec is a usage error before anything starts
    defects.parse(defects_spec)
    providers.select(names, local_flavour)  # an unknown flavour, too
    if any(not k.strip() for k in keys):
        raise UsageError("--key: an empty key would let requests without one through; give a "
                         "value, or use --any-key")
    # Served, the mock keeps the documents' clock (time_scale 1); tests pass a faster one.
    config = MockConfig(seed=seed, faults=faults_spec, defects=defects_spec, strict=strict,
                        realtime_time_scale=time_scale, extra_keys=tuple(keys), any_key=any_key,
                        local_flavour=local_flavour)
    served = ServedMock(config, names=None if names in ("", "all") else names.split(","),
                        host=host, port=port, tls=tls, log_level="info")
    print(f"vlm-harness reference mock on {served.url} (seed {seed}, "
          f"faults: {faults_spec or 'none'}, defects: {defects_spec or 'none'}, "
          f"limits: {'strict' if strict else 'documented (advisory ones reported)'}, "
          f"time scale {time_scale:g}"
          f"{f', local as {local_flavour}' if local_flavour else ''}); Ctrl-C stops it", flush=True)
    for provider, apis in served.base_urls().items():
        for label, url in apis.items():
            print(f"  {provider:<10} {label:<24} {url}")
    # The user's own keys are secrets: counted, never printed.
    note = ("; any other non-empty key is accepted too (--any-key)" if any_key else
            f"; also accepted: the {len(keys)} key(s) given with --key" if keys else "")
    for line in banner(served, note):
        print(line)
    hints = env_hints(served.base_urls(), served.ca_path)
    if served.ca_path:
        print(f"TLS: CA certificate {served.ca_path} (trust it, e.g.):")
    for hint in hints:
        print(f"  export {hint}")
    fal = served.base_urls().get("fal", {})
    if served.ca_path and "fal-queue:rest" in fal:  # constants in fal-client, not variables
        print(f"  # and in Python: fal_client.client.REST_URL = {fal['fal-queue:rest']!r}; "
              f"fal_client.client.CDN_URL = {fal['fal-queue:cdn']!r}")
    sys.stdout.flush()
    allocator.keep_large_blocks()
    if workers > 1:
        from harness.mock import workers as multi

        print(f"{workers} worker processes share the port; jobs and uploads are shared",
              flush=True)
        try:
            multi.run(served, workers)
        finally:
            served.close()
    else:
        served.serve_forever()
    print("mock stopped", flush=True)
    return 0
