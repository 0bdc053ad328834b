"""What a protocol handler of the mock needs: its provider, config, state and helpers.

One :class:`MockContext` exists per provider API. It authenticates a request the way that
provider does, reads and validates a JSON body against the provider's (dialect-overlaid)
schema, checks media against the profile's limits and renders every problem in the provider's
own error shape. Handlers stay small: they decide what to answer, not how to fail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import count
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse

from harness.mock.config import MockConfig
from harness.mock.errors import error_response
from harness.mock.store import BoundedStore
from harness.mock.validation import MediaItem, Problem, media_problem, parse_json, schema_problem
from harness.providers import Api, Profile

# fal answers 422 for validation errors (FastAPI); everyone else 400.
VALIDATION_STATUS = {"fal-queue": 422}


@dataclass
class MockState:
    """State shared by every handler of one app: bounded, so a long run stays flat."""

    config: MockConfig
    jobs: BoundedStore[Any]
    uploads: BoundedStore[bytes]
    sessions: BoundedStore[Any]
    webhooks: list[dict[str, Any]]  # delivery log (bounded by the handler that appends)

    @classmethod
    def create(cls, config: MockConfig) -> MockState:
        def store() -> BoundedStore[Any]:
            return BoundedStore(config.store_max_items, config.store_ttl_s)

        return cls(config, store(), store(), store(), [])


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
        return error_response(self.protocol, status, message, param=param,
                              request_id=self.request_id(), headers=headers)

    def problem(self, p: Problem) -> JSONResponse:
        return self.error(p.status, p.message, p.param)

    def authenticate(self, conn: HTTPConnection) -> JSONResponse | None:
        """None when the request carries the accepted key in any style the provider accepts."""
        auth = self.api.auth
        presented = auth.presented_key(conn.headers)
        if presented is None:
            if auth.optional:
                return None
            styles = " or ".join(f"'{s.header}: {s.prefix}<key>'" for s in auth.styles)
            return self.error(401, f"missing API key: send {styles}")
        if presented != self.config.key_for(self.profile.name):
            return self.error(401, "invalid API key")  # never echo the key back
        return None

    def base_url(self, conn: HTTPConnection, host: str = "default") -> str:
        """The absolute URL this API is served at, as clients must be told (fal's URLs)."""
        root = self.config.public_url or str(conn.base_url).rstrip("/")
        return f"{root.rstrip('/')}{self.api.mock_prefix(host)}"

    async def json_body(self, request: Request, schema: str | None) -> Any | JSONResponse:
        """The parsed body, or the provider's error for bad JSON or a schema violation."""
        parsed = parse_json(await request.body())
        if isinstance(parsed, Problem):
            return self.problem(parsed)
        if schema is not None:
            status = VALIDATION_STATUS.get(self.protocol, 400)
            found = schema_problem(parsed, schema, self.profile.overlay(schema), status)
            if found is not None:
                return self.problem(found)
        return parsed

    def media_error(self, items: Iterable[MediaItem]) -> JSONResponse | None:
        found = media_problem(items, self.profile.limits, self.profile.name,
                              VALIDATION_STATUS.get(self.protocol, 400))
        return None if found is None else self.problem(found)
