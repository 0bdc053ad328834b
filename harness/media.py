"""Media payloads: data URLs, bare base64 and http(s) URLs, sniffed by their magic bytes.

Vision-language APIs take images and videos as ``data:<mime>;base64,...`` URLs (ModelBest,
MiMo, fal), bare base64 (MiMo's Anthropic format, realtime frames and audio) or public URLs.
:func:`parse` turns one such string into a :class:`Payload` (what it is, how big, its hash)
without keeping the decoded bytes, and :func:`check` compares it with a provider's
:class:`MediaLimits`, reporting each broken rule as a :class:`~harness.findings.Finding` whose
``extra`` carries a stable ``rule`` id. URLs are never fetched: only their extension is read.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import urlsplit

import pybase64

from harness import containers
from harness.errors import UsageError
from harness.findings import Finding, Severity


class MediaError(UsageError):
    """A media string that cannot be read: malformed data URL, invalid base64, empty payload."""


# (str, Enum) rather than StrEnum, matching Severity, so str() and formatting behave alike.
class MediaKind(str, Enum):
    """What a payload is; ``UNKNOWN`` when neither its bytes nor its declared MIME say."""

    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    UNKNOWN = "unknown"


_MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
         "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm", "wav": "audio/wav"}
_KIND = {fmt: MediaKind(mime.split("/")[0]) for fmt, mime in _MIME.items()}
# Spellings clients really send for the same format; only a different format is a mismatch.
_MIME_ALIASES = {"image/jpg": "jpeg", "image/pjpeg": "jpeg", "image/x-png": "png",
                 "video/x-m4v": "mp4", "application/mp4": "mp4", "video/x-matroska": "webm",
                 "audio/x-wav": "wav", "audio/wave": "wav", "audio/vnd.wave": "wav"}
_MIME_FORMAT = {mime: fmt for fmt, mime in _MIME.items()} | _MIME_ALIASES
_EXTENSIONS = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "webp": "webp", "gif": "gif",
               "mp4": "mp4", "m4v": "mp4", "mov": "mov", "webm": "webm", "wav": "wav"}
# ISO-BMFF major brands of MP4 video. Other ftyp brands (heic, avif, M4A ...) are not video,
# so they stay unknown rather than being passed off as mp4.
_MP4_BRANDS = {b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"mp41", b"mp42",
               b"avc1", b"M4V ", b"M4VP", b"dash", b"mmp4", b"msnv", b"f4v "}
_NOT_B64 = re.compile(r"[^A-Za-z0-9+/=]")
# Decoding in slices keeps peak memory at one slice instead of a full copy of a 10 MB image;
# a multiple of 4 so every slice is whole base64 quanta.
_CHUNK = 1 << 20
_MB = 1024 * 1024  # providers' "10 MB" limits are 10485760 bytes in their profiles


@dataclass(frozen=True, slots=True)
class MediaLimits:
    """What a provider accepts for one kind of media; ``None`` / empty means no limit."""

    max_bytes: int | None = None
    max_base64_chars: int | None = None
    formats: frozenset[str] = frozenset()
    max_count: int | None = None

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any]) -> MediaLimits:
        """Build from a profile's ``limits.<kind>`` mapping; ``x-`` keys are annotations."""
        known = {"max_bytes", "max_base64_chars", "formats", "max_count"}
        unknown = sorted(k for k in d if k not in known and not str(k).startswith("x-"))
        if unknown:  # a typo like ``max_byte`` would otherwise silently disable a limit
            raise MediaError(f"unknown media limit key(s) {unknown}; known: {sorted(known)}")
        ints: dict[str, int | None] = {}
        for key in ("max_bytes", "max_base64_chars", "max_count"):
            value = d.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or value < 0):
                raise MediaError(f"media limit {key} must be a non-negative integer, got {value!r}")
            ints[key] = value
        formats = d.get("formats") or []
        if isinstance(formats, str) or not all(isinstance(f, str) for f in formats):
            raise MediaError(f"media limit formats must be a list of strings, got {formats!r}")
        return cls(formats=frozenset(_EXTENSIONS.get(f.lower(), f.lower()) for f in formats),
                   **ints)


@dataclass(frozen=True, slots=True)
class Payload:
    """One parsed media string; the decoded bytes are not kept (see :func:`decoded`)."""

    source: str  # "data-url" | "base64" | "url"
    declared_mime: str | None
    format: str | None
    kind: MediaKind
    size: int  # decoded bytes; 0 for a url
    encoded_chars: int  # length of the base64 text, data: header excluded; 0 for a url
    url: str | None
    sha256: str  # hex of the decoded bytes; "" for a url
    defect: str | None = None  # why the file is not whole (harness.containers), None if it is

    @property
    def detected_mime(self) -> str | None:
        return _MIME.get(self.format) if self.format else None


