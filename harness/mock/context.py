"""What a protocol handler of the mock needs: its provider, config, state and helpers.

One :class:`MockContext` exists per provider API. It authenticates a request the way that
provider does, reads and validates a JSON body against the provider's (dialect-overlaid)
schema, checks media against the profile's limits and renders every problem in the provider's
own error shape. Handlers stay small: they decide what to answer, not how to fail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from itertools import count
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, HTTPConnection, Request
from starlette.responses import JSONResponse

from harness.media import Payload
from harness.mock import accept, catalogue
from harness.mock.advisory import advise
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.edge import parse_json
from harness.mock.errors import answer_shape, error_response, error_shape
from harness.mock.faults import RuntimeFault
from harness.mock.journal_store import Journal as Exchanges
from harness.mock.journaling import OFF_LOOP_MIN, note_body, note_media
from harness.mock.store import Budget, Journal, Partition, Sweeper
from harness.mock.validation import MediaItem, Problem, media_payloads, schema_problem
from harness.mock.webhooks import Deliveries
from harness.providers import Api, Profile
from harness.secrets import Scrubber

# fal answers 422 for validation errors (FastAPI); everyone else 400.
VALIDATION_STATUS = {"fal-queue": 422}


def _approx_bytes(value: Any) -> int:
    """A stored object's size as it reports it (``nbytes``); 256 for one that does not."""
    return int(getattr(value, "nbytes", 256))


@dataclass
class MockState:
    """State shared by every handler of one app: per provider and bounded, so a long run (or
    a flood) stays flat. See :mod:`harness.mock.store` for the budgets."""

    config: MockConfig
    partitions: dict[str, Partition]
    webhooks: Journal[dict[str, Any]]  # one entry per delivery attempt (harness.mock.webhooks)
    deliveries: Deliveries
    sweeper: Sweeper
    # Error messages quote client input ("model 'x' does not exist"); a key pasted into a field
    # must not come back, so every message passes through this first.
    scrubber: Scrubber = field(default_factory=lambda: Scrubber(()))
    # Every request and its answer, for the gateway checks (bounded by the config).
    journal: Exchanges = field(default_factory=lambda: Exchanges(1024, 4 * 1024 * 1024))
    # A fault set at run time (PUT /_harness/fault): wins over the server's, not the header's.
    runtime_fault: RuntimeFault | None = None
    # Realtime sessions now open, so a server shutting down can close each the documented way.
    live: set[Any] = field(default_factory=set)

    @classmethod
    def create(cls, config: MockConfig) -> MockState:
        journal = config.journal_budget_bytes
        webhooks: Journal[dict[str, Any]] = Journal(256, journal, lambda e: len(repr(e)))
        partitions: dict[str, Partition] = {}

        def sweep() -> int:
            return sum(store.sweep() for part in list(partitions.values()) for store in part.stores)

        return cls(config, partitions, webhooks, Deliveries(config, webhooks),
                   Sweeper(sweep, config.sweep_interval_s),
                   Scrubber.from_env(extra=(*config.keys.values(), *config.extra_keys,
                                            MOCK_KEY)),
                   journal=Exchanges(config.journal_max_entries, config.journal_max_bytes,
                                     config.journal_hold_bytes))

    def part(self, provider: str) -> Partition:
        """``provider``'s own stores, made on first use; with ``serve --workers N`` its jobs
        and uploads live on disk (:mod:`harness.mock.shared_store`) so every worker sees them."""
        found = self.partitions.get(provider)
        if found is None:
            c = self.config
            shared = Path(c.shared_dir) / provider if c.shared_dir else None
            found = self.partitions[provider] = Partition.create(
                Budget(c.store_max_items, c.store_ttl_s, c.job_budget_bytes),
                Budget(c.store_max_items, c.store_ttl_s, c.upload_budget_bytes),
                Budget(c.store_max_items, c.store_ttl_s, c.session_budget_bytes), _approx_bytes,
                shared=shared)
        return found

    async def shutdown(self, grace_s: float) -> None:
        """Before the server stops: live sessions get ``session.closed`` ``server_shutdown``;
        then queued webhooks get ``grace_s`` to go out and the background sweep stops."""
        for session in list(self.live):
            await session.shutdown()
        await self.deliveries.drain(grace_s)
        await self.sweeper.stop()

    def stored_bytes(self) -> int:
        return sum(s.bytes for p in self.partitions.values() for s in p.stores)


