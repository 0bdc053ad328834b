"""Infer the *shape* of what a provider sends, so two runs can be compared without their values.

A :class:`BodyShape` records, per JSON pointer (array items as ``/*``), the JSON types seen,
whether the key was present in every occurrence of its parent object, the values of short
identifier-like strings (a de-facto enum such as ``finish_reason``), a string format shared by
every value (date-time, uri, base64, data-url, uuid) and one example value, kept only so that
value-only changes can be reported as cosmetic. A :class:`StreamShape` adds the event sequence
of each stream sample compressed to a pattern (``message_start, (content_block_delta)+, ...``)
and a body shape per event type. Shapes are plain data: ``to_dict``/``from_dict`` round-trip.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

ROOT = ""
ITEM = "*"
TYPE_ORDER = ("null", "boolean", "integer", "number", "string", "array", "object")
MAX_ENUM = 8
MAX_EXAMPLE = 60
FORMATS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("date-time", re.compile(
        r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")),
    ("uuid", re.compile(r"^[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}$")),
    ("data-url", re.compile(r"^data:[\w.+-]+/[\w.+-]+(;[\w.+-]+=?[\w.+-]*)*,")),
    ("uri", re.compile(r"^(https?|wss?|s3|gs)://\S+$")),
)
BASE64 = re.compile(r"^[A-Za-z0-9+/]{20,}={0,2}$")
# An enum value looks like an identifier; ids and free text are excluded by the key's name.
ENUM_VALUE = re.compile(r"^[a-z][a-z0-9_.:-]{0,39}$")
ID_KEY = re.compile(r"(^|_)(id|uuid)$|Id$")
FREE_TEXT_KEYS = frozenset({
    "text", "content", "message", "prompt", "description", "title", "name", "thinking",
    "reasoning_content", "partial_json", "output", "answer", "caption", "data", "url",
    "audio", "image", "video", "b64_json", "signature", "arguments", "refusal", "error"})


def escape(key: str) -> str:
    """RFC 6901 escaping of one pointer segment."""
    return key.replace("~", "~0").replace("/", "~1")


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):  # bool is an int subclass: test it first
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list | tuple) else "object"


def string_format(value: str) -> str:
    for name, pattern in FORMATS:
        if pattern.match(value):
            return name
    # Long runs of the base64 alphabet with a digit or symbol; plain words are not base64.
    if len(value) % 4 == 0 and BASE64.match(value) and re.search(r"[0-9+/=]", value):
        return "base64"
    return ""


@dataclass(frozen=True, slots=True)
class FieldShape:
    """What was seen at one pointer across every sample."""

    pointer: str
    types: tuple[str, ...]
    required: bool = True
    enum: tuple[str, ...] = ()
    format: str = ""
    example: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"pointer": self.pointer, "types": list(self.types), "required": self.required,
                "enum": list(self.enum), "format": self.format, "example": self.example}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldShape:
        return cls(data["pointer"], tuple(data["types"]), data.get("required", True),
                   tuple(data.get("enum", ())), data.get("format", ""), data.get("example"))


@dataclass(frozen=True, slots=True)
class BodyShape:
    """The shape of a set of JSON bodies (one endpoint, one status)."""

    fields: tuple[FieldShape, ...]
    samples: int = 1

    def by_pointer(self) -> dict[str, FieldShape]:
        return {f.pointer: f for f in self.fields}

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "body", "samples": self.samples,
                "fields": [f.to_dict() for f in self.fields]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BodyShape:
        return cls(tuple(FieldShape.from_dict(f) for f in data["fields"]),
                   data.get("samples", 1))


@dataclass(frozen=True, slots=True)
class StreamShape:
    """The shape of streams: distinct compressed event patterns and a shape per event type."""

    patterns: tuple[str, ...]
    events: tuple[tuple[str, BodyShape], ...] = ()
    samples: int = 1

    @property
    def event_types(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for pattern in self.patterns:
            seen.update(dict.fromkeys(skeleton(pattern)))
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "stream", "samples": self.samples, "patterns": list(self.patterns),
                "events": {name: shape.to_dict() for name, shape in self.events}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StreamShape:
        return cls(tuple(data["patterns"]),
                   tuple((k, BodyShape.from_dict(v)) for k, v in data.get("events", {}).items()),
                   data.get("samples", 1))


Shape = BodyShape | StreamShape


def shape_from_dict(data: dict[str, Any]) -> Shape:
    return StreamShape.from_dict(data) if data.get("kind") == "stream" else BodyShape.from_dict(data)


@dataclass(slots=True)
class _Acc:
    """Mutable per-pointer tally while walking samples (never escapes this module)."""

    types: set[str] = field(default_factory=set)
    seen: int = 0
    strings: list[str] = field(default_factory=list)
    example: Any = None
    key: str = ""


def _walk(value: Any, pointer: str, key: str, acc: dict[str, _Acc], objects: dict[str, int]) -> None:
    slot = acc.setdefault(pointer, _Acc(key=key))
    slot.types.add(json_type(value))
    slot.seen += 1
    if isinstance(value, dict):
        objects[pointer] = objects.get(pointer, 0) + 1
        for k, v in value.items():
            _walk(v, f"{pointer}/{escape(str(k))}", str(k), acc, objects)
    elif isinstance(value, list | tuple):
        for item in value:
            _walk(item, f"{pointer}/{ITEM}", key, acc, objects)
    else:
        if isinstance(value, str):
            slot.strings.append(value)
        if slot.example is None:
            slot.example = value[:MAX_EXAMPLE] if isinstance(value, str) else value


def _enum(key: str, strings: list[str]) -> tuple[str, ...]:
    distinct = sorted(set(strings))
    if (not distinct or len(distinct) > MAX_ENUM or key in FREE_TEXT_KEYS or ID_KEY.search(key)
            or not all(ENUM_VALUE.match(s) for s in distinct)):
        return ()
    return tuple(distinct)


def _parent(pointer: str) -> str:
    return pointer.rsplit("/", 1)[0]


def infer(samples: Iterable[Any]) -> BodyShape:
    """The shape of ``samples`` (decoded JSON values of one kind of response)."""
    acc: dict[str, _Acc] = {}
    objects: dict[str, int] = {}
    count = 0
    for sample in samples:
        count += 1
        _walk(sample, ROOT, "", acc, objects)
    fields = []
    for pointer, slot in sorted(acc.items()):
        types = sorted(slot.types, key=TYPE_ORDER.index)
        # Array items have no "required"; a key is required when its parent object always had it.
        required = (pointer == ROOT or pointer.endswith(f"/{ITEM}")
                    or slot.seen >= objects.get(_parent(pointer), 0))
        formats = {string_format(s) for s in slot.strings}
        fmt = formats.pop() if len(formats) == 1 else ""
        enum = () if fmt else _enum(slot.key, slot.strings)
        fields.append(FieldShape(pointer, tuple(types), required, enum, fmt, slot.example))
    return BodyShape(tuple(fields), count)


def compress(names: Sequence[str]) -> str:
    """``a, b, b, b, c`` -> ``a, (b)+, c``; repeated groups of up to three events collapse too."""
    tokens = list(names)
    changed = True
    while changed:
        changed = False
        for size in (1, 2, 3):
            out, i = [], 0
            while i < len(tokens):
                group, j = tokens[i:i + size], i + size
                while len(group) == size and tokens[j:j + size] == group:
                    j += size
                if j > i + size:
                    already = size == 1 and group[0].endswith(")+")
                    out.append(group[0] if already else f"({', '.join(group)})+")
                    i, changed = j, True
                else:
                    out.append(tokens[i])
                    i += 1
            tokens = out
            if changed:
                break
    return ", ".join(tokens)


def skeleton(pattern: str) -> tuple[str, ...]:
    """Event names in order with repetition dropped: ``a, (b)+, c`` -> ``(a, b, c)``."""
    names = [n.strip(" ()+") for n in pattern.split(",") if n.strip(" ()+")]
    out: list[str] = []
    for name in names:
        if not out or out[-1] != name:
            out.append(name)
    return tuple(out)


def event_name(event: Any) -> str:
    """An event's name: ``(name, body)`` pairs (SSE ``event:``), else the body's ``type``."""
    if isinstance(event, tuple) and len(event) == 2:
        return str(event[0])
    if isinstance(event, dict) and isinstance(event.get("type"), str):
        return event["type"]
    return event if isinstance(event, str) else "message"


def infer_stream(sessions: Iterable[Sequence[Any]]) -> StreamShape:
    """The shape of streams: each session is a sequence of events (see :func:`event_name`)."""
    patterns: dict[str, None] = {}
    bodies: dict[str, list[Any]] = {}
    count = 0
    for session in sessions:
        count += 1
        names = [event_name(e) for e in session]
        patterns[compress(names)] = None
        for name, event in zip(names, session, strict=True):
            body = event[1] if isinstance(event, tuple) else event
            if not isinstance(body, str):  # sentinels such as [DONE] have no body
                bodies.setdefault(name, []).append(body)
    return StreamShape(tuple(patterns), tuple((n, infer(b)) for n, b in bodies.items()), count)
