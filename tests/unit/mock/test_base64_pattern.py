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