def sniff(head: bytes) -> str | None:
    """The format named by the magic bytes at the start of ``head`` (16 bytes suffice)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    if head.startswith(b"RIFF") and head[8:12] in (b"WEBP", b"WAVE"):
        return "webp" if head[8:12] == b"WEBP" else "wav"
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # before ftyp: an EBML header may hold "ftyp" at 4
        return "webm"  # EBML: WebM and Matroska share it, and providers treat them alike
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        return "mov" if brand == b"qt  " else "mp4" if brand in _MP4_BRANDS else None
    return None


def _split(value: str) -> tuple[str, str | None, int]:
    """Source, declared MIME and start offset of the base64 text; raises on bad shapes."""
    if not value:
        raise MediaError("empty media payload")
    if value[:5].lower() != "data:":
        return "base64", None, 0
    # The header is short; bounding the search avoids scanning 13 MB for a missing comma.
    comma = value.find(",", 5, 1024)
    if comma < 0:
        raise MediaError("malformed data: URL: no ',' between the header and the data")
    mime, *params = value[5:comma].split(";")
    if not params or params[-1].strip().lower() != "base64":
        raise MediaError(f"data: URL is not base64-encoded (header {value[:comma]!r} lacks "
                         "';base64'); percent-encoded media is not accepted")
    if comma + 1 == len(value):
        raise MediaError("empty media payload: data: URL has nothing after ','")
    return "data-url", mime.strip().lower() or None, comma + 1


def _diagnose(value: str, start: int, reason: str) -> MediaError:
    """Name what is wrong with ``value[start:]``; only runs on the error path, so it may scan."""
    n, where = len(value) - start, "data: URL" if start else "bare base64"
    bad = _NOT_B64.search(value, start)
    if bad:
        ch = bad.group()
        hint = (" (URL-safe alphabet is not accepted)" if ch in "-_" else
                " (line breaks and spaces are not accepted)" if ch.isspace() else "")
        return MediaError(f"invalid base64 in {where}: character {ch!r} at offset "
                          f"{bad.start()}{hint}")
    pad = value.find("=", start)
    if pad >= 0 and value.count("=", pad) != len(value) - pad:
        return MediaError(f"invalid base64 in {where}: '=' padding at offset {pad} is "
                          "followed by data")
    if pad >= 0 and len(value) - pad > 2:
        return MediaError(f"invalid base64 in {where}: too much '=' padding at offset {pad}")
    if n % 4:
        return MediaError(f"invalid base64 in {where}: {n} characters is not a multiple of 4 "
                          "(truncated mid-quantum, or padding missing)")
    return MediaError(f"invalid base64 in {where}: {reason}")


def _chunks(value: str, start: int) -> Iterator[bytes]:
    """Decode ``value[start:]`` slice by slice with ``b64decode(validate=True)`` strictness."""
    end = len(value)
    if (end - start) % 4:
        raise _diagnose(value, start, "length")
    for i in range(start, end, _CHUNK):
        j = min(i + _CHUNK, end)
        # Padding inside a slice is caught by strict mode; at a slice's end it is not, since
        # the slice itself looks complete, so check that the data really ends there.
        if j < end and value[j - 1] == "=":
            raise _diagnose(value, start, "padding before the end")
        part = value[i:j]
        try:  # pybase64's SIMD decoder, ~5x binascii's
            out = pybase64.b64decode(part, validate=True)
        except ValueError:
            # binascii's strict mode has the last word (it takes surplus padding after a whole
            # quantum, which pybase64 refuses); tests/unit/test_media.py compares the two
            try:
                out = binascii.a2b_base64(part, strict_mode=True)
            except ValueError as exc:  # binascii.Error, or non-ASCII text
                raise _diagnose(value, start, str(exc)) from None
        yield out


def parse(value: str,
          predecoded: Callable[[str, int], Sequence[bytes] | None] | None = None) -> Payload:
    """Read a data: URL, bare base64 or http(s) URL; raises :class:`MediaError` if unreadable.

    ``predecoded(value, start)`` may hand over the strictly decoded ``value[start:]`` (slices
    a check already decoded), which is then not decoded again."""
    if value[:8].lower().startswith(("http://", "https://")):
        try:
            path = urlsplit(value).path
        except ValueError as exc:  # e.g. "Invalid IPv6 URL": a client error, not a crash
            raise MediaError(f"malformed URL: {exc}") from None
        ext = path.rsplit("/", 1)[-1].rpartition(".")[2].lower()
        fmt = _EXTENSIONS.get(ext)
        return Payload("url", None, fmt, _KIND.get(fmt or "", MediaKind.UNKNOWN), 0, 0, value, "")
    source, declared, start = _split(value)
    digest, size = hashlib.sha256(), 0
    done = predecoded(value, start) if predecoded else None
    chunks = iter(done) if done is not None else _chunks(value, start)
    first = next(chunks, b"")
    fmt = sniff(first[:64])

    def counted() -> Iterator[bytes]:
        nonlocal size
        for chunk in itertools.chain((first,), chunks):
            digest.update(chunk)
            size += len(chunk)
            yield chunk

    stream = counted()
    broken = containers.defect(fmt, stream) if fmt else None
    for _ in stream:  # what follows the end marker still counts towards size and hash
        pass
    if size == 0:
        raise MediaError("empty media payload: base64 decodes to 0 bytes")
    if fmt:
        kind = _KIND[fmt]
    else:  # raw PCM audio has no magic bytes: fall back on what the sender declared
        top = (declared or "").split("/")[0]
        kind = MediaKind(top) if top in ("image", "video", "audio") else MediaKind.UNKNOWN
    return Payload(source, declared, fmt, kind, size, len(value) - start, None, digest.hexdigest(),
                   broken)


def decoded(value: str) -> bytes:
    """The decoded bytes of a data: URL or bare base64 string (not of an http(s) URL)."""
    if value[:8].lower().startswith(("http://", "https://")):
        raise MediaError("an http(s) URL has no inline bytes; the harness does not fetch it")
    _, _, start = _split(value)
    return b"".join(_chunks(value, start))


def data_url(data: bytes, mime: str | None = None) -> str:
    """``data:<mime>;base64,...`` for ``data``; the MIME is sniffed when not given."""
    fmt = sniff(data[:64])
    mime = mime or (_MIME[fmt] if fmt else "application/octet-stream")
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _human(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB" if n < _MB else f"{n / _MB:.1f} MB"


def _bytes_mb(n: int) -> str:
    return f"{n:,} bytes ({n / _MB:.2f} MB)"


def describe(p: Payload) -> str:
    """A short phrase for logs and mock replies, e.g. ``png 1.2 KB image``."""
    fmt = p.format or p.declared_mime or "unknown"
    if p.source == "url":
        try:
            host = urlsplit(p.url or "").netloc
        except ValueError:
            host = ""
        return f"{fmt} {p.kind.value} url {host}".strip()
    return f"{fmt} {_human(p.size)} {p.kind.value}"


def check(value: str, limits: MediaLimits, *, expect: MediaKind | None = None,
          pointer: str = "", provider: str = "", check_name: str = "media",
          parsed: Payload | None = None) -> list[Finding]:
    """Every rule of ``limits`` (and ``expect``) that the media string ``value`` breaks;
    ``parsed`` is ``parse(value)`` when the caller has it already (saves a second decode)."""
    out: list[Finding] = []

    def add(rule: str, message: str) -> None:
        out.append(Finding(check_name, Severity.ERROR, message, provider=provider,
                           instance_pointer=pointer, extra=(("rule", rule),)))

    try:
        p = parsed if parsed is not None else parse(value)
    except MediaError as exc:
        add("invalid-base64", str(exc))
        return out
    if p.source != "url":
        if limits.max_bytes is not None and p.size > limits.max_bytes:
            add("too-large", f"decoded media is {_bytes_mb(p.size)}, over the limit of "
                             f"{_bytes_mb(limits.max_bytes)}")
        if limits.max_base64_chars is not None and p.encoded_chars > limits.max_base64_chars:
            add("too-large", f"base64 string is {_bytes_mb(p.encoded_chars)}, over the limit "
                             f"of {_bytes_mb(limits.max_base64_chars)}")
        declared_fmt = _MIME_FORMAT.get(p.declared_mime or "")
        if p.declared_mime and p.format and declared_fmt != p.format:
            add("mime-mismatch", f"declared MIME {p.declared_mime} but the bytes are "
                                 f"{p.format} ({p.detected_mime})")
        if p.defect is not None:
            add("corrupt", f"the {p.format} file is not whole: {p.defect}")
        # Raw PCM (the realtime API's audio) has no magic bytes, so only non-audio needs one.
        if p.format is None and MediaKind.AUDIO not in (p.kind, expect):
            add("unknown-format", f"bytes match no known media format (declared "
                                  f"{p.declared_mime or 'nothing'}, first bytes "
                                  f"{_head(value).hex(' ')})")
    if expect is not None and p.kind is not MediaKind.UNKNOWN and p.kind is not expect:
        add("wrong-kind", f"expected {expect.value} but got {describe(p)}")
    if limits.formats and p.format and p.format not in limits.formats:
        add("format-not-allowed", f"format {p.format} is not allowed; allowed: "
                                  f"{', '.join(sorted(limits.formats))}")
    return out


def _head(value: str, n: int = 8) -> bytes:
    """The first ``n`` decoded bytes, for messages; decodes only the first few quanta."""
    _, _, start = _split(value)
    quanta = value[start:start + 4 * (n // 3 + 1)]
    try:
        return binascii.a2b_base64(quanta)[:n]
    except ValueError:
        return b""


def check_count(n: int, limits: MediaLimits, *, pointer: str = "", provider: str = "",
                check_name: str = "media") -> list[Finding]:
    """A ``too-many`` finding when a request carries more than ``limits.max_count`` items."""
    if limits.max_count is None or n <= limits.max_count:
        return []
    return [Finding(check_name, Severity.ERROR,
                    f"{n} media items in one request; at most {limits.max_count} allowed",
                    provider=provider, instance_pointer=pointer, extra=(("rule", "too-many"),))]
