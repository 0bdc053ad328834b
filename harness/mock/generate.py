"""Deterministic, honest generated content for the mock.

Answers are a pure function of (model, prompt, media received, seed): the same request gives
the same bytes, and the text says what arrived (how many images or frames, their formats and
sizes, the prompt) so a client test can assert its payload reached the server intact. Token
counting is one function used by both stream and non-stream answers, so usage always agrees.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import NamedTuple

from harness import media

_WORDS = ("the", "scene", "shows", "a", "clear", "subject", "with", "soft", "light", "and",
          "muted", "colours", "in", "frame", "detail", "balanced", "composition", "calm")
_TOKEN = re.compile(r"\s*\S+")


def tokens(text: str) -> list[str]:
    """Split ``text`` into stream pieces whose concatenation is exactly ``text``."""
    pieces = _TOKEN.findall(text)
    tail = text[sum(map(len, pieces)):]
    if tail:
        pieces.append(tail)
    return pieces


def count_tokens(text: str) -> int:
    """``len(tokens(text))`` without making the pieces: one per run of non-space (``\\s`` and
    ``str.split`` agree on every code point), one more for trailing space."""
    return len(text.split()) + text[-1:].isspace()


def prompt_tokens(texts: Sequence[str], n_media: int) -> int:
    # A fixed cost per image/frame mirrors how VLM servers bill vision tokens.
    return sum(count_tokens(t) for t in texts) + 64 * n_media


def digest(*parts: object) -> str:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()


# The word a digest byte picks (_WORDS[byte % 18]), one index per byte
_WORD_OF_BYTE = tuple(_WORDS[b % len(_WORDS)] for b in range(256))


def filler(seed_material: str, n_words: int) -> str:
    h = hashlib.sha256(seed_material.encode()).digest()
    if n_words > len(h):  # byte i of the digest, round again past its 32
        h *= n_words // len(h) + 1
    # a list comprehension, not map(_WORD_OF_BYTE.__getitem__, ...): 0.3 us less a call
    return " ".join([_WORD_OF_BYTE[b] for b in h[:n_words]])


class Answer(NamedTuple):  # not a frozen dataclass: made per answer, in a third of the time
    text: str
    truncated: bool  # cut at max_tokens: finish_reason "length" / stop_reason "max_tokens"
    n_tokens: int  # count_tokens(text), counted once where the text is split


def answer(model: str, prompt: str, received: Sequence[media.Payload], seed: int | None,
           *, max_tokens: int | None = None, reasoning: bool = False) -> Answer:
    """The mock's answer: what it received, then deterministic filler, cut at max_tokens."""
    if received:
        counts: dict[str, int] = {}
        for p in received:
            counts[p.kind.value] = counts.get(p.kind.value, 0) + 1
        what = ", ".join(f"{n} {k}{'s' if n > 1 else ''}" for k, n in counts.items())
        listed = "; ".join(media.describe(p) for p in received)
        head = f"Received {what} [{listed}]."
    else:
        head = "Received text only."
    shown = prompt if len(prompt) <= 200 else f"{prompt[:200]}..."
    seed_material = digest(model, prompt, *(p.sha256 or p.url for p in received), seed) if (
        received) else digest(model, prompt, seed)  # text only: no generator to make
    body = f"{head} Prompt: {shown!r}. {filler(seed_material, 12)}."
    if reasoning:
        body = f"<think>{filler(digest('think', body), 6)}</think>\n{body}"
    n_tokens = count_tokens(body)
    if max_tokens is not None and n_tokens > max_tokens:
        # whole pieces joined split back into the same pieces: max_tokens of them
        return Answer("".join(tokens(body)[:max_tokens]), True, max_tokens)
    return Answer(body, False, n_tokens)  # positional: keywords cost a NamedTuple ~0.15 us


def request_id(*parts: object) -> str:
    return digest("req", *parts)[:24]
