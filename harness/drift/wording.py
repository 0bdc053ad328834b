"""Word-level diff of prose, so a changed description shows *what* changed, not a cut prefix.

Descriptions are long and usually change in one place; cutting both sides to the same first 80
characters made a change invisible. :func:`word_diff` compares the two texts word by word and
keeps only the changed runs with a few words of context on each side, marking removed words
``[-like this-]`` and added ones ``{+like this+}`` (the convention of ``git diff --word-diff``),
so the text and JSON outputs both carry the change itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher

from harness.drift.classify import Change, Kind

CONTEXT = 4  # words of unchanged text kept on each side of a change
GAP = " … "


@dataclass(frozen=True, slots=True)
class WordDiff:
    """The changed part of two texts: excerpts of each side and one marked-up line."""

    old: str
    new: str
    marked: str


def _excerpt(words: list[str], spans: list[tuple[int, int]]) -> str:
    parts: list[str] = []
    last = 0
    for start, end in spans:
        lo, hi = max(0, start - CONTEXT), min(len(words), end + CONTEXT)
        lead = "…" if lo > last or (lo > 0 and not parts) else ""
        parts.append(f"{lead}{' '.join(words[max(lo, last):hi])}")
        last = hi
    tail = "…" if last < len(words) else ""
    return (" ".join(p for p in parts if p) + tail).strip()


def word_diff(old: str, new: str) -> WordDiff:
    """The changed runs of ``old`` → ``new`` with :data:`CONTEXT` words around each."""
    a, b = old.split(), new.split()
    ops = [op for op in SequenceMatcher(None, a, b, autojunk=False).get_opcodes()]
    marked: list[str] = []
    spans_a: list[tuple[int, int]] = []
    spans_b: list[tuple[int, int]] = []
    for i, (tag, i1, i2, j1, j2) in enumerate(ops):
        if tag == "equal":
            keep = a[i1:i2]
            head = keep[:CONTEXT] if i > 0 else []
            tail = keep[-CONTEXT:] if i < len(ops) - 1 else []
            if len(keep) > 2 * CONTEXT or not (head or tail):
                if head:
                    marked.append(" ".join(head))
                if head or tail:
                    marked.append("…")
                if tail:
                    marked.append(" ".join(tail))
            else:
                marked.append(" ".join(keep))
            continue
        spans_a.append((i1, i2))
        spans_b.append((j1, j2))
        if i2 > i1:
            marked.append(f"[-{' '.join(a[i1:i2])}-]")
        if j2 > j1:
            marked.append(f"{{+{' '.join(b[j1:j2])}+}}")
    if not spans_a:  # only whitespace differs
        return WordDiff(old, new, "(whitespace only)")
    return WordDiff(_excerpt(a, spans_a), _excerpt(b, spans_b), " ".join(marked))


def describe(old: str, new: str, pointer: str) -> Change:
    """A description change as the changed words, never as two identical prefixes."""
    words = word_diff(old, new)
    return Change(Kind.COSMETIC, pointer, f"description changed: {words.marked}",
                  words.old or None, words.new or None)
