"""Unit tests of harness.strategies.media: real files at exact sizes, limits, broken media.

Pillow (a test dependency only) confirms that every generated image decodes; the media
module's own sniffing confirms formats; :func:`harness.media.check` is the judge of limits and
of what makes broken media broken, so the strategies and the mock agree on the rules.
"""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from harness import media, schemas
from harness.strategies import (
    InvalidMedia,
    allowed,
    boundary,
    data_urls,
    images,
    invalid_media,
    multi_image_messages,
    of_size,
    settings_for,
    videos,
)
from harness.strategies.media import IMAGE_FORMATS, NATURAL, SIZED, VIDEO_FORMATS

CI = settings_for("ci", max_examples=30)


@CI
@given(images())
def test_every_image_decodes_and_sniffs_as_itself(data: bytes) -> None:
    fmt = media.sniff(data[:16])
    assert fmt in IMAGE_FORMATS
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        assert im.format.lower() == fmt


@CI
@given(st.sampled_from(sorted(SIZED)), st.integers(0, 200_000))
def test_sizes_are_exact_and_files_stay_valid(fmt: str, extra: int) -> None:
    size = SIZED[fmt][0] + extra
    data = of_size(fmt, size)
    assert len(data) == size and media.sniff(data[:16]) == fmt
    if fmt in IMAGE_FORMATS:
        with Image.open(io.BytesIO(data)) as im:
            im.load()


def test_natural_sizes_and_refusals() -> None:
    for fmt, data in NATURAL.items():
        assert of_size(fmt, len(data)) == data
    with pytest.raises(ValueError, match="one size only"):
        of_size("webp", 100)
    with pytest.raises(ValueError):
        of_size("jpeg", len(NATURAL["jpeg"]) + 2)  # a COM segment needs at least 4 bytes
    with pytest.raises(ValueError, match="none of"):
        images(("webp",), min_size=1000, max_size=2000)


@CI
@given(st.data())
def test_size_ranges_are_respected(data: st.DataObject) -> None:
    lo = data.draw(st.integers(200, 5000))
    hi = data.draw(st.integers(lo, lo + 3000))
    assert lo <= len(data.draw(images(min_size=lo, max_size=hi))) <= hi
    assert lo <= len(data.draw(videos(min_size=lo, max_size=hi))) <= hi


@CI
@given(st.data(), st.sampled_from(["image", "video"]), st.integers(300, 3000))
def test_data_urls_carry_what_they_declare(data: st.DataObject, kind: str, size: int) -> None:
    url = data.draw(data_urls(kind, size=size))
    p = media.parse(url)
    assert p.size == size and p.kind is media.MediaKind(kind)
    assert p.declared_mime == p.detected_mime
    assert media.check(url, media.MediaLimits(), expect=media.MediaKind(kind)) == []


def test_boundary_sits_exactly_at_each_limit() -> None:
    only_bytes = media.MediaLimits(max_bytes=1000)
    assert [(b.size, b.allowed) for b in boundary(only_bytes)] == [
        (999, True), (1000, True), (1001, False)]
    both = media.MediaLimits(max_bytes=1000, max_base64_chars=1200)  # 1200 chars = 900 bytes
    edges = {b.size: b for b in boundary(both)}
    assert [(n, edges[n].allowed) for n in sorted(edges)] == [
        (899, True), (900, True), (901, False), (999, False), (1000, False), (1001, False)]
    assert edges[900].encoded_chars() == 1200 and edges[901].encoded_chars() == 1204
    assert boundary(media.MediaLimits()) == []


@pytest.mark.parametrize("limits", [media.MediaLimits(max_bytes=1000),
                                    media.MediaLimits(max_bytes=1000, max_base64_chars=1200),
                                    media.MediaLimits(max_base64_chars=801)])
def test_boundary_verdicts_agree_with_the_media_check(limits: media.MediaLimits) -> None:
    for edge in boundary(limits):
        url = media.data_url(of_size("png", edge.size))
        too_large = [f for f in media.check(url, limits) if dict(f.extra)["rule"] == "too-large"]
        assert (not too_large) == edge.allowed == allowed(edge.size, limits), edge


@CI
@given(st.sampled_from(["image", "video"]).flatmap(
    lambda kind: st.tuples(st.just(kind), invalid_media(kind))))
def test_invalid_media_breaks_the_rule_it_names(pair: tuple[str, InvalidMedia]) -> None:
    kind, bad = pair
    rules = {dict(f.extra)["rule"] for f in media.check(bad.value, media.MediaLimits(),
                                                         expect=media.MediaKind(kind))}
    assert bad.rule in rules, (bad.name, rules)


@CI
@given(st.sampled_from(["openai-chat", "anthropic-messages"]).flatmap(
    lambda proto: st.tuples(st.just(proto), multi_image_messages(protocol=proto))))
def test_multi_image_messages_are_valid_requests(pair: tuple[str, list[dict[str, Any]]]) -> None:
    protocol, messages = pair
    body: dict[str, Any] = {"model": "m", "messages": messages}
    if protocol == "anthropic-messages":
        body["max_tokens"] = 16
    errors = [e.message for e in schemas.validator(f"{protocol}/request").iter_errors(body)]
    assert not errors
    parts = messages[0]["content"]
    assert 2 <= len(parts) - 1 <= 4 and parts[0]["type"] == "text"


def test_video_formats_are_detected_by_magic_bytes_only() -> None:
    for fmt in VIDEO_FORMATS:
        assert media.sniff(NATURAL[fmt][:16]) == fmt
        assert media.parse(media.data_url(NATURAL[fmt])).kind is media.MediaKind.VIDEO
