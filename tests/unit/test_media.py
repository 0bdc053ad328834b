"""Unit tests of harness.media: parsing, magic-byte detection, limit findings and memory use."""

from __future__ import annotations

import base64
import binascii
import gc
import hashlib
import io
import tracemalloc

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from PIL import Image

from harness.errors import UsageError
from harness.findings import Severity
from harness.media import (
    MediaError,
    MediaKind,
    MediaLimits,
    Payload,
    check,
    check_count,
    data_url,
    decoded,
    describe,
    parse,
    sniff,
)

# Detection reads magic bytes only, so a video needs no encoder: a hand-built container
# header (an ISO-BMFF "ftyp" box, an EBML header) is exactly what a real file starts with.
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\x00\x00\x00\x08mdat"
MOV = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  " + b"\x00\x00\x00\x08mdat"
# EBML header: version 1, read version 1, max id 4, max size 8, DocType "webm" v4/2.
WEBM = (b"\x1a\x45\xdf\xa3\x9f" b"\x42\x86\x81\x01" b"\x42\xf7\x81\x01" b"\x42\xf2\x81\x04"
        b"\x42\xf3\x81\x08" b"\x42\x82\x84webm" b"\x42\x87\x81\x04" b"\x42\x85\x81\x02")
IMAGES = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "gif": "GIF"}


def image(fmt: str, size: tuple[int, int] = (8, 8)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buf, format=IMAGES[fmt])
    return buf.getvalue()


@pytest.fixture(scope="module")
def files() -> dict[str, bytes]:
    return {**{fmt: image(fmt) for fmt in IMAGES}, "mp4": MP4, "mov": MOV, "webm": WEBM}


def rules(findings: list) -> list[str]:
    return [dict(f.extra)["rule"] for f in findings]


IMAGE_LIMITS = MediaLimits(max_bytes=10 * 1024 * 1024, formats=frozenset(IMAGES))


@pytest.mark.parametrize("fmt,mime,kind", [
    ("jpeg", "image/jpeg", MediaKind.IMAGE), ("png", "image/png", MediaKind.IMAGE),
    ("webp", "image/webp", MediaKind.IMAGE), ("gif", "image/gif", MediaKind.IMAGE),
    ("mp4", "video/mp4", MediaKind.VIDEO), ("mov", "video/quicktime", MediaKind.VIDEO),
    ("webm", "video/webm", MediaKind.VIDEO),
])
def test_detects_every_format(files: dict[str, bytes], fmt: str, mime: str,
                              kind: MediaKind) -> None:
    data = files[fmt]
    assert sniff(data[:16]) == fmt
    p = parse(data_url(data))
    assert (p.source, p.format, p.kind, p.detected_mime, p.declared_mime) == (
        "data-url", fmt, kind, mime, mime)
    assert p.size == len(data) and p.sha256 == hashlib.sha256(data).hexdigest()
    assert check(data_url(data), MediaLimits(), expect=kind) == []