@dataclass
class MockContext:
    profile: Profile
    api: Api
    state: MockState

    def __post_init__(self) -> None:
        self._ids = count(1)
        # the profile and the frozen config never change: the ids' fixed head is made once
        self._id_head = f"req_{self.profile.name}_{self.state.config.seed}_"
        self._checkers: dict[str, Callable[[Any], bool]] = {}  # schema -> accept.checker

    @property
    def config(self) -> MockConfig:
        return self.state.config

    @property
    def part(self) -> Partition:
        """This provider's stores (jobs, uploads, sessions)."""
        return self.state.part(self.profile.name)

    @property
    def protocol(self) -> str:
        return self.api.protocol.name

    def request_id(self) -> str:
        return f"{self._id_head}{next(self._ids):06d}"

    @property
    def error_shape(self) -> str:
        """``object`` where the server flavour answers SGLang's top-level error object."""
        return error_shape(self.profile)

    def error(self, status: int, message: str, param: str | None = None,
              headers: dict[str, str] | None = None) -> JSONResponse:
        return error_response(self.protocol, status, self.state.scrubber.text(message),
                              param=param, request_id=self.request_id(), headers=headers,
                              shape=self.error_shape)

    def documented(self, name: str, param: str | None = None) -> JSONResponse:
        """Error ``name`` of the provider's catalogue, in the shape its document shows."""
        answer = catalogue.resolve(name, self.profile.errors, self.protocol)
        catalogue.note_choice(answer)
        return error_response(self.protocol, answer.status, answer.message, param=param,
                              request_id=self.request_id(),
                              shape=answer_shape(answer.shape, self.error_shape))

    def problem(self, p: Problem) -> JSONResponse:
        return self.error(p.status, p.message, p.param)

    def authenticate(self, conn: HTTPConnection) -> JSONResponse | None:
        """None when the request carries the accepted key in any style the provider accepts.

        Optional auth (a local server) is checked only once a key is configured for it, as a
        server started with ``--api-key`` does; without one any key, or none, passes."""
        auth = self.api.auth
        if auth.optional and self.profile.name not in self.config.keys:
            return None  # like vLLM without --api-key: the SDKs' placeholder ("EMPTY") passes
        presented = auth.presented_key(conn.scope["headers"])
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
        # Not request.body(): it keeps the bytes for the request's life (a 13 MB image's
        # body while its decoded bytes are hashed). One join, not a buffer grown per chunk;
        # a small body arrives whole and is not copied at all.
        chunks = await _body_chunks(request)
        raw = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        del chunks
        # fal (FastAPI) answers undecodable bodies with 422 like any validation error
        parsed = parse_json(raw, VALIDATION_STATUS.get(self.protocol, 400))
        del raw
        if isinstance(parsed, Problem):
            return self.problem(parsed)
        note_body(parsed)
        return parsed

    def schema_error(self, body: Any, schema: str) -> JSONResponse | None:
        """The provider's error for the most relevant violation of ``schema``, or None.

        Split from :meth:`json_body` so a handler can answer a documented message for a case
        the schema also rejects (the MiMo gateway's role "tool") before the generic one."""
        valid = self._checkers.get(schema)
        if valid is None:
            valid = self._checkers[schema] = accept.checker(schema, self.profile.overlay(schema))
        if valid(body):  # the common case, answered by the compiled validator alone
            return None
        advisories: list[str] = []  # not list[str](): calling the alias costs ~0.3 us
        status = VALIDATION_STATUS.get(self.protocol, 400)
        found = schema_problem(body, schema, self.profile.overlay(schema), status,
                               strict=self.config.strict, advisories=advisories)
        if found is not None:
            return self.problem(found)
        for message in advisories:
            advise(message)
        return None

    async def media(self, items: Iterable[MediaItem]) -> list[Payload] | JSONResponse:
        """The parsed payloads of ``items`` (for generate.answer), or the provider's error:
        each media string is decoded once, for both the checks and the answer.

        Megabytes of media are decoded and hashed on a worker thread: pybase64 and SHA-256
        release the GIL, so they run on another core while the loop serves other requests."""
        items = list(items)
        if not items:  # text only: nothing to count, decode or note (most of a load test)
            return []
        advisories: list[str] = []
        parse = partial(media_payloads, items, self.profile.media.enforced(self.config.strict),
                        self.profile.name, VALIDATION_STATUS.get(self.protocol, 400),
                        advisory=None if self.config.strict else self.profile.media.advisory,
                        advisories=advisories)
        large = sum(len(i.value) for i in items) >= OFF_LOOP_MIN
        found = await run_in_threadpool(parse) if large else parse()
        if isinstance(found, Problem):
            return self.problem(found)
        note_media([i.value for i in items], found)
        for message in advisories:
            advise(message)
        return found


async def _body_chunks(request: Request) -> list[bytes]:
    """The body's non-empty chunks, read as ``request.stream()`` reads them, without an async
    generator around each ``receive`` (~1 us of every small chat)."""
    receive, chunks = request.receive, []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            request._stream_consumed = True  # as stream() marks it: a second read fails alike
            return chunks
