"""Keep keys out of everything that leaves the process.

Keys come only from environment variables named in the provider profiles (plus any the caller
adds). :class:`Scrubber` replaces each known key value, anywhere in a string, and redacts
credential headers and credential-looking query parameters, so cassettes, reports, logs,
findings and exception messages can be written safely. Scrubbing is by value *and* by
position: a key that is not in the environment is still redacted when it sits in an auth header.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

REDACTED = "<REDACTED>"
# Header names that carry credentials in the protocols we cover (compared lower-case).
CREDENTIAL_HEADERS = frozenset({
    "authorization", "api-key", "x-api-key", "proxy-authorization", "cookie", "set-cookie",
    "x-goog-api-key",
})
CREDENTIAL_PARAMS = frozenset({"key", "api_key", "apikey", "token", "access_token", "fal_key"})
# Values shorter than this are not scrubbed by value: redacting "1" everywhere ruins excerpts.
MIN_SECRET_LEN = 6


def key_variables() -> set[str]:
    """Every environment variable that any profile reads a key from."""
    from harness import providers  # local import: profiles import media, not the other way

    names = {"OPENAI_API_KEY", "ANTHROPIC_API_KEY", "VLM_HARNESS_GATEWAY_KEY"}
    for profile in providers.all_profiles():
        names.update(api.auth.env for api in profile.apis)
    return names


@dataclass(frozen=True, slots=True)
class Scrubber:
    """Redacts known secret values and credential positions."""

    secrets: tuple[str, ...]

    @classmethod
    def from_env(cls, extra: Iterable[str] = ()) -> Scrubber:
        values = {os.environ.get(n, "") for n in key_variables()} | set(extra)
        return cls(tuple(sorted((v for v in values if len(v) >= MIN_SECRET_LEN),
                                key=len, reverse=True)))

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return value

    def bytes(self, value: bytes) -> bytes:
        for secret in self.secrets:
            raw = secret.encode()
            if raw in value:
                value = value.replace(raw, REDACTED.encode())
        return value

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {k: (self._credential(v) if k.lower() in CREDENTIAL_HEADERS else self.text(v))
                for k, v in headers.items()}

    def url(self, url: str) -> str:
        parts = urlsplit(url)
        if not parts.query:
            return self.text(url)
        query = [(k, REDACTED if k.lower() in CREDENTIAL_PARAMS else self.text(v))
                 for k, v in parse_qsl(parts.query, keep_blank_values=True)]
        return self.text(urlunsplit(parts._replace(query=urlencode(query, safe="<>/:"))))

    @staticmethod
    def _credential(value: str) -> str:
        # Keep the scheme word (Bearer, Key) so a reader can see which auth style was used.
        scheme = re.match(r"^(Bearer|Key|Basic)\s+", value, re.IGNORECASE)
        return f"{scheme.group(1)} {REDACTED}" if scheme else REDACTED
