"""What may enter the mock: JSON that is JSON, holding text that can be encoded again.

Python's ``json`` module accepts more than RFC 8259 JSON: ``NaN``, ``Infinity`` and
``-Infinity`` literals, numbers that overflow to ``inf`` (``1e999``) and ``\\ud800`` escapes that
decode to lone surrogates, which no UTF-8 encoder (ours, starlette's, a WebSocket's) can write
back out. Let through, they surface later as a 500 (a response that cannot be encoded) or a
dropped socket. :func:`parse_json` is the one door every HTTP body and realtime frame passes:
it refuses those values with a :class:`~harness.mock.validation.Problem` that names the field
(a JSON pointer, as the schema errors do), so each protocol answers its own 400 (fal: 422).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

import msgspec

from harness.mock import data_urls
from harness.mock.validation import Problem, short

_SURROGATE = re.compile("[\ud800-\udfff]")


def _number(text: str) -> float | int:
    """A JSON float as a handler reads it: an integral one as the int it is (JSON Schema counts
    5.0 as an integer, so a valid ``"max_tokens": 5.0`` must reach the handler as 5); one that
    overflows a double is refused, as msgspec refuses it unhooked, for json's path to name."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return int(value) if value.is_integer() else value


# Refuses NaN, Infinity, numbers overflowing a double, lone surrogates, invalid UTF-8 and a
# BOM: everything it accepts, json reads the same and flaw() passes (tests/property pin it).
# Its float hook makes integral floats ints as it parses: no second walk over the document,
# and no scan of the bytes for where a float might be.
_DECODER = msgspec.json.Decoder(float_hook=_number)


def integral(value: Any) -> Any:
    """``value`` with integral floats as ints (what :data:`_DECODER` reads them as)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [integral(v) for v in value]
    if isinstance(value, dict):
        return {k: integral(v) for k, v in value.items()}
    return value


class _NotJson:
    """Stands for a literal the JSON grammar lacks until the walk finds where it sits."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _float(text: str) -> float | _NotJson:
    value = float(text)
    return value if math.isfinite(value) else _NotJson(text)


@dataclass(frozen=True, slots=True)
class Flaw:
    """Where a parsed document holds a value the mock must refuse, and why."""

    pointer: str
    why: str
    not_json: bool  # NaN/Infinity: the document is not JSON at all (a realtime frame: 1003)

    @property
    def field(self) -> str | None:
        return ".".join(self.pointer.lstrip("/").split("/")) or None

    @property
    def message(self) -> str:
        return f"{self.pointer or 'body'}: {self.why}"


def loads(raw: bytes | str) -> Any:
    """``json.loads`` that keeps NaN, Infinity and overflowing numbers for :func:`flaw` to
    find; raises ValueError (syntax, an integer of over 4300 digits, bad UTF-8) or
    RecursionError (nesting deeper than the parser goes)."""
    return json.loads(raw, parse_constant=_NotJson, parse_float=_float)


def parse_json(raw: bytes | bytearray | str, status: int = 400) -> Any | Problem:
    """The parsed document, integral floats read as ints, or the problem with it (syntax,
    depth, non-JSON values, text that cannot be encoded), naming where it is.

    msgspec parses first: 5x json's speed on a 13 MB image body (and as fast as orjson on a
    small chat), holding nothing but the parsed value, and it refuses every hostile value
    itself. Whatever it refuses goes to json, whose verdicts and messages clients have always
    seen (json reads some of those: a BOM, UTF-16, an integer of 4300 digits), and then through
    :func:`flaw`. A body holding megabytes of base64 data URLs is first tried with them lifted
    out (:mod:`harness.mock.data_urls`), which reads it exactly as the whole parse would."""
    if not raw or raw.isspace():
        return Problem(status, "request body is empty; expected a JSON object")
    lifted = data_urls.lift(raw) if isinstance(raw, bytes) else None
    if lifted is not None:  # megabytes of base64 data URLs: the parser reads the rest
        try:
            document = _DECODER.decode(lifted.rest)
        except (msgspec.DecodeError, RecursionError, ValueError):
            pass  # parsed whole below, which words the problem
        else:
            if isinstance(document, (dict, list)) and lifted.put_back(document):
                return document
    try:
        return _DECODER.decode(raw)
    except (msgspec.DecodeError, RecursionError, ValueError):  # ValueError: from _number
        pass
    try:
        text = raw if isinstance(raw, str) else raw.decode(json.detect_encoding(raw),
                                                           "surrogatepass")  # as json.loads
        parsed = loads(text)
    except RecursionError:  # thousands of nested arrays: a client error, not a server crash
        return Problem(status, "request body is nested too deeply to parse")
    except json.JSONDecodeError as exc:
        return Problem(status, f"request body is not valid JSON at line {exc.lineno} column "
                               f"{exc.colno}: {short(str(exc))}")
    except ValueError as exc:  # UnicodeDecodeError, or an integer of over 4300 digits
        return Problem(status, f"request body is not valid JSON: {short(str(exc))}")
    found = flaw(parsed)
    return integral(parsed) if found is None else Problem(status, found.message, found.field)


def flaw(document: Any) -> Flaw | None:
    """The first value of ``document`` that is not JSON or not encodable text, or None.

    Iterative, so a document nested as deep as the parser allowed cannot exhaust the stack.
    ``str.isascii`` is O(1) in CPython, so a 13 MB base64 string costs nothing here."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        pointer, value = stack.pop()
        if isinstance(value, str):
            if not value.isascii() and _SURROGATE.search(value):
                return Flaw(pointer, "text holds a lone UTF-16 surrogate (an unpaired "
                                     "\\ud800-\\udfff escape), which is not encodable as UTF-8", False)
        elif isinstance(value, _NotJson):
            return Flaw(pointer, f"{short(value.text)} is not a JSON number (JSON has no NaN or "
                                 "Infinity, and a number must fit a double)", True)
        elif isinstance(value, dict):
            for key in value:
                if not key.isascii() and _SURROGATE.search(key):
                    return Flaw(f"{pointer}/{_escape(key)}", "key holds a lone UTF-16 "
                                "surrogate, which is not encodable as UTF-8", False)
            # reversed: the stack pops last-in first, and the first problem should be reported
            stack.extend((f"{pointer}/{_escape(k)}", v) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((f"{pointer}/{i}", value[i]) for i in range(len(value) - 1, -1, -1))
    return None


def _escape(key: str) -> str:
    # Surrogates must not reach the pointer: it is quoted in the (encoded) error message.
    return _SURROGATE.sub("\ufffd", key.replace("~", "~0").replace("/", "~1"))


def printable(text: str) -> str:
    """``text`` safe to quote in a message, header or close reason: surrogates replaced."""
    return text if text.isascii() else _SURROGATE.sub("\ufffd", text)
