"""Container walks: whole files of every format pass, truncated and corrupted ones are named.

Files come from two independent makers (Pillow, and the hand-built ones of
``harness.strategies.media``), so the walks are not only checked against our own layouts.
Every strict prefix of a file must be refused where the format marks its end (PNG IEND, JPEG
EOI, GIF trailer, RIFF size); for box- and element-framed video a prefix that ends exactly on a
box boundary is a whole (if useless) file, so only the others must be refused.
"""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from harness import containers, media
from harness.strategies import settings_for
from harness.strategies.media import NATURAL, of_size


def pillow(fmt: str, **save: object) -> bytes:
    buf = io.BytesIO()
    frames = [Image.new("RGB", (24, 16), (i * 40, 90, 200)) for i in range(3)]
    frames[0].save(buf, fmt, **save)
    return buf.getvalue()


PILLOW = {"png": pillow("PNG"), "jpeg": pillow("JPEG"), "gif": pillow("GIF"),
          "webp": pillow("WEBP"), "progressive-jpeg": pillow("JPEG", progressive=True),
          "lossy-webp": pillow("WEBP", lossless=False), "optimized-png": pillow("PNG", optimize=True)}
ENDS_MARKED = ("png", "jpeg", "gif", "webp")


def walk(fmt: str, data: bytes, chunk: int = 7) -> str | None:
    return containers.defect(fmt, iter([data[i:i + chunk] for i in range(0, len(data), chunk)]))


@pytest.mark.parametrize("name", sorted(PILLOW))
def test_pillow_files_are_whole(name: str) -> None:
    data = PILLOW[name]
    assert walk(media.sniff(data) or "", data) is None


@pytest.mark.parametrize("fmt", sorted(NATURAL))
def test_hand_made_files_are_whole_at_every_size(fmt: str) -> None:
    assert walk(fmt, NATURAL[fmt]) is None
    if fmt != "webp":
        assert walk(fmt, of_size(fmt, 70_001), chunk=4096) is None


@pytest.mark.parametrize("fmt", ENDS_MARKED)
def test_every_prefix_of_an_image_is_refused(fmt: str) -> None:
    data = PILLOW[fmt]
    for n in range(len(data)):
        found = walk(fmt, data[:n])
        assert found is not None and "truncated" in found, (n, found)


@pytest.mark.parametrize("fmt", ["mp4", "mov", "webm"])
def test_a_video_cut_inside_a_box_is_refused(fmt: str) -> None:
    data = of_size(fmt, 5000)
    cut = len(data) - 100  # inside the padding box/element
    found = walk(fmt, data[:cut])
    assert (found is None) is (fmt == "webm"), found  # an unknown-size Segment has no end


def test_a_bad_crc_in_a_critical_png_chunk_is_refused_an_ancillary_one_is_not() -> None:
    data = bytearray(of_size("png", 400))
    idat = data.index(b"IDAT")
    data[idat + 4] ^= 0xFF  # first byte of the compressed image data
    assert "CRC mismatch in chunk 'IDAT'" in (walk("png", bytes(data)) or "")
    text = bytearray(of_size("png", 400))
    at = text.index(b"tEXt")
    text[at + 6] ^= 0x01
    assert walk("png", bytes(text)) is None  # libpng only warns about ancillary chunks


def test_bytes_after_the_end_marker_are_ignored() -> None:
    for fmt in ENDS_MARKED:
        assert walk(fmt, PILLOW[fmt] + b"trailing junk") is None


def test_a_jpeg_without_eoi_and_a_gif_without_trailer_are_named() -> None:
    assert "no EOI marker" in (walk("jpeg", PILLOW["jpeg"][:-2]) or "")
    assert "before the 3B trailer" in (walk("gif", PILLOW["gif"][:-1]) or "")


def test_media_check_reports_a_truncated_file_as_corrupt() -> None:
    url = media.data_url(PILLOW["png"][:30])
    [finding] = media.check(url, media.MediaLimits(), expect=media.MediaKind.IMAGE)
    assert dict(finding.extra)["rule"] == "corrupt" and "truncated at byte 30" in finding.message


@settings_for("ci", max_examples=60)
@given(fmt=st.sampled_from(ENDS_MARKED), data=st.data())
def test_any_single_flipped_length_or_cut_is_never_a_crash(fmt: str, data: st.DataObject) -> None:
    raw = bytearray(PILLOW[fmt])
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(1, len(raw)))
    found = walk(fmt, bytes(raw[:cut]), chunk=data.draw(st.integers(1, 64)))
    assert found is None or isinstance(found, str)
