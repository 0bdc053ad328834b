"""Long data URLs lifted out of a body before it is parsed: exact, or not used at all."""

from __future__ import annotations

import base64
import json

import pytest

from harness import media
from harness.mock import base64_pattern, data_urls, edge
from harness.strategies.media import of_size

URL = media.data_url(of_size("png", 3000), "image/png")  # 4,000+ characters of base64


@pytest.fixture(autouse=True)
def _short(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(data_urls, "MIN_LENGTH", 1000)  # what 1 MiB is to a real body


def _whole(raw: bytes) -> object:
    return edge._DECODER.decode(raw)


def test_a_long_data_url_is_lifted_and_put_back_as_the_parser_reads_it(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The string comes back whole, equal to what the parser makes of the body, and the
    pattern check passes it without decoding it again (the media check decodes it)."""
    raw = json.dumps({"model": "m", "messages": [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": URL}}, {"type": "text", "text": "é\\n"}]}],
        "n": 1.0, "other": URL}).encode()
    lifted = data_urls.lift(raw)
    assert lifted is not None and len(lifted.cuts) == 2 and len(lifted.rest) < 300

    def walked(part: str) -> bytes | None:
        raise AssertionError("a vouched-for string was decoded again by the pattern check")

    with base64_pattern.handing_on():
        parsed = edge.parse_json(raw)
        assert parsed == _whole(raw) and parsed["n"] == 1 and isinstance(parsed["n"], int)
        url = parsed["messages"][0]["content"][0]["image_url"]["url"]
        monkeypatch.setattr(base64_pattern, "_decoded", walked)
        head = base64_pattern.base64_head("^data:image/png;base64," + base64_pattern.BASE64_TAIL)
        assert head is not None and base64_pattern.matches_base64(head, url)
        start = url.index(",") + 1
        assert base64_pattern.predecoded(url, start) is None  # media decodes it itself
    assert media.parse(url).sha256 == media.parse(URL).sha256


BODY = URL[URL.index(",") + 1:]


@pytest.mark.parametrize("raw", [
    json.dumps({URL: 1}).encode(),  # a key, not a value
    json.dumps({"url": URL}).encode()[:-1] + b', "url": "x"}',  # a repeated key drops it
    json.dumps({"url": URL[:-8] + "AAAA AAA"}).encode(),  # not base64: a space
    b'{"url": "' + URL[:-4].encode() + b'\\u0041AAA"}',  # an escape in the base64
    json.dumps({"url": 'data:a"b;base64,' + BODY}).encode(),  # an escaped quote in the head
    json.dumps({"url": "data:\t;base64," + BODY}).encode(),  # an escaped tab in the head
    b'{"url": "data:\x01;base64,' + BODY.encode() + b'"}',  # a raw control character: not JSON
    json.dumps({"url": URL[:-1]}).encode(),  # not whole quanta
    json.dumps({"url": URL[:-4] + "=AAA"}).encode(),  # padding before the end
    b'{"url": "' + URL.encode(),  # never closed
    b'{"url": "' + URL.encode() + b'" "x"}',  # damaged after it
    json.dumps(["x", URL]).encode(),
])
def test_a_body_that_cannot_be_vouched_for_reads_as_it_does_whole(raw: bytes) -> None:
    assert repr(edge.parse_json(raw)) == repr(_json_or_problem(raw))


def test_the_token_found_in_the_body_itself_is_not_trusted(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that sent the token's text (it is random per process, but no matter) gets its
    body read whole, never its own string replaced."""
    monkeypatch.setattr(data_urls, "_TOKEN", "t-")
    # The repeated key drops the token's slot and keeps the client's: it must stay the text.
    raw = json.dumps({"url": URL}).encode()[:-1] + b', "url": "t-000000"}'
    lifted = data_urls.lift(raw)
    assert lifted is not None and not lifted.put_back(_whole(lifted.rest))
    assert edge.parse_json(raw) == {"url": "t-000000"}
    raw = json.dumps({"url": URL, "note": "t-000000"}).encode()
    assert edge.parse_json(raw) == {"url": URL, "note": "t-000000"}
    raw = json.dumps({"url": URL}).encode()[:-1] + b', "url": "\\u0074-000000"}'  # spelt
    assert edge.parse_json(raw) == {"url": "t-000000"}  # otherwise
    # What rfind took for the opening quote is an escaped one: the cut sits inside a longer
    # string, and the token's text is spelt with an escape elsewhere.
    raw = (b'{"x": "pre\\"' + URL.encode() + b'", "y": "\\u0074-000000"}')
    assert edge.parse_json(raw) == {"x": 'pre"' + URL, "y": "t-000000"}
    raw = (b'{"pre\\"' + URL.encode() + b'": 1, "y": "\\u0074-000000"}')  # in a key, alike
    assert edge.parse_json(raw) == {'pre"' + URL: 1, "y": "t-000000"}


def test_only_strict_base64_is_lifted() -> None:
    """Slice by slice as the media check decodes it: padding only at the very end."""
    long = base64.b64encode(b"x" * 3000).decode()
    cut = len(long) // 2 // 4 * 4
    for body, lifted in [(long, True), (long[:cut] + "=" + long[cut + 1:], False)]:
        raw = json.dumps({"u": f"data:image/png;base64,{body}"}).encode()
        assert (data_urls.lift(raw) is not None) == lifted


def _json_or_problem(raw: bytes) -> object:
    from unittest import mock

    with mock.patch.object(data_urls, "lift", lambda raw: None):
        return edge.parse_json(raw)


def test_a_body_full_of_marks_is_checked_once_per_string(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile body repeating ";base64," costs one pass: each string's base64 is checked at
    most once, not once for every mark in it."""
    checked: list[int] = []
    real = data_urls._base64

    def counted(view: memoryview, start: int, end: int) -> bool:
        checked.append(start)
        return real(view, start, end)

    monkeypatch.setattr(data_urls, "_base64", counted)
    noisy = "data:a;base64," + "AAAA;base64," * 500 + "AAAA" * 500
    raw = json.dumps({"u": noisy, "v": URL, "w": ";base64," * 200}).encode()
    assert edge.parse_json(raw) == {"u": noisy, "v": URL, "w": ";base64," * 200}
    assert len(checked) == 3  # once a string: "u" and "w" refused (not base64), "v" lifted


def test_marks_that_lead_nowhere_end_the_search() -> None:
    """Past a few dozen marks that were no long data URL's, the rest of the body is left to
    the parser (read the same, only not lifted): a body cannot make the search cost more."""
    thumbnails = [media.data_url(of_size("png", 100), "image/png")] * 70
    raw = json.dumps({"thumbnails": thumbnails, "image": URL}).encode()
    assert data_urls.lift(raw) is None
    assert edge.parse_json(raw) == {"thumbnails": thumbnails, "image": URL}
    assert data_urls.lift(json.dumps({"thumbnails": thumbnails[:10], "image": URL}).encode())
