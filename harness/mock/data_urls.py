"""Long base64 data URLs lifted out of a JSON body before it is parsed, and put back whole.

A 10 MB image arrives as a 13 MB JSON string. The parser reads such a string at ~3 GB/s (~4 ms
on the event loop), checking every byte for quotes, escapes and control characters and copying
it into a str; then the schema's base64 check slices and decodes it once more. Base64 that
pybase64 (SIMD, 1 MiB at a time, straight from the body's bytes) finds valid holds none of what
JSON treats specially, so :func:`lift` cuts each such string out of the body, the parser reads
the small rest with a unique token in its place, and :meth:`Lifted.put_back` makes the string
with one ASCII copy (~1 ms). It is exact: each token must come back as a whole string value,
once, and in no other string or key, or the caller parses the body whole
(``tests/property/test_prop_fast_paths.py`` compares the two on generated bodies, damaged ones
included). Each string put back is vouched for
(:func:`harness.mock.base64_pattern.vouch`), so the schema's check does not walk it again and
the media check decodes it on a worker thread, off the loop.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pybase64

from harness.mock.base64_pattern import vouch

MIN_LENGTH = 1 << 20  # base64 shorter than this is left to the parser: lifting saves nothing
_MARK = b";base64,"
_HEAD_MAX = 1024  # bytes from the opening quote to the base64 (media._split bounds it alike)
_SLICE = 1 << 20
_MISSES = 64  # marks of short or invalid data URLs (inline thumbnails, say) before giving up
_TOKEN = "vlm-harness-lifted-" + secrets.token_hex(8) + "-"


class Lifted:
    """A body with its long data URLs cut out: :attr:`rest` for the parser, and the cuts."""

    def __init__(self, raw: bytes, cuts: list[tuple[int, int, int]]) -> None:
        self.raw, self.cuts = raw, cuts
        pieces, last = [], 0
        for i, (start, _, end) in enumerate(cuts):
            pieces += [raw[last:start], self._token(i).encode()]
            last = end
        pieces.append(raw[last:])
        self.rest = b"".join(pieces)

    @staticmethod
    def _token(i: int) -> str:
        return f"{_TOKEN}{i:06d}"  # fixed width: no token is the start of another

    def put_back(self, document: Any) -> bool:
        """Put each cut string back into ``document`` (the parsed :attr:`rest`) in place of its
        token; False (then the body is parsed whole) unless each token's bytes occur once in
        :attr:`rest` and its text once in the document, as a whole string value, and in no
        other string or key, and (where a ``\\u`` escape could spell it) no object repeats a
        key. Then what was cut was exactly the content of that string (a token is plain text:
        its bytes read as itself in any string), and the body parses to the document with the
        cut strings in place of the tokens."""
        tokens = {self._token(i): i for i in range(len(self.cuts))}
        if any(self.rest.count(t.encode()) != 1 for t in tokens):
            return False
        # Only a \u escape spells a token's text in other bytes; such a string could stand
        # where a repeated key dropped the token's own (the parser keeps the last value).
        if b"\\u" in self.rest and _repeats_a_key(self.rest):
            return False
        found: list[tuple[dict[Any, Any] | list[Any], Any, int]] = []
        stack: list[Any] = [document]
        while stack:
            node = stack.pop()
            pairs = node.items() if isinstance(node, dict) else enumerate(node)
            for key, value in pairs:
                # A token's bytes inside a key or a longer string: what was cut was not a
                # string's whole content (an escaped quote taken for the opening one).
                if isinstance(key, str) and _TOKEN in key:
                    return False
                if isinstance(value, str):
                    if _TOKEN in value:
                        if value not in tokens:
                            return False
                        found.append((node, key, tokens[value]))
                elif isinstance(value, (dict, list)):
                    stack.append(value)
        if sorted(i for _, _, i in found) != list(range(len(self.cuts))):
            return False
        for node, key, i in found:
            start, body, end = self.cuts[i]
            # validated: the alphabet only; from a view, or the slice would be a third copy
            value = str(memoryview(self.raw)[start:end], "ascii")
            vouch(value, body - start)
            node[key] = value
        return True


def _repeats_a_key(text: bytes) -> bool:
    """Whether an object of ``text`` (small: a body less its data URLs) repeats a key."""
    repeated = False

    def pairs(items: list[tuple[str, Any]]) -> None:
        nonlocal repeated
        repeated = repeated or len({key for key, _ in items}) < len(items)

    try:
        json.loads(text, object_pairs_hook=pairs)
    except (ValueError, RecursionError):  # read differently by json: cannot tell, so say yes
        return True
    return repeated


def lift(raw: bytes) -> Lifted | None:
    """``raw`` with each data URL of valid base64 of :data:`MIN_LENGTH` or more cut out, or
    None if it holds none (or is not a JSON container, where there is nothing to put back)."""
    if len(raw) < MIN_LENGTH or raw[:1] not in (b"{", b"["):
        return None
    cuts = list(_cuts(raw))
    return Lifted(raw, cuts) if cuts else None


def _cuts(raw: bytes) -> Iterator[tuple[int, int, int]]:
    """(start, base64 start, end) of each string to lift: ``raw[start - 1]`` and ``raw[end]``
    are its quotes if it is a string at all (:meth:`Lifted.put_back` makes sure it is)."""
    # Linear in the body whatever it holds (a hostile one may repeat the mark millions of
    # times): each quote is searched for once, each string's base64 checked at most once,
    # and after _MISSES marks that were no long data URL's the rest is left to the parser.
    view, pos, end, misses = memoryview(raw), 0, -1, 0
    while misses < _MISSES and (mark := raw.find(_MARK, pos)) >= 0:
        body = mark + len(_MARK)
        if end < body:
            end = raw.find(b'"', body)
            if end < 0:
                return
        start = raw.rfind(b'"', max(0, mark - _HEAD_MAX), mark) + 1
        if not start:  # no opening quote near: not a data URL's header
            pos, misses = body, misses + 1
            continue
        if end - body >= MIN_LENGTH and _plain(raw[start:body]) and _base64(view, body, end):
            yield start, body, end
        else:
            misses += 1
        pos = end + 1  # a later mark in the same string is no data URL's


def _plain(head: bytes) -> bool:
    """A data URL's header as JSON holds it unescaped: printable ASCII, no backslash."""
    return head.isascii() and head.decode("ascii").isprintable() and b"\\" not in head


def _base64(view: memoryview, start: int, end: int) -> bool:
    """Whether ``view[start:end]`` is strict base64 (whole quanta, the alphabet, padding only at
    the very end), slice by slice as :func:`harness.media.parse` decodes it; the decoded bytes
    are not kept (the peak stays the body and its string)."""
    if (end - start) % 4:
        return False
    for i in range(start, end, _SLICE):
        j = min(i + _SLICE, end)
        if j < end and view[j - 1] == 0x3D:  # "=" ending a slice that is not the last
            return False
        try:
            pybase64.b64decode(view[i:j], validate=True)
        except ValueError:
            return False
    return True
