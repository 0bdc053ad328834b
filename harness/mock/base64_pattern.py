"""The schemas' base64-tailed ``pattern`` checked without ``re`` walking the body.

The data-URL and bare-base64 patterns of the request schemas end in a base64 body. ``re`` walks
it a character at a time: ~30 ms for the 13.3 MB of a 10 MB image, a third of validating such a
request (and Rust's regex, on the accept path, is no faster). Slices that pybase64 decodes with
``validate=True`` (SIMD) and that hold no ``=`` are alphabet only; for the others, deleting the
alphabet with ``bytes.translate`` answers exactly, still 4x faster than re. The verdict must
stay exactly ``re.search``'s (tests/unit/mock/test_base64_pattern.py compares both), and
``media.parse`` cannot stand in for it: it is stricter (whole quanta), it runs after the
schema, and a schema violation is reported with the schema's message. Both the explaining
validator (:mod:`harness.mock.validation`) and the accept path (:mod:`harness.mock.accept`)
use it. The slices it decodes are what ``media.parse`` would decode next: inside
:func:`handing_on` (a large request's life), a long base64 body that decoded whole is kept for
:func:`predecoded` to hand to it, so 10 MB of base64 is sliced and decoded once, not twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

import pybase64

BASE64_TAIL = "[A-Za-z0-9+/]+={0,2}$"
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SLICE = 1 << 20  # encode and scan in slices: no full copy of the string at any moment
HAND_ON_MIN = 1 << 20  # base64 bodies from this long keep their decoded slices for media.parse
# The current request's decoded base64 bodies: id(string) -> (string, start, decoded slices, or
# None for a string vouched for but not decoded).
_DECODED: ContextVar[dict[int, tuple[str, int, list[bytes] | None]] | None] = ContextVar(
    "vlm_harness_decoded_base64", default=None)


@contextmanager
def handing_on() -> Iterator[None]:
    """Within: each long base64 body this module finds valid and decodes whole is kept, until
    :func:`predecoded` takes it or the block ends (the request's, so nothing outlives it)."""
    token = _DECODED.set({})
    try:
        yield
    finally:
        _DECODED.reset(token)


def vouch(value: str, start: int) -> None:
    """Within :func:`handing_on`: ``value[start:]`` (this very string) is known to be strict
    base64 (:mod:`harness.mock.data_urls` checked it in the body's bytes), so the pattern check
    passes it without a walk; the media check decodes it, on a worker thread."""
    kept = _DECODED.get()
    if kept is not None:
        kept[id(value)] = (value, start, None)


def predecoded(value: str, start: int) -> list[bytes] | None:
    """The decoded slices of ``value[start:]`` (this very string) if a check kept them; taken
    once. They are exactly what strict decoding yields: every slice passed pybase64's
    ``validate=True`` (whole quanta, the alphabet, padding only at the end)."""
    kept = _DECODED.get()
    found = kept.pop(id(value), None) if kept else None
    return found[2] if found is not None and found[0] is value and found[1] == start else None


@lru_cache(maxsize=256)
def base64_head(pattern: str) -> re.Pattern[str] | None:
    """For ``^<head>[A-Za-z0-9+/]+={0,2}$`` with a head that is empty or ends in a literal
    ',', the compiled head; None for any other pattern (re.search checks those).

    The comma fixes where the body starts (after the last ',', since the body has none), so
    the head can be matched on its own; alternation, groups (lookaround, flags), anchors or
    escapes in the head could reach across that split, so such patterns keep plain re."""
    head = pattern.removesuffix(BASE64_TAIL)
    plain = not any(c in head for c in "|()$\\")  # no alternation, group, anchor or escape
    if head != pattern and (head == "^" or (head.startswith("^") and head.endswith(",") and plain)):
        return re.compile(head)
    return None


def matches_base64(head: re.Pattern[str], instance: str) -> bool:
    """``re.search(head.pattern + BASE64_TAIL, instance)``, computed without re on the body."""
    if head.pattern == "^":
        return _tail(instance, 0)
    # The body starts after the last ',' (it holds none). Tried after the first comma, which
    # is found at once, where rfind scans the 13 MB back from the end: a tail that passes
    # holds no comma, so that comma was the last one too; otherwise the last one decides.
    first = instance.find(",") + 1
    if first and head.fullmatch(instance, 0, first) and _tail(instance, first):
        return True
    last = instance.rfind(",") + 1
    return last > first and bool(head.fullmatch(instance, 0, last)) and _tail(instance, last)


def _tail(instance: str, start: int) -> bool:
    """Whether ``instance[start:]`` is ``[A-Za-z0-9+/]+={0,2}`` up to the end or a final
    newline (where "$" also matches)."""
    kept = _DECODED.get()
    vouched = kept.get(id(instance)) if kept else None
    if vouched is not None and vouched[0] is instance and vouched[1] == start and vouched[2] is None:
        return True  # strict base64 to the end: the pattern matches
    end = len(instance) - instance.endswith("\n")
    last = instance[max(start, end - 3):end]
    padding = len(last) - len(last.rstrip("="))
    if padding > 2 or end - padding <= start:
        return False
    # Not with a final newline: "$" lets it through, strict decoding does not.
    keep = kept is not None and end == len(instance) and end - start >= HAND_ON_MIN
    decoded: list[bytes] | None = [] if keep else None
    surplus = padding  # "=" that no decoded slice has taken yet
    for i in range(start, end - padding, _SLICE):
        j = min(i + _SLICE, end - padding)
        part = instance[i:j]
        if not part.isascii():
            return False
        if "=" not in part:
            out = _decoded(part)
            if out is not None:  # whole quanta, all in the alphabet
                if decoded is not None:
                    decoded.append(out)
                continue
        if part.encode().translate(None, _BASE64_ALPHABET):  # the exact answer, 4x slower
            return False
        if decoded is not None:  # valid, but not whole quanta: the last part, before "="
            out = _decoded(instance[i:end]) if j == end - padding else None
            if out is None:
                decoded = None
            else:  # it took the padding
                decoded.append(out)
                surplus = 0
    # "=" that no decoded slice took is surplus: the pattern allows it after whole quanta,
    # strict decoding does not.
    if kept is not None and decoded is not None and not surplus:
        kept[id(instance)] = (instance, start, decoded)
    return True


def _decoded(part: str) -> bytes | None:
    # pybase64's SIMD decoder validates ~5x faster than translate deletes; it refuses a slice
    # that is not whole quanta (the last one, mostly), which translate then answers.
    try:
        return pybase64.b64decode(part, validate=True)
    except ValueError:
        return None
