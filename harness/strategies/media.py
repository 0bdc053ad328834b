"""Media for generated requests: real image and video bytes, made by hand, at chosen sizes.

Every image is a file a decoder opens (PNG with valid CRCs, a baseline JPEG, GIF89a, a lossless
WebP); the videos are container *headers* only (MP4/MOV ``ftyp`` + ``mdat``, a WebM EBML
header + empty segment), enough for format detection, which reads magic bytes only
(:func:`harness.media.sniff`), and for the mock, but not decodable frames. Sizes are exact: each
format is padded with a comment or filler its own syntax allows (PNG ``tEXt``, JPEG ``COM``,
GIF comment extension, MP4 ``mdat`` payload, WebM ``Void``), so :func:`boundary` can put a
payload exactly at a profile's limit, one byte under and one byte over. Pillow is never
imported here (it is a test dependency); the byte layouts are the formats' published ones.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from harness.checks.requests import GIF, JPEG, MP4, png, png_of_size
from harness.media import MediaLimits, data_url

IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
VIDEO_FORMATS = ("mp4", "mov", "webm")
MIME = {"png": "image/png", "jpeg": "image/jpeg", "gif": "image/gif", "webp": "image/webp",
        "mp4": "video/mp4", "mov": "video/quicktime", "webm": "video/webm"}

# A 1x1 lossless WebP (RIFF/WEBP/VP8L), the smallest one decoders accept.
WEBP = base64.b64decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
MOV = (struct.pack(">I", 20) + b"ftypqt  " + struct.pack(">I", 0x200) + b"qt  "
       + struct.pack(">I", 24) + b"mdat" + b"\x00" * 16)
# EBML header (DocType "webm", versions 2) followed by a Segment of unknown size.
WEBM = (bytes.fromhex("1a45dfa39f4286810142f7810142f2810442f381084282847765626d"
                      "428781024285810218538067") + b"\x01\xff\xff\xff\xff\xff\xff\xff")

_JPEG_BODY = 20  # after SOI (2) and the JFIF APP0 segment (18): where COM segments may go
_COM_MAX = 65533  # a JPEG segment's length field counts itself: 2 + at most 65533 data bytes


def _jpeg(size: int) -> bytes:
    """The constant JPEG padded with COM segments to exactly ``size`` bytes."""
    pad = size - len(JPEG)
    if pad == 0:
        return JPEG
    if pad < 4:
        raise ValueError(f"a padded JPEG is {len(JPEG)} or at least {len(JPEG) + 4} bytes, not {size}")
    n = -(-pad // (_COM_MAX + 4))
    data, extra = divmod(pad - 4 * n, n)
    segments = b"".join(b"\xff\xfe" + struct.pack(">H", 2 + d) + b"c" * d
                        for d in [data + (1 if i < extra else 0) for i in range(n)])
    return JPEG[:_JPEG_BODY] + segments + JPEG[_JPEG_BODY:]


def _gif(size: int) -> bytes:
    """The constant GIF with a comment extension (21 FE, sub-blocks, 00) before its trailer."""
    pad = size - len(GIF)
    if pad == 0:
        return GIF
    if pad < 5:  # the smallest comment with data: 21 FE 01 x 00
        raise ValueError(f"a padded GIF is {len(GIF)} or at least {len(GIF) + 5} bytes, not {size}")
    body = pad - 3  # sub-blocks: (1 + length) each, length 1..255
    n = -(-body // 256)
    data, extra = divmod(body - n, n)
    blocks = b"".join(bytes([d]) + b"c" * d
                      for d in [data + (1 if i < extra else 0) for i in range(n)])
    return GIF[:-1] + b"\x21\xfe" + blocks + b"\x00" + GIF[-1:]


def _mdat(header: bytes, size: int) -> bytes:
    """An ISO-BMFF file: ``header`` (the ftyp box) then one ``mdat`` box filling up to ``size``."""
    payload = size - len(header) - 8
    if payload < 0:
        raise ValueError(f"an ISO-BMFF file with this header needs at least {len(header) + 8} bytes")
    return header + struct.pack(">I", 8 + payload) + b"mdat" + b"\x00" * payload


def _webm(size: int) -> bytes:
    """The WebM header with an EBML Void element (EC, 8-byte size) padding it to ``size``."""
    pad = size - len(WEBM)
    if pad == 0:
        return WEBM
    if pad < 9:
        raise ValueError(f"a padded WebM is {len(WEBM)} or at least {len(WEBM) + 9} bytes")
    return WEBM + b"\xec\x01" + (pad - 9).to_bytes(7, "big") + b"\x00" * (pad - 9)


_MP4_FTYP = MP4[:MP4.index(b"mdat") - 4]
_MOV_FTYP = MOV[:MOV.index(b"mdat") - 4]

# format -> (smallest exact size, maker of exactly n bytes); WebP is only ever its 34 bytes.
SIZED: dict[str, tuple[int, Callable[[int], bytes]]] = {
    "png": (len(png()) + 21, png_of_size),
    "jpeg": (len(JPEG) + 4, _jpeg),
    "gif": (len(GIF) + 5, _gif),
    "mp4": (len(_MP4_FTYP) + 8, lambda n: _mdat(_MP4_FTYP, n)),
    "mov": (len(_MOV_FTYP) + 8, lambda n: _mdat(_MOV_FTYP, n)),
    "webm": (len(WEBM) + 9, _webm),
}
NATURAL = {"png": png(), "jpeg": JPEG, "gif": GIF, "webp": WEBP, "mp4": MP4, "mov": MOV,
           "webm": WEBM}


def of_size(fmt: str, size: int) -> bytes:
    """A ``fmt`` file of exactly ``size`` bytes (its natural size, or padded up to ``size``)."""
    if len(NATURAL[fmt]) == size:
        return NATURAL[fmt]
    if fmt not in SIZED:
        raise ValueError(f"{fmt} comes in one size only ({len(NATURAL[fmt])} bytes)")
    return SIZED[fmt][1](size)


def _fits(fmt: str, lo: int, hi: int) -> bool:
    return lo <= len(NATURAL[fmt]) <= hi or (fmt in SIZED and hi >= max(lo, SIZED[fmt][0]))


def _sized(formats: Sequence[str], min_size: int | None, max_size: int | None,
           default: Callable[[str], st.SearchStrategy[bytes]]) -> st.SearchStrategy[bytes]:
    if min_size is None and max_size is None:
        return st.sampled_from(list(formats)).flatmap(default)
    lo, hi = min_size or 0, max_size if max_size is not None else (min_size or 0) + 4096
    usable = [f for f in formats if _fits(f, lo, hi)]
    if not usable:
        raise ValueError(f"none of {', '.join(formats)} can be made between {lo} and {hi} bytes")

    def sized(fmt: str) -> st.SearchStrategy[bytes]:
        floor = max(lo, SIZED[fmt][0]) if fmt in SIZED else hi + 1
        choices = [st.integers(floor, hi).map(lambda n: of_size(fmt, n))] if floor <= hi else []
        if lo <= len(NATURAL[fmt]) <= hi:
            choices.append(st.just(NATURAL[fmt]))
        return st.one_of(choices)

    return st.sampled_from(usable).flatmap(sized)


def images(formats: Sequence[str] = IMAGE_FORMATS, *, min_size: int | None = None,
           max_size: int | None = None) -> st.SearchStrategy[bytes]:
    """Valid image files; without sizes PNGs vary in dimensions and colour, others are fixed."""
    def natural(fmt: str) -> st.SearchStrategy[bytes]:
        if fmt != "png":
            return st.just(NATURAL[fmt])
        side = st.integers(1, 6)
        return st.builds(lambda w, h, c: png(w, h, c), side, side,
                         st.tuples(*[st.integers(0, 255)] * 3))

    return _sized(formats, min_size, max_size, natural)


def videos(formats: Sequence[str] = VIDEO_FORMATS, *, min_size: int | None = None,
           max_size: int | None = None) -> st.SearchStrategy[bytes]:
    """Video container headers (detectable, not playable: see the module docstring)."""
    return _sized(formats, min_size, max_size, lambda fmt: st.just(NATURAL[fmt]))


def data_urls(kind: str = "image", *, size: int | tuple[int, int] | None = None,
              formats: Sequence[str] | None = None) -> st.SearchStrategy[str]:
    """``data:<mime>;base64,...`` of a valid ``kind`` file, of exactly ``size`` bytes (or in a
    ``(min, max)`` range) when given; the MIME type is the one the bytes really are."""
    lo, hi = (size, size) if isinstance(size, int) else size or (None, None)
    maker = images if kind == "image" else videos
    fmts = formats or (IMAGE_FORMATS if kind == "image" else VIDEO_FORMATS)
    return maker(fmts, min_size=lo, max_size=hi).map(data_url)


def media_urls(kind: str = "image") -> st.SearchStrategy[str]:
    """What a schema's media field takes: mostly small data URLs, sometimes an https URL
    (never fetched by the mock; its extension names the format)."""
    ext = st.sampled_from(IMAGE_FORMATS if kind == "image" else VIDEO_FORMATS)
    urls = ext.map(lambda e: f"https://media.example.com/{kind}.{'jpg' if e == 'jpeg' else e}")
    return st.one_of(data_urls(kind), urls)


@dataclass(frozen=True, slots=True)
class Boundary:
    """A decoded size next to one of a profile's limits, and whether the limit allows it."""

    size: int
    rule: str  # the limit it probes: "max_bytes" or "max_base64_chars"
    allowed: bool

    def encoded_chars(self) -> int:
        return 4 * -(-self.size // 3)


def allowed(size: int, limits: MediaLimits) -> bool:
    """Whether a payload of ``size`` decoded bytes is within ``limits`` (both size limits)."""
    return ((limits.max_bytes is None or size <= limits.max_bytes)
            and (limits.max_base64_chars is None or 4 * -(-size // 3) <= limits.max_base64_chars))


def boundary(limits: MediaLimits) -> list[Boundary]:
    """Sizes exactly at each limit of ``limits``, one under and one over (for base64 limits:
    the sizes whose encoding lands at, under and over the limit; base64 grows in steps of 4),
    each marked allowed or not by *all* the limits, sorted by size."""
    sizes: dict[int, str] = {}
    if limits.max_bytes is not None:
        m = limits.max_bytes
        sizes.update(dict.fromkeys((m - 1, m, m + 1), "max_bytes"))
    if limits.max_base64_chars is not None:
        fits = limits.max_base64_chars // 4 * 3  # the largest size whose encoding fits
        sizes.update(dict.fromkeys((fits - 1, fits, fits + 1), "max_base64_chars"))
    return [Boundary(n, rule, allowed(n, limits)) for n, rule in sorted(sizes.items()) if n > 0]


@dataclass(frozen=True, slots=True)
class InvalidMedia:
    """A media string that must be refused, and the :func:`harness.media.check` rule it breaks."""

    name: str
    value: str
    rule: str


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def invalid_media(kind: str = "image") -> st.SearchStrategy[InvalidMedia]:
    """Truncated base64, a mislabelled MIME type, a non-base64 character, unknown bytes."""
    files = images() if kind == "image" else videos()
    mime = "image/png" if kind == "image" else "video/mp4"

    def truncated(data: bytes) -> InvalidMedia:
        text = _b64(data).rstrip("=")
        text = text[: len(text) - (len(text) - 1) % 4]  # 4k+1 characters: no base64 has that
        return InvalidMedia("truncated", f"data:{mime};base64,{text}", "invalid-base64")

    def mislabelled(data: bytes, fmt: str) -> InvalidMedia:
        wrong = next(m for f, m in MIME.items() if f != fmt and m.startswith(kind))
        return InvalidMedia("mislabelled", f"data:{wrong};base64,{_b64(data)}", "mime-mismatch")

    def bad_char(data: bytes, at: int, ch: str) -> InvalidMedia:
        text = _b64(data)
        i = at % len(text.rstrip("="))
        return InvalidMedia("invalid-base64", f"data:{mime};base64,{text[:i]}{ch}{text[i + 1:]}",
                            "invalid-base64")

    def unknown(data: bytes) -> InvalidMedia:
        return InvalidMedia("unknown-format", f"data:{mime};base64,{_b64(b'VLMXVLMX' + data)}",
                            "unknown-format")

    with_format = st.sampled_from(IMAGE_FORMATS if kind == "image" else VIDEO_FORMATS).map(
        lambda f: (NATURAL[f], f))
    return st.one_of(
        files.map(truncated),
        with_format.map(lambda pair: mislabelled(*pair)),
        st.builds(bad_char, files, st.integers(0, 10_000), st.sampled_from("-_!*. ")),
        st.binary(max_size=64).map(unknown),  # the prefix keeps every magic number away
    )


def _part(protocol: str, url: str) -> dict[str, Any]:
    if protocol == "anthropic-messages":
        header, _, data = url.partition(",")
        return {"type": "image", "source": {"type": "base64", "media_type": header[5:-7],
                                            "data": data}}
    return {"type": "image_url", "image_url": {"url": url}}


def multi_image_messages(n: int | st.SearchStrategy[int] | None = None, *,
                         protocol: str = "openai-chat",
                         text: st.SearchStrategy[str] | None = None,
                         ) -> st.SearchStrategy[list[dict[str, Any]]]:
    """One user turn with ``n`` images (default 2 to 4) of mixed formats and a short question,
    as a ``messages`` list of ``protocol`` (openai-chat image_url parts or anthropic blocks)."""
    count = st.just(n) if isinstance(n, int) else n if n is not None else st.integers(2, 4)
    prompt = text or st.text(st.characters(codec="ascii", categories=("L", "N", "Zs")),
                             min_size=1, max_size=24)

    def build(urls: list[str], question: str) -> list[dict[str, Any]]:
        parts = [{"type": "text", "text": question}, *(_part(protocol, u) for u in urls)]
        return [{"role": "user", "content": parts}]

    return count.flatmap(lambda k: st.builds(
        build, st.lists(data_urls("image"), min_size=k, max_size=k), prompt))
