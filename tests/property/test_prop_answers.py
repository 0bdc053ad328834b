"""The mock's fast answer paths write exactly what the plain ones would.

:func:`harness.mock.sse.compact` (orjson) stands in for Starlette's ``json.dumps`` rendering of
the chat answers and stream events, and :class:`harness.mock.generate.Answer` carries a token
count made where the text is split; both must agree with the slow way on any text (any code
point, control characters and the separators included) and any integer.
"""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from harness.mock import generate, sse

# What the chat answers hold: strings, integers, booleans and nulls, nested (no floats).
_SCALARS = st.none() | st.booleans() | st.integers() | st.text()
ANSWERS = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=4)
                       | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@given(ANSWERS)
def test_compact_writes_what_json_dumps_writes(answer: object) -> None:
    try:
        slow = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate: neither way can send it
        return
    assert sse.compact(answer) == slow


@given(st.text(), st.integers(min_value=0, max_value=400), st.none() | st.integers(0, 60))
def test_an_answers_token_count_is_its_texts(prompt: str, seed: int, cap: int | None) -> None:
    made = generate.answer("m", prompt, (), seed, max_tokens=cap)
    assert made.n_tokens == generate.count_tokens(made.text)
