"""The base64-tailed ``pattern`` check gives re.search's verdicts (harness/mock/base64_pattern.py).

Patterns ending in a base64 body (data URLs, bare base64) are checked without re over the
body, because that regex was a third of validating a 10 MB image. These tests hold it to
re.search on generated strings and across its slice boundaries; tests/unit/mock/test_validation.py
holds whole requests to the same verdicts with and without it.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from harness import media
from harness.mock import base64_pattern

SCHEMAS = Path(base64_pattern.__file__).resolve().parents[2] / "schemas"


def patterns(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(patterns, node)) if node else set()
    if isinstance(node, dict):
        own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return own.union(*map(patterns, node.values()))
    return set()


SHIPPED = sorted(set().union(*(patterns(json.loads(p.read_text()))
                               for p in SCHEMAS.rglob("*.json"))))
FAST = [p for p in SHIPPED if base64_pattern.base64_head(p) is not None]
DATA_URL = "^data:[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/]+={0,2}$"


def test_the_shipped_base64_patterns_take_the_fast_path() -> None:
    assert DATA_URL in FAST and "^[A-Za-z0-9+/]+={0,2}$" in FAST
    # An http(s) URL pattern, or a base64 pattern with another tail, keeps re.search.
    assert all(p.endswith(base64_pattern.BASE64_TAIL) for p in FAST)
    for other in ("^https?://x[A-Za-z0-9+/]+={0,2}$", "^(a|b,)[A-Za-z0-9+/]+={0,2}$",
                  "^a|b,[A-Za-z0-9+/]+={0,2}$", "^[A-Za-z0-9+/]+=*$", "^data:x,\\d"):
        assert base64_pattern.base64_head(other) is None, other


# Strings near the shapes that matter: base64 runs with misplaced padding, commas, line
# breaks, URL-safe and non-ASCII characters, behind real and broken data: headers.
PIECES = st.sampled_from(["A", "z", "0", "+", "/", "=", "==", "-", "_", " ", "\n", ",", ";",
                          "é", "data:", "image/png", ";base64,", "QUJD", "data:image/png;base64,"])
TEXT = st.lists(PIECES, max_size=24).map("".join)


@settings(max_examples=600, deadline=None)
@given(pattern=st.sampled_from(FAST), text=TEXT, prefix=st.booleans(),
       slice_chars=st.sampled_from([1, 3, 4, 7, 1 << 20]))
def test_fast_path_agrees_with_re_search(pattern: str, text: str, prefix: bool,
                                         slice_chars: int) -> None:
    value = f"data:image/png;base64,{text}" if prefix else text
    head = base64_pattern.base64_head(pattern)
    assert head is not None
    with mock.patch.object(base64_pattern, "_SLICE", slice_chars):
        assert base64_pattern.matches_base64(head, value) == bool(re.search(pattern, value))


def test_a_bad_character_is_found_in_any_slice() -> None:
    body = base64.b64encode(bytes(range(256)) * 64).decode()
    head = base64_pattern.base64_head(DATA_URL)
    assert head is not None
    with mock.patch.object(base64_pattern, "_SLICE", 1000):
        for at in (0, 999, 1000, 1001, len(body) - 1):
            for bad in "-_ \né=":
                value = f"data:image/png;base64,{body[:at]}{bad}{body[at + 1:]}"
                got = base64_pattern.matches_base64(head, value)
                assert got == bool(re.search(DATA_URL, value)), (at, bad)


# The decoded slices handed on to media.parse (base64_pattern.handing_on / predecoded).
@settings(max_examples=400, deadline=None)
@given(pattern=st.sampled_from(FAST), text=TEXT, prefix=st.booleans(),
       slice_chars=st.sampled_from([4, 8, 12, 1 << 20]))
def test_what_is_handed_on_is_what_strict_decoding_gives(pattern: str, text: str, prefix: bool,
                                                          slice_chars: int) -> None:
    value = f"data:image/png;base64,{text}" if prefix else text
    head = base64_pattern.base64_head(pattern)
    assert head is not None
    with mock.patch.object(base64_pattern, "_SLICE", slice_chars), \
            mock.patch.object(base64_pattern, "HAND_ON_MIN", 1), base64_pattern.handing_on():
        verdict = base64_pattern.matches_base64(head, value)
        start = value.find(",") + 1 if prefix and head.pattern != "^" else 0
        kept = base64_pattern._DECODED.get()
        assert kept is not None
        handed = next(iter(kept.values()), None)
        assert verdict or handed is None  # nothing kept for a value the pattern refuses
        if handed is not None:
            assert handed[0] is value
            try:
                strict = media.decoded(value if handed[1] == start else value[handed[1]:])
            except media.MediaError:
                strict = None
            assert strict == b"".join(handed[2])  # exactly what media.parse would decode


def test_slices_are_handed_on_once_for_the_same_string_inside_the_block_only() -> None:
    body = base64.b64encode(bytes(range(256)) * 4096).decode()  # 1.4 MB of base64
    value = f"data:image/png;base64,{body}"
    head = base64_pattern.base64_head(DATA_URL)
    assert head is not None
    start = value.find(",") + 1
    assert base64_pattern.matches_base64(head, value)  # outside the block: nothing kept
    with base64_pattern.handing_on():
        assert base64_pattern.predecoded(value, start) is None
        assert base64_pattern.matches_base64(head, value)
        assert base64_pattern.predecoded("".join(value), start) is None  # an equal string
        assert base64_pattern.predecoded(value, start + 4) is None  # another start
        assert base64_pattern.matches_base64(head, value)
        handed = base64_pattern.predecoded(value, start)
        assert handed is not None and b"".join(handed) == bytes(range(256)) * 4096
        assert base64_pattern.predecoded(value, start) is None  # taken once
        assert base64_pattern.matches_base64(head, value)
    assert base64_pattern.predecoded(value, start) is None  # gone with the block
    parsed = media.parse(value)
    with base64_pattern.handing_on():
        assert base64_pattern.matches_base64(head, value)
        with mock.patch.object(media, "_chunks", side_effect=AssertionError("decoded again")):
            assert media.parse(value, base64_pattern.predecoded) == parsed