def test_sniff_rejects_unknown_and_non_video_brands() -> None:
    assert sniff(b"") is None and sniff(b"hello world, not media") is None
    assert sniff(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00") is None  # HEIF image, not mp4


def test_bare_base64_and_url(files: dict[str, bytes]) -> None:
    text = base64.b64encode(files["png"]).decode()
    p = parse(text)
    assert (p.source, p.declared_mime, p.format, p.encoded_chars) == (
        "base64", None, "png", len(text))
    assert decoded(text) == files["png"] == decoded(data_url(files["png"]))
    u = parse("https://example.com/cat.JPG?size=large")
    assert (u.source, u.format, u.kind, u.size, u.sha256) == (
        "url", "jpeg", MediaKind.IMAGE, 0, "")
    assert parse("http://example.com/clip").kind is MediaKind.UNKNOWN
    assert check("https://example.com/x", IMAGE_LIMITS, expect=MediaKind.IMAGE) == []
    assert rules(check("https://example.com/v.mp4", IMAGE_LIMITS, expect=MediaKind.IMAGE)) == [
        "wrong-kind", "format-not-allowed"]
    with pytest.raises(MediaError):
        decoded("https://example.com/cat.jpg")


def test_describe(files: dict[str, bytes]) -> None:
    assert describe(parse(data_url(image("png", (64, 64))))).startswith("png ")
    assert describe(Payload("data-url", "image/png", "png", MediaKind.IMAGE, 1229, 1640, None,
                            "")) == "png 1.2 KB image"
    assert "example.com" in describe(parse("https://example.com/a.webm"))


def test_truncated_png_is_unknown_format(files: dict[str, bytes]) -> None:
    cut = data_url(files["png"][:4], "image/png")
    assert parse(cut).format is None
    assert rules(check(cut, IMAGE_LIMITS, expect=MediaKind.IMAGE)) == ["unknown-format"]


def test_base64_cut_mid_quantum_is_invalid(files: dict[str, bytes]) -> None:
    text = base64.b64encode(files["jpeg"]).decode()
    cut = text[: len(text) // 4 * 4 - 2]
    with pytest.raises(MediaError, match="multiple of 4"):
        parse(cut)
    findings = check("data:image/jpeg;base64," + cut, IMAGE_LIMITS, pointer="/messages/0")
    assert rules(findings) == ["invalid-base64"]
    assert findings[0].instance_pointer == "/messages/0" and findings[0].severity is Severity.ERROR


@pytest.mark.parametrize("value,match", [
    ("data:image/png;base64,iVBO!w0K", r"'!' at offset 26"),
    ("iVBO-w0K", "URL-safe"),
    ("iVBO\nw0KGgo=", "line breaks"),
    ("QQ=AQUJD", "followed by data"),
    ("A===", "too much"),
    ("data:image/png,%89PNG", "not base64-encoded"),
    ("data:image/png;base64", "no ','"),
    ("data:image/png;base64,", "empty"),
    ("", "empty"),
])
def test_invalid_values_raise_usage_errors(value: str, match: str) -> None:
    with pytest.raises(UsageError, match=match):
        parse(value)
    assert rules(check(value, MediaLimits())) == ["invalid-base64"]


def test_padding_at_a_chunk_boundary_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    # Slices are decoded one at a time; padding that ends a slice must still be refused.
    import harness.media as media
    monkeypatch.setattr(media, "_CHUNK", 4)
    with pytest.raises(MediaError, match="followed by data"):
        parse("QQ==QUJD")
    assert decoded("QUJDREVG") == b"ABCDEF"


def test_mislabelled_data_url(files: dict[str, bytes]) -> None:
    findings = check(data_url(files["jpeg"], "image/png"), IMAGE_LIMITS)
    assert rules(findings) == ["mime-mismatch"]
    assert "image/png" in findings[0].message and "jpeg" in findings[0].message
    # Common alternative spellings of the same format are not a mismatch.
    assert check(data_url(files["jpeg"], "image/jpg"), IMAGE_LIMITS) == []


def test_size_limits_are_inclusive(files: dict[str, bytes]) -> None:
    data = files["png"]
    value = data_url(data)
    chars = parse(value).encoded_chars
    assert check(value, MediaLimits(max_bytes=len(data), max_base64_chars=chars)) == []
    over = check(value, MediaLimits(max_bytes=len(data) - 1), provider="mimo")
    assert rules(over) == ["too-large"] and over[0].provider == "mimo"
    assert f"{len(data):,} bytes" in over[0].message and "MB" in over[0].message
    encoded = check(value, MediaLimits(max_base64_chars=chars - 1))
    assert rules(encoded) == ["too-large"] and "base64" in encoded[0].message


def test_format_not_allowed_and_wrong_kind(files: dict[str, bytes]) -> None:
    gif_only_png = MediaLimits(formats=frozenset({"png", "jpeg"}))
    findings = check(data_url(files["gif"]), gif_only_png)
    assert rules(findings) == ["format-not-allowed"] and "jpeg, png" in findings[0].message
    assert rules(check(data_url(files["png"]), MediaLimits(), expect=MediaKind.VIDEO)) == [
        "wrong-kind"]
    assert rules(check(data_url(MP4), IMAGE_LIMITS, expect=MediaKind.IMAGE)) == [
        "wrong-kind", "format-not-allowed"]


def test_raw_pcm_audio_is_not_unknown_format() -> None:
    pcm = base64.b64encode(b"\x00\x00\x80\x3f" * 4000).decode()  # float32 1.0, no header
    assert check(pcm, MediaLimits(), expect=MediaKind.AUDIO) == []
    assert rules(check(pcm, MediaLimits())) == ["unknown-format"]


def test_too_many() -> None:
    limits = MediaLimits(max_count=2)
    assert check_count(2, limits) == [] and check_count(99, MediaLimits()) == []
    findings = check_count(3, limits, pointer="/messages/0/content", provider="fal")
    assert rules(findings) == ["too-many"] and findings[0].instance_pointer.endswith("content")


def test_limits_from_mapping() -> None:
    limits = MediaLimits.from_mapping({"max_bytes": 10485760, "max_base64_chars": 10485760,
                                       "formats": ["JPG", "png"], "max_count": 16})
    assert limits == MediaLimits(10485760, 10485760, frozenset({"jpeg", "png"}), 16)
    assert MediaLimits.from_mapping({}) == MediaLimits()
    for bad in ({"max_byte": 1}, {"max_bytes": -1}, {"max_count": True}, {"formats": "png"}):
        with pytest.raises(MediaError):
            MediaLimits.from_mapping(bad)


def test_ten_megabyte_payload_memory() -> None:
    # Memory, not time: parsing must not hold several copies of a 10 MB image.
    data = b"\x89PNG\r\n\x1a\n" + bytes(10 * 1024 * 1024 - 8)
    value = data_url(data)
    expected = hashlib.sha256(data).hexdigest()
    del data
    gc.collect()
    tracemalloc.start()
    try:
        p = parse(value)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (p.size, p.sha256, p.format) == (10 * 1024 * 1024, expected, "png")
    ratio = peak / p.size
    print(f"peak {peak:,} bytes for a {p.size:,}-byte payload: {ratio:.3f}x")
    assert ratio < 4


MAGICS = [b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n", b"GIF89a", b"RIFF\x00\x00\x00\x00WEBP",
          MP4[:12], MOV[:12], WEBM[:4]]


@settings(max_examples=60, deadline=None)
@given(magic=st.sampled_from(MAGICS), body=st.binary(max_size=512))
@example(magic=WEBM[:4], body=b"ftyp")  # once sniffed as an MP4 box with an unknown brand
def test_data_url_round_trip(magic: bytes, body: bytes) -> None:
    data = magic + body
    p = parse(data_url(data))
    assert p.size == len(data) and p.sha256 == hashlib.sha256(data).hexdigest()
    assert p.format == sniff(magic) and p.format is not None


QUANTA = st.lists(st.sampled_from(["QUJD", "AB+/", "ab==", "abc=", "A===", "====", "=abc", "ab=c",
                                   "a-_b", "é123", "ab\nc", "    "]), max_size=6).map("".join)


@settings(max_examples=400, deadline=None)
@given(QUANTA)
def test_decoding_refuses_exactly_what_binascii_strict_mode_refuses(text: str) -> None:
    """Slices are decoded with pybase64 (SIMD); its verdicts must stay binascii's strict ones."""
    try:
        want: bytes | None = binascii.a2b_base64(text, strict_mode=True)
    except ValueError:
        want = None
    try:
        got: bytes | None = decoded(f"data:image/png;base64,{text}")
    except MediaError:
        got = None
    assert got == (want or None)  # an empty payload is refused by parse, decoded gives b""
