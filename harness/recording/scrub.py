"""Recording hooks: keys, server origins and big media are rewritten before a cassette keeps them.

vcrpy runs ``before_record_request`` on a request and ``before_record_response`` on a response
before either is appended to a cassette; :func:`hooks` compiles ours into one chain each, in
order: the server's origin is rebased onto the canonical one (so a cassette recorded against a
served mock on a random port, a gateway or a live host reads and replays the same), keys are
redacted from headers, query strings and bodies (by position through the credential headers and
parameters of :mod:`harness.secrets`, and by value through a :class:`~harness.secrets.Scrubber`),
and base64 media longer than a threshold inside JSON bodies becomes a placeholder that keeps its
digest, size and format (``<media sha256=… size=… format=png>``), so a 10 MB limit probe costs a
line, not 13 MB. Each hook is idempotent, since vcrpy runs them again when a cassette is loaded
for writing. A credential that is not one of the run's own keys (a deliberately wrong key) is
kept as a short digest, so replay can still tell "no key", "our key" and "a wrong key" apart.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from vcr.filters import decode_response
from vcr.request import Request

from harness.errors import UsageError
from harness.media import MediaError, parse
from harness.secrets import CREDENTIAL_HEADERS, CREDENTIAL_PARAMS, REDACTED, Scrubber

# Base64 media at least this long (in characters) is replaced in cassettes.
DEFAULT_MEDIA_THRESHOLD = 4096
# Matching replaces media from this length on, so any recording threshold at or above it
# compares alike; below it the bytes are compared as they are.
MATCH_THRESHOLD = 256
PLACEHOLDER = re.compile(r"<media sha256=[0-9a-f]{16} size=\d+ format=[\w-]+>")
_B64_HEAD = re.compile(r"[A-Za-z0-9+/]{16}")
_SCHEME = re.compile(r"^(Bearer|Key|Basic)\s+", re.IGNORECASE)

RequestHook = Callable[[Request], Request | None]
ResponseHook = Callable[[dict[str, Any]], dict[str, Any] | None]
Walk = Callable[[str], str | None]


def media_placeholder(value: str, threshold: int = DEFAULT_MEDIA_THRESHOLD) -> str | None:
    """The placeholder for a data: URL or bare base64 of at least ``threshold`` characters, or
    None (short, not media, already a placeholder). A data: URL keeps its header, so a
    mislabelled payload (declared png, bytes jpeg) stays visible in the cassette."""
    if len(value) < threshold or value.startswith("<media "):
        return None
    is_data = value[:5].lower() == "data:"
    if not is_data and not _B64_HEAD.match(value):
        return None  # prose and ids: cheap refusal before a decode attempt
    try:
        payload = parse(value)
    except MediaError:
        return None  # undecodable input is what bad-input probes send: keep it verbatim
    if payload.source == "url" or payload.encoded_chars < threshold:
        return None
    tag = f"<media sha256={payload.sha256[:16]} size={payload.size} format={payload.format or 'unknown'}>"
    return f"{value[:value.index(',', 5) + 1]}{tag}" if is_data else tag


def walk_strings(node: Any, fn: Walk) -> tuple[Any, bool]:
    """``node`` with every string ``fn`` maps to a new value replaced; and whether any was."""
    if isinstance(node, str):
        new = fn(node)
        return (node, False) if new is None or new == node else (new, True)
    if isinstance(node, list):
        items = [walk_strings(v, fn) for v in node]
        return ([v for v, _ in items], True) if any(c for _, c in items) else (node, False)
    if isinstance(node, dict):
        pairs = {k: walk_strings(v, fn) for k, v in node.items()}
        if any(c for _, c in pairs.values()):
            return {k: v for k, (v, _) in pairs.items()}, True
    return node, False


def json_body(body: bytes | None) -> Any:
    """The parsed JSON of ``body``, or ``None`` when it is empty or not a JSON object/array."""
    if not body or body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def dump_json(data: Any) -> bytes:
    """JSON the way httpx sends ``json=``: compact, UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def replace_media(body: bytes | None, threshold: int) -> bytes | None:
    """``body`` with media placeholders, or unchanged when it carries no media that long."""
    if not body or len(body) < threshold:
        return body
    data = json_body(body)
    if data is None:
        return body
    new, changed = walk_strings(data, lambda s: media_placeholder(s, threshold))
    return dump_json(new) if changed else body


def credential(value: str, own: Iterable[str]) -> str:
    """A credential header or parameter value as a cassette may show it: the scheme word kept,
    one of ``own`` keys as ``<REDACTED>``, any other value as a digest (a wrong-key probe must
    not replay the answer to our key), an empty value as is."""
    match = _SCHEME.match(value)
    scheme, secret = (match.group(0), value[match.end():]) if match else ("", value)
    if not secret.strip() or secret.startswith("<REDACTED"):
        return value
    if secret in set(own):
        return f"{scheme}{REDACTED}"
    return f"{scheme}<REDACTED sha256={hashlib.sha256(secret.encode()).hexdigest()[:12]}>"


