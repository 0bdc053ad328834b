"""Hostile values in any field: what an attacker, or a buggy client, puts where data belongs.

Schemathesis and the schema-driven strategies only ever generate what JSON Schema can
describe, which leaves out exactly what crashes servers: lone UTF-16 surrogates (``\\ud800``
escapes that JSON parsers accept and UTF-8 encoders refuse), the ``NaN``/``Infinity`` literals
Python's parser lets through, numbers that overflow a double (``1e999``) or Python's
4300-digit integer limit, control characters, and nesting thousands of levels deep.
:func:`hostile_bodies` takes a strategy of valid bodies and puts one such value at one place
(any field's value, at any depth, or a new key), and returns the wire bytes with what was put
where, so a failure says which value broke which field.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

_RAW = "\x00raw:{}\x00"  # stands for raw JSON text in the dumped body; NUL never survives dumps


@dataclass(frozen=True, slots=True)
class Hostile:
    """One hostile value: a name for messages, and either a value or raw JSON text."""

    name: str
    value: Any = None
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class HostileBody:
    """A valid body with one hostile value planted at ``pointer`` (``+key`` for a new key)."""

    pointer: str
    hostile: Hostile
    body: bytes


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


VALUES: tuple[Hostile, ...] = (
    Hostile("lone high surrogate", "\ud800"),
    Hostile("lone low surrogate in text", "ok\udfffok"),
    Hostile("reversed surrogate pair", "\ude00\ud83d"),
    Hostile("NaN", raw="NaN"),
    Hostile("Infinity", raw="Infinity"),
    Hostile("-Infinity", raw="-Infinity"),
    Hostile("overflowing float", raw="1e999"),
    Hostile("5000-digit integer", raw="9" * 5000),
    Hostile("2**64", 2**64),
    Hostile("-10**300", -(10**300)),
    Hostile("tiny float", 5e-324),
    Hostile("control characters", "\x00\x01\x1b[31m\r\n\t\x7f"),
    Hostile("bidi and zero-width", "\u202e\u200b\ufeff"),
    Hostile("empty string", ""),
    Hostile("nested 64 deep", raw=_nested(64)),
    Hostile("nested 900 deep", raw=_nested(900)),
    Hostile("nested 100000 deep", raw=_nested(100_000)),
    Hostile("object of nulls", {"\ud800": None, "": None}),
)


def pointers(body: Any, at: str = "") -> Iterator[str]:
    """Every JSON pointer inside ``body`` (containers and leaves), the root excluded."""
    items = body.items() if isinstance(body, dict) else enumerate(body) if isinstance(
        body, list) else ()
    for key, value in items:
        here = f"{at}/{key}"
        yield here
        yield from pointers(value, here)


def _planted(body: Any, pointer: str, value: Any) -> Any:
    """A copy of ``body`` with ``value`` at ``pointer`` (``.../+name`` adds key ``name``)."""
    head, _, rest = pointer.lstrip("/").partition("/")
    if not pointer:
        return value
    if head.startswith("+") and not rest and isinstance(body, dict):
        return {**body, head[1:]: value}
    if isinstance(body, dict):
        return {k: _planted(v, f"/{rest}" if rest else "", value) if k == head else v
                for k, v in body.items()}
    if isinstance(body, list):
        return [_planted(v, f"/{rest}" if rest else "", value) if str(i) == head else v
                for i, v in enumerate(body)]
    return body


def encode(body: Any, hostile: Hostile) -> bytes:
    """``body`` (holding :data:`_RAW` where raw text goes) on the wire, as a client sends it."""
    text = json.dumps(body, ensure_ascii=True, allow_nan=True)  # surrogates become \\uXXXX
    if hostile.raw is not None:
        text = text.replace(json.dumps(_RAW.format(0)), hostile.raw)
    return text.encode("ascii")


def plant(body: Any, pointer: str, hostile: Hostile) -> HostileBody:
    value = _RAW.format(0) if hostile.raw is not None else hostile.value
    return HostileBody(pointer, hostile, encode(_planted(body, pointer, value), hostile))


def hostile_bodies(valid: st.SearchStrategy[Any]) -> st.SearchStrategy[HostileBody]:
    """Bodies drawn from ``valid``, each with one :data:`VALUES` entry planted in one place:
    replacing any value at any depth, or under a new key (also a hostile one) at the top."""

    @st.composite
    def build(draw: st.DrawFn) -> HostileBody:
        body = draw(valid)
        places = [*pointers(body), "/+extra", "/+\ud800"]
        return plant(body, draw(st.sampled_from(places)), draw(st.sampled_from(VALUES)))

    return build()
