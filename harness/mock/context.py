"""What a protocol handler of the mock needs: its provider, config, state and helpers.

One :class:`MockContext` exists per provider API. It authenticates a request the way that
provider does, reads and validates a JSON body against the provider's (dialect-overlaid)
schema, checks media against the profile's limits and renders every problem in the provider's
own error shape. Handlers stay small: they decide what to answer, not how to fail.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from types import MappingProxyType
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse
from starlette.types import Scope

from harness.media import Payload
from harness.mock import catalogue
from harness.mock.advisory import advise
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.errors import error_response
from harness.mock.faults import RuntimeFault
from harness.mock.journaling import Journal
from harness.mock.shared_store import DiskStore
from harness.mock.store import BoundedStore
from harness.mock.validation import MediaItem, Problem, media_payloads, parse_json, schema_problem
from harness.providers import Api, Profile
from harness.secrets import CREDENTIAL_HEADERS, REDACTED, Scrubber

# fal answers 422 for validation errors (FastAPI); everyone else 400.
VALIDATION_STATUS = {"fal-queue": 422}


def integral(value: Any) -> Any:
    """``value`` with integral floats as ints: JSON Schema counts 5.0 as an integer, so a
    valid ``"max_tokens": 5.0`` or ``"n": 1.0`` must reach handlers as the int it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [integral(v) for v in value]
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class Seen:
    """One request as the mock received it; credential header values are redacted."""

    method: str
    path: str
    headers: Mapping[str, str]

    @classmethod
    def of(cls, scope: Scope) -> Seen:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        return cls(scope.get("method", "GET"), scope["path"], MappingProxyType({
            k: REDACTED if k in CREDENTIAL_HEADERS else v for k, v in headers.items()}))


@dataclass
class MockState:
    """State shared by every handler of one app: bounded, so a long run stays flat."""

    config: MockConfig
    jobs: BoundedStore[Any] | DiskStore[Any]
    uploads: BoundedStore[bytes] | DiskStore[bytes]
    sessions: BoundedStore[Any]
    webhooks: list[dict[str, Any]]  # delivery log (bounded by the handler that appends)
    # What reached the app, newest last: lets a test count an SDK's retries or see its headers.
    seen: deque[Seen] = field(default_factory=lambda: deque(maxlen=2048))
    # Error messages quote client input ("model 'x' does not exist"); a key pasted into a field
    # must not come back, so every message passes through this first.
    scrubber: Scrubber = field(default_factory=lambda: Scrubber(()))
    # Every request and its answer, for the gateway checks (bounded by the config).
    journal: Journal = field(default_factory=lambda: Journal(1024, 4 * 1024 * 1024))
    # A fault set at run time (PUT /_harness/fault): wins over the server's, not the header's.
    runtime_fault: RuntimeFault | None = None

    @classmethod
    def create(cls, config: MockConfig) -> MockState:
        def store(shared: str | None = None) -> Any:
            if shared and config.shared_dir:  # serve --workers N: every worker sees these
                return DiskStore(Path(config.shared_dir) / shared, config.store_max_items,
                                 config.store_ttl_s)
            return BoundedStore(config.store_max_items, config.store_ttl_s)

        return cls(config, store("jobs"), store("uploads"), store(), [],
                   deque(maxlen=config.store_max_items),
                   Scrubber.from_env(extra=(*config.keys.values(), *config.extra_keys,
                                                     MOCK_KEY)),
                   Journal(config.journal_max_entries, config.journal_max_bytes))