def scrub_query(url: str, scrubber: Scrubber, own: Iterable[str]) -> str:
    """``url`` with credential parameters as :func:`credential` shows them, secrets removed."""
    parts = urlsplit(url)
    if not parts.query:
        return scrubber.text(url)
    own = tuple(own)
    query = [(k, credential(v, own) if k.lower() in CREDENTIAL_PARAMS else scrubber.text(v))
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return scrubber.text(urlunsplit(parts._replace(query=urlencode(query, safe="<>/:=,"))))


@dataclass(frozen=True, slots=True)
class Rebase:
    """Real API bases (``http://127.0.0.1:53211/fal/queue``) and the canonical ones they are
    recorded as (``http://mock.invalid/fal/queue``); longest first, identities dropped."""

    pairs: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, pairs: Iterable[tuple[str, str]]) -> Rebase:
        kept = {real.rstrip("/"): canon.rstrip("/") for real, canon in pairs if real != canon}
        return cls(tuple(sorted(kept.items(), key=lambda p: -len(p[0]))))

    def text(self, value: str) -> str:
        for real, canon in self.pairs:
            if real in value:
                value = value.replace(real, canon)
        return value

    def bytes(self, value: bytes) -> bytes:
        for real, canon in self.pairs:
            if real.encode() in value:
                value = value.replace(real.encode(), canon.encode())
        return value

    def back(self, url: str) -> str:
        """A canonical URL turned into the real one (to forward a request while recording)."""
        for real, canon in sorted(self.pairs, key=lambda p: -len(p[1])):
            if url == canon or url.startswith(canon + "/") or url.startswith(canon + "?"):
                return real + url[len(canon):]
        return url


def _body(value: Any) -> bytes:
    return value.encode() if isinstance(value, str) else bytes(value or b"")


@dataclass(frozen=True, slots=True)
class Hooks:
    """The two compiled chains, ready for ``vcr.cassette.Cassette`` or ``vcr.VCR``."""

    request: RequestHook
    response: ResponseHook


def _chain(hooks: Sequence[Callable[[Any], Any]]) -> Callable[[Any], Any]:
    def chained(item: Any) -> Any:
        for hook in hooks:
            if item is None:
                break
            item = hook(item)
        return item

    return chained


def hooks(scrubber: Scrubber, *, own: Iterable[str] = (), rebase: Rebase = Rebase(),
          media_threshold: int = DEFAULT_MEDIA_THRESHOLD,
          extra_request: Sequence[RequestHook] = (),
          extra_response: Sequence[ResponseHook] = ()) -> Hooks:
    """The request and response chains: rebase, redact keys, replace media, then ``extra_*``.

    ``own`` are the keys the recording target authenticates with (added to ``scrubber``'s);
    every one of them is redacted by value wherever it appears.
    """
    if media_threshold < MATCH_THRESHOLD:
        raise UsageError(f"media threshold must be at least {MATCH_THRESHOLD} base64 characters "
                         f"(replay compares media from that length on), not {media_threshold}")
    own = tuple(k for k in own if k)
    secrets = Scrubber(tuple(sorted({*scrubber.secrets, *own}, key=len, reverse=True)))
    keys = (*secrets.secrets, *own)

    def request_origin(request: Request) -> Request:
        request.uri = rebase.text(request.uri)
        request.body = rebase.bytes(_body(request.body)) if request.body else request.body
        if "host" in request.headers:  # the Host header names the origin too
            request.headers["host"] = urlsplit(request.uri).netloc
        return request

    def request_keys(request: Request) -> Request:
        request.uri = scrub_query(request.uri, secrets, keys)
        request.headers = {k: credential(v, keys) if k.lower() in CREDENTIAL_HEADERS
                           else secrets.text(v) for k, v in request.headers.items()}
        if request.body:
            request.body = secrets.bytes(_body(request.body))
        return request

    def request_media(request: Request) -> Request:
        request.body = replace_media(_body(request.body), media_threshold)
        return request

    def response_origin(response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {k: [rebase.text(v) for v in vs] for k, vs in response["headers"].items()}
        response["body"]["string"] = rebase.bytes(_body(response["body"]["string"]))
        return response

    def response_keys(response: dict[str, Any]) -> dict[str, Any]:
        response["headers"] = {k: list(secrets.headers({k: v})[k] for v in vs)
                               for k, vs in response["headers"].items()}
        response["body"]["string"] = secrets.bytes(_body(response["body"]["string"]))
        return response

    def response_media(response: dict[str, Any]) -> dict[str, Any]:
        response["body"]["string"] = replace_media(response["body"]["string"], media_threshold)
        return response

    def response_length(response: dict[str, Any]) -> dict[str, Any]:
        # The body may have shrunk (media, keys); a stale Content-Length would lie on replay.
        size = str(len(response["body"]["string"] or b""))
        for name in [k for k in response["headers"] if k.lower() == "content-length"]:
            response["headers"][name] = [size]
        return response

    return Hooks(
        _chain([request_origin, request_keys, request_media, *extra_request]),
        _chain([decode_response, response_origin, response_keys, response_media, response_length,
                *extra_response]))


def headers_of(response: Mapping[str, Sequence[str]]) -> list[tuple[str, str]]:
    """A recorded ``{name: [values]}`` header map as the pairs httpx takes."""
    return [(name, value) for name, values in response.items() for value in values]
