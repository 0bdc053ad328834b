"""The mock's lean ``pattern`` keyword: its base64 fast path gives re.search's verdicts.

Patterns ending in a base64 body (data URLs, bare base64) are checked without re over the
body (see ``harness/mock/validation.py``), because that regex was a third of validating a
10 MB image. These tests hold it to re.search on generated strings, across its slice
boundaries, and on whole requests: the same schema problem (or none) and then the same media
verdict, with and without the fast path.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from harness import providers
from harness.mock import validation
from harness.mock.anthropic_messages import SCHEMA as ANTHROPIC
from harness.mock.openai_chat import SCHEMA as OPENAI_CHAT
from harness.mock.openai_chat import media_items

SCHEMAS = Path(validation.__file__).resolve().parents[2] / "schemas"


def patterns(node: Any) -> set[str]:
    if isinstance(node, list):
        return set().union(*map(patterns, node)) if node else set()
    if isinstance(node, dict):
        own = {node["pattern"]} if isinstance(node.get("pattern"), str) else set()
        return own.union(*map(patterns, node.values()))
    return set()


SHIPPED = sorted(set().union(*(patterns(json.loads(p.read_text()))
                               for p in SCHEMAS.rglob("*.json"))))
FAST = [p for p in SHIPPED if validation._base64_head(p) is not None]
DATA_URL = "^data:[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+;base64,[A-Za-z0-9+/]+={0,2}$"


def test_the_shipped_base64_patterns_take_the_fast_path() -> None:
    assert DATA_URL in FAST and "^[A-Za-z0-9+/]+={0,2}$" in FAST
    # An http(s) URL pattern, or a base64 pattern with another tail, keeps re.search.
    assert all(p.endswith(validation._BASE64_TAIL) for p in FAST)
    for other in ("^https?://x[A-Za-z0-9+/]+={0,2}$", "^(a|b,)[A-Za-z0-9+/]+={0,2}$",
                  "^a|b,[A-Za-z0-9+/]+={0,2}$", "^[A-Za-z0-9+/]+=*$", "^data:x,\\d"):
        assert validation._base64_head(other) is None, other


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
    head = validation._base64_head(pattern)
    assert head is not None
    with mock.patch.object(validation, "_SLICE", slice_chars):
        assert validation._matches_base64(head, value) == bool(re.search(pattern, value))


def test_a_bad_character_is_found_in_any_slice() -> None:
    body = base64.b64encode(bytes(range(256)) * 64).decode()
    head = validation._base64_head(DATA_URL)
    assert head is not None
    with mock.patch.object(validation, "_SLICE", 1000):
        for at in (0, 999, 1000, 1001, len(body) - 1):
            for bad in "-_ \né=":
                value = f"data:image/png;base64,{body[:at]}{bad}{body[at + 1:]}"
                got = validation._matches_base64(head, value)
                assert got == bool(re.search(DATA_URL, value)), (at, bad)


def png_or_jpeg(fmt: str) -> str:
    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buf, fmt)
    return base64.b64encode(buf.getvalue()).decode()


PNG, JPEG = png_or_jpeg("PNG"), png_or_jpeg("JPEG")
HEAD = "data:image/png;base64,"
URLS = {"valid": HEAD + PNG, "truncated-quantum": HEAD + PNG[:-1],
        "url-safe": HEAD + PNG[:10] + "-" + PNG[11:], "space": HEAD + PNG[:10] + " " + PNG[11:],
        "final-newline": HEAD + PNG + "\n", "two-newlines": HEAD + PNG + "\n\n",
        "three-pads": HEAD + PNG.rstrip("=") + "===", "non-ascii": HEAD + PNG[:10] + "é" + PNG[11:],
        "no-comma": HEAD[:-1] + PNG, "bad-mime": "data:image png;base64," + PNG,
        "mislabelled": HEAD + JPEG, "empty-body": HEAD, "padding-only": HEAD + "==",
        "padding-inside": HEAD + PNG[:8] + "=" + PNG[9:], "two-commas": HEAD + PNG[:8] + "," + PNG[8:],
        "http": "https://example.org/a.png", "bare": PNG}


def verdict(provider: str, schema: str, body: dict[str, Any], items: Any) -> Any:
    """What the mock answers: the schema problem, else the media problem, else the digests."""
    profile = providers.get(provider)
    problem = validation.schema_problem(body, schema, profile.overlay(schema))
    if problem is not None:
        return problem
    found = validation.media_payloads(list(items(body)), profile.limits, provider)
    return found if isinstance(found, validation.Problem) else [p.sha256 for p in found]


def without_fast_path() -> Any:
    return mock.patch.object(validation, "_base64_head", lambda pattern: None)


@pytest.mark.parametrize("other_error", [False, True], ids=["alone", "with-bad-temperature"])
@pytest.mark.parametrize("name", URLS)
def test_requests_get_the_same_verdict_as_with_re(name: str, other_error: bool) -> None:
    body: dict[str, Any] = {"model": "MiniCPM-V-4.6-Instruct", "messages": [{
        "role": "user", "content": [{"type": "image_url", "image_url": {"url": URLS[name]}},
                                    {"type": "text", "text": "what"}]}]}
    if other_error:
        body["temperature"] = "hot"
    items = lambda b: media_items(b["messages"])  # noqa: E731
    fast = verdict("modelbest", OPENAI_CHAT, body, items)
    with without_fast_path():
        assert fast == verdict("modelbest", OPENAI_CHAT, body, items)
    if name == "truncated-quantum" and not other_error:  # the schema passes it, decoding does not
        assert isinstance(fast, validation.Problem) and "not a multiple of 4" in fast.message
    if name == "mislabelled" and not other_error:
        assert isinstance(fast, validation.Problem) and "declared MIME image/png" in fast.message


@pytest.mark.parametrize("name", ["valid", "truncated-quantum", "url-safe", "final-newline",
                                  "three-pads", "padding-only"])
def test_bare_base64_gets_the_same_schema_verdict_as_with_re(name: str) -> None:
    data = URLS[name].removeprefix(HEAD)
    body = {"model": "mimo-v2-omni", "max_tokens": 10, "messages": [{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": data}}]}]}
    profile = providers.get("mimo")
    fast = validation.schema_problem(body, ANTHROPIC, profile.overlay(ANTHROPIC))
    with without_fast_path():
        assert fast == validation.schema_problem(body, ANTHROPIC, profile.overlay(ANTHROPIC))
    assert (fast is None) == (name in ("valid", "truncated-quantum", "final-newline"))


def test_deeply_nested_json_is_a_client_error_not_a_crash() -> None:
    found = validation.parse_json(b"[" * 100_000 + b"]" * 100_000)
    assert isinstance(found, validation.Problem) and found.status == 400
    assert "nested" in found.message