@dataclass
class MockContext:
    profile: Profile
    api: Api
    state: MockState

    def __post_init__(self) -> None:
        self._ids = count(1)

    @property
    def config(self) -> MockConfig:
        return self.state.config

    @property
    def protocol(self) -> str:
        return self.api.protocol.name

    def request_id(self) -> str:
        return f"req_{self.profile.name}_{self.config.seed}_{next(self._ids):06d}"

    def error(self, status: int, message: str, param: str | None = None,
              headers: dict[str, str] | None = None) -> JSONResponse:
        return error_response(self.protocol, status, self.state.scrubber.text(message),
                              param=param, request_id=self.request_id(), headers=headers)

    def documented(self, name: str, param: str | None = None) -> JSONResponse:
        """Error ``name`` of the provider's catalogue, in the shape its document shows."""
        answer = catalogue.resolve(name, self.profile.errors, self.protocol)
        catalogue.note_choice(answer)
        return error_response(self.protocol, answer.status, answer.message, param=param,
                              request_id=self.request_id(), shape=answer.shape)

    def problem(self, p: Problem) -> JSONResponse:
        return self.error(p.status, p.message, p.param)

    def authenticate(self, conn: HTTPConnection) -> JSONResponse | None:
        """None when the request carries the accepted key in any style the provider accepts.

        Optional auth (a local server) is checked only once a key is configured for it, as a
        server started with ``--api-key`` does; without one any key, or none, passes."""
        auth = self.api.auth
        if auth.optional and self.profile.name not in self.config.keys:
            return None  # like vLLM without --api-key: the SDKs' placeholder ("EMPTY") passes
        presented = auth.presented_key(conn.headers)
        if presented is None:
            styles = " or ".join(f"'{s.header}: {s.prefix}<key>'" for s in auth.styles)
            return self.error(401, f"missing API key: send {styles}")
        if not self.config.accepts(self.profile.name, presented):
            return self.error(401, "invalid API key")  # never echo the key back
        return None

    def base_url(self, conn: HTTPConnection, host: str = "default") -> str:
        """The absolute URL this API is served at, as clients must be told (fal's URLs)."""
        root = self.config.public_url or str(conn.base_url).rstrip("/")
        return f"{root.rstrip('/')}{self.api.mock_prefix(host)}"

    async def json_body(self, request: Request, schema: str | None) -> Any | JSONResponse:
        """The parsed body, or the provider's error for bad JSON or a schema violation."""
        parsed = await self.read_json(request)
        if isinstance(parsed, JSONResponse) or schema is None:
            return parsed
        error = self.schema_error(parsed, schema)
        return parsed if error is None else error

    async def read_json(self, request: Request) -> Any | JSONResponse:
        """The parsed body (not yet validated), or the provider's error for bad JSON."""
        # Not request.body(): it holds the chunks and their join at once (2x a 13 MB image)
        # and keeps the bytes for the request's life; parse_json empties this buffer.
        raw = bytearray()
        async for chunk in request.stream():
            raw += chunk
        # fal (FastAPI) answers undecodable bodies with 422 like any validation error
        parsed = parse_json(raw, VALIDATION_STATUS.get(self.protocol, 400))
        del raw
        return self.problem(parsed) if isinstance(parsed, Problem) else integral(parsed)

    def schema_error(self, body: Any, schema: str) -> JSONResponse | None:
        """The provider's error for the most relevant violation of ``schema``, or None.

        Split from :meth:`json_body` so a handler can answer a documented message for a case
        the schema also rejects (the MiMo gateway's role "tool") before the generic one."""
        status, advisories = VALIDATION_STATUS.get(self.protocol, 400), list[str]()
        found = schema_problem(body, schema, self.profile.overlay(schema), status,
                               strict=self.config.strict, advisories=advisories)
        if found is not None:
            return self.problem(found)
        for message in advisories:
            advise(message)
        return None

    def media(self, items: Iterable[MediaItem]) -> list[Payload] | JSONResponse:
        """The parsed payloads of ``items`` (for generate.answer), or the provider's error:
        each media string is decoded once, for both the checks and the answer."""
        advisories: list[str] = []
        found = media_payloads(items, self.profile.media.enforced(self.config.strict),
                               self.profile.name, VALIDATION_STATUS.get(self.protocol, 400),
                               advisory=None if self.config.strict else self.profile.media.advisory,
                               advisories=advisories)
        if isinstance(found, Problem):
            return self.problem(found)
        for message in advisories:
            advise(message)
        return found
