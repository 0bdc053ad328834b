"""The mock's accept path: each (schema, dialect) compiled once into a jsonschema-rs validator.

Most requests a mock sees are valid, and explaining a violation is only needed for the others.
Pure-Python jsonschema spent about two thirds of a small chat request walking the schema; the
compiled Rust validator answers the same yes/no in microseconds (measured against
fastjsonschema, which still took a quarter of a millisecond; see bench/README.md). Only when it
says no does :func:`harness.mock.validation.schema_problem` run the explaining validator, so
messages, their order and their JSON pointers are exactly what they were.

The verdicts must agree, and where they cannot, this side must be the stricter one (a stricter
"no" only costs the explaining pass, which then accepts): Rust's regex ``$`` does not match
before a final newline as Python's does, NaN and infinity (which Python's json accepts) cannot
cross into Rust, and jsonschema-rs checks every ``format`` it knows where jsonschema checks
only those whose optional libraries are installed. The base64-tailed patterns of the media
fields are swapped for a custom keyword running :mod:`harness.mock.base64_pattern`, which keeps
Python's ``$`` and is 2x faster than Rust's regex over 13 MB of base64.
``tests/unit/mock/test_accept.py`` holds both sides to the same verdicts. Advisory limits
(``x-advisory``) are compiled in as real keywords, so "yes" means "valid, and past no advisory
limit"; the explaining validator decides what a "no" means.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import jsonschema_rs

from harness import schemas
from harness.mock.base64_pattern import base64_head, matches_base64

_KEYWORD = "vlm-harness-base64"  # stands in for a base64-tailed pattern; its value is the pattern


class _Base64Tail:
    """The custom keyword jsonschema-rs runs in place of a base64-tailed ``pattern``: it is
    handed the instance itself, where a custom format gets a copy made across from Rust (a
    13 MB data URL copied twice, ~1 ms of a 10 MB image's request)."""

    def __init__(self, parent_schema: Any, pattern: str, schema_path: Any) -> None:
        head = base64_head(pattern)
        assert head is not None, pattern  # only such patterns are swapped for this keyword
        self.head = head

    def validate(self, instance: Any) -> None:
        if isinstance(instance, str) and not matches_base64(self.head, instance):
            raise ValueError("does not match the pattern")  # a verdict only: no one reads it


def _swap_base64_patterns(node: Any) -> Any:
    """``node`` with each base64-tailed ``pattern`` swapped for the :class:`_Base64Tail`
    keyword, which checks the same."""
    if isinstance(node, list):
        return [_swap_base64_patterns(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _swap_base64_patterns(v) for k, v in node.items()
           if k not in ("$schema", "$id")}  # one dialect for the whole inlined schema
    pattern = node.get("pattern")
    if isinstance(pattern, str) and base64_head(pattern) is not None:
        del out["pattern"]
        out[_KEYWORD] = pattern
    return out


@lru_cache(maxsize=64)
def _compiled(name: str, overlay_json: str) -> Any:
    # With the advisory limits made real: a request past one must reach the explaining
    # validator, which accepts it (unless strict) and names the limit for the client.
    schema = schemas.with_advisories(
        schemas.resolved(name, json.loads(overlay_json) if overlay_json else None))
    return jsonschema_rs.Draft7Validator(_swap_base64_patterns(schema), validate_formats=True,
                                         keywords={_KEYWORD: _Base64Tail})


_KEYS: dict[int, tuple[Any, str]] = {}  # id(overlay) -> (overlay, key); holding it keeps the id


def overlay_key(overlay: Any) -> str:
    """The cache key of a dialect overlay (the same one the explaining validator uses).

    Overlays are profile data, loaded once and never changed, so each one's key is worked out
    once: serialising it on every request was ~5 % of a small chat's time in the mock."""
    if not overlay:
        return ""
    known = _KEYS.get(id(overlay))
    if known is not None and known[0] is overlay:
        return known[1]
    key = json.dumps(overlay, sort_keys=True)
    if len(_KEYS) < 4096:  # profiles hold a few dozen; anything past that is not cached
        _KEYS[id(overlay)] = (overlay, key)
    return key


def checker(name: str, overlay: Any) -> Callable[[Any], bool]:
    """:func:`accepts` for one (schema, dialect), bound once: a handler that validates every
    request against the same pair keeps it and skips the two lookups (~0.5 us a request)."""
    return _compiled(name, overlay_key(overlay)).is_valid  # type: ignore[no-any-return]


def accepts(instance: Any, name: str, overlay_json: str = "") -> bool:
    """True when ``instance`` is valid under ``name`` with its dialect; False means "ask the
    explaining validator", never "invalid" on its own."""
    return bool(_compiled(name, overlay_json).is_valid(instance))
