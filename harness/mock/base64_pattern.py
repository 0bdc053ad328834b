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
use it.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pybase64

BASE64_TAIL = "[A-Za-z0-9+/]+={0,2}$"
_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SLICE = 1 << 20  # encode and scan in slices: no full copy of the string at any moment


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
    end = len(instance) - instance.endswith("\n")
    last = instance[max(start, end - 3):end]
    padding = len(last) - len(last.rstrip("="))
    if padding > 2 or end - padding <= start:
        return False
    for i in range(start, end - padding, _SLICE):
        part = instance[i:min(i + _SLICE, end - padding)]
        if not part.isascii():
            return False
        if "=" not in part and _decodes(part):  # whole quanta, all in the alphabet
            continue
        if part.encode().translate(None, _BASE64_ALPHABET):  # the exact answer, 4x slower
            return False
    return True


def _decodes(part: str) -> bool:
    # pybase64's SIMD decoder validates ~5x faster than translate deletes; it refuses a slice
    # that is not whole quanta (the last one, mostly), which translate then answers.
    try:
        pybase64.b64decode(part, validate=True)
    except ValueError:
        return False
    return True
