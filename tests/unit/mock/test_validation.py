"""Whole requests get the same verdict from the mock's fast paths as from plain jsonschema.

The accept path (a compiled jsonschema-rs validator, harness/mock/accept.py) and the base64
pattern check without re (harness/mock/base64_pattern.py) must change no answer: the same
schema problem (or none) and then the same media verdict, with and without them.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from PIL import Image

from harness import providers
from harness.mock import accept, base64_pattern, validation
from harness.mock.anthropic_messages import SCHEMA as ANTHROPIC
from harness.mock.openai_chat import SCHEMA as OPENAI_CHAT
from harness.mock.openai_chat import media_items


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


@contextmanager
def without_fast_path() -> Iterator[None]:
    """Plain re for every pattern, and no accept path: the explaining validator alone."""
    with mock.patch.object(base64_pattern, "base64_head", lambda pattern: None), \
            mock.patch.object(accept, "accepts", lambda *args: False):
        yield


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
