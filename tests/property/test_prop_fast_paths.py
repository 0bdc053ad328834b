"""The mock's fast paths decide exactly what the plain ones would.

:func:`harness.mock.sse.compact` (orjson) stands in for Starlette's ``json.dumps`` rendering of
the chat answers and stream events, :func:`harness.mock.sse.json_response` for the head
Starlette's ``Response`` writes, :class:`harness.mock.generate.Answer` carries a token count
made where the text is split, and a request body's integral floats are made ints by the
parser's float hook; each must agree with the slow way on any text (any code point, control
characters and the separators included), any integer and any JSON document; and
:func:`harness.mock.edge.parse_json`'s msgspec parse reads every document it accepts (numbers
and escapes included, damaged ones too) as json does; with its long data URLs lifted out
(:mod:`harness.mock.data_urls`), it reads every body, damaged or not, as it does whole.
"""

from __future__ import annotations

import json
from unittest import mock

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import Response

from harness.mock import data_urls, edge, generate, sse
from harness.mock.edge import integral

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


@given(ANSWERS, st.dictionaries(st.sampled_from(["x-request-id", "X-Request-Id", "retry-after"]),
                                st.text(st.characters(min_codepoint=32, max_codepoint=255)),
                                max_size=2))
def test_a_json_answers_head_is_what_starlettes_response_writes(
        answer: object, headers: dict[str, str]) -> None:
    made = sse.json_response(answer, headers)
    plain = Response(sse.compact(answer), media_type="application/json", headers=headers)
    assert (made.status_code, made.raw_headers, made.body) == (
        plain.status_code, plain.raw_headers, plain.body)


@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(" \t\n\x1c\x85\u00a0\u2028\u3000")))
def test_a_token_count_is_the_number_of_pieces(text: str) -> None:
    assert generate.count_tokens(text) == len(generate.tokens(text))


@given(st.text(), st.integers(min_value=0, max_value=400), st.none() | st.integers(0, 60))
def test_an_answers_token_count_is_its_texts(prompt: str, seed: int, cap: int | None) -> None:
    made = generate.answer("m", prompt, (), seed, max_tokens=cap)
    assert made.n_tokens == generate.count_tokens(made.text)


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text()
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=4), max_leaves=12)


@given(JSON, st.sampled_from([None, 1, 2]), st.sampled_from([(",", ":"), (", ", ": ")]))
def test_a_body_reads_as_json_reads_it_with_integral_floats_made_ints(
        doc: object, indent: int | None, separators: tuple[str, str]) -> None:
    raw = json.dumps(doc, indent=indent, separators=separators).encode()
    slow = integral(json.loads(raw))  # what read_json handed handlers before the float hook
    assert repr(edge.parse_json(raw)) == repr(slow)
    assert repr(_json_path(raw)) == repr(slow)


def _json_path(raw: bytes) -> object:
    """What parse_json answers with msgspec refusing everything (json's path alone)."""
    class Refuses:
        def decode(self, raw: object) -> object:
            raise msgspec.DecodeError("refused")

    with mock.patch.object(edge, "_DECODER", Refuses()):
        return edge.parse_json(raw)


# JSON's number grammar with long digit runs (past 64 bits, past a double's precision and
# range), and the escapes that make a string: the texts where two parsers may read differently.
NUMBERS = st.from_regex(r"\A-?(0|[1-9][0-9]{0,40})(\.[0-9]{1,40})?([eE][+-]?[0-9]{1,4})?\Z")
ESCAPES = st.lists(st.sampled_from(["a", "\\\"", "\\\\", "\\/", "\\b", "\\n", "\\u00e9",
                                    "\\ud83d", "\\ude00", "\\ud800", "\\u0000", "\u00e9", "\t"]),
                   max_size=6).map(lambda parts: '"' + "".join(parts) + '"')


@given(st.one_of(NUMBERS, ESCAPES, NUMBERS.map(lambda n: f'{{"n": [{n}, {n}]}}')))
def test_the_fast_parse_reads_every_number_and_string_as_json_does(text: str) -> None:
    raw = text.encode("utf-8", "surrogatepass")
    assert repr(edge.parse_json(raw)) == repr(_json_path(raw))


@given(JSON, st.binary(max_size=3), st.integers(min_value=0))
def test_the_fast_parse_agrees_with_json_on_damaged_documents(doc: object, junk: bytes,
                                                              at: int) -> None:
    raw = json.dumps(doc).encode()
    at %= len(raw) + 1
    damaged = raw[:at] + junk + raw[at + len(junk) // 2:]
    assert repr(edge.parse_json(damaged)) == repr(_json_path(damaged))


_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
# A data URL's parts, each sometimes what JSON treats specially or base64 refuses.
_DATA_URLS = st.builds(
    lambda mime, body, pad, tail: f"data:{mime};base64,{body}{pad}{tail}",
    st.sampled_from(["image/png", "", "image/png;name=a,b", "x\"y", "caf\u00e9", "a\tb"]),
    st.text(alphabet=_B64, min_size=8, max_size=40).map(lambda t: t[:len(t) // 4 * 4]),
    st.sampled_from(["", "=", "==", "==="]),
    st.sampled_from(["", "", "", " ", "-", "\"", "\\", "\n", "\u0000", "\u00e9", "=AAA"]))
_NODES = st.recursive(
    _DATA_URLS | st.text(max_size=4) | st.integers(),
    lambda kids: st.lists(kids, max_size=3)
    | st.dictionaries(st.text(max_size=3) | _DATA_URLS, kids, max_size=3), max_leaves=6)
_WITH_DATA_URLS = (st.lists(_NODES, min_size=1, max_size=3)  # a body is an object or array
                   | st.dictionaries(st.text(max_size=3) | _DATA_URLS, _NODES, min_size=1,
                                     max_size=3))


@settings(max_examples=400, deadline=None)
@given(_WITH_DATA_URLS, st.binary(max_size=3), st.integers(min_value=0), st.booleans())
def test_a_body_reads_the_same_with_its_data_urls_lifted_out(doc: object, junk: bytes, at: int,
                                                             damage: bool) -> None:
    """Lifting the data URLs out reads every body exactly as parsing it whole does: any
    header, any padding, a string that only looks like base64 (a space, an escape, a quote),
    one as a key, one dropped by a repeated key, damage anywhere (bytes cut or spliced in)."""
    raw = json.dumps(doc, ensure_ascii=False).encode()
    if damage:
        at %= len(raw) + 1
        raw = raw[:at] + junk + raw[at + len(junk) // 2:]
    with mock.patch.object(data_urls, "MIN_LENGTH", 8):
        lifted = edge.parse_json(raw)
    with mock.patch.object(data_urls, "lift", lambda raw: None):
        whole = edge.parse_json(raw)
    assert repr(lifted) == repr(whole)
