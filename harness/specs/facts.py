"""Facts a published spec states only in prose, found by patterns and compared like fields.

Published specs put some promises in ``description`` text instead of schema keywords: the
query parameters of the endpoint URL (``wss://host/v1/realtime?mode={video|audio}``), the
format of server-made ids (``session_id … (rt_{timestamp_ms})``), sample rates (``16kHz``)
and limits (``max 8192``, ``Minimum 4000 samples``, ``8192 token limit``). :func:`extract`
finds them where a pattern does; a fact is kept *where* it was found for limits (they belong to
a field) and document-wide for the rest (an endpoint's query parameters do not depend on which
description mentions them). Anything no pattern matches stays a description change.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.drift.classify import Change, Kind

QUERY = re.compile(r"\?[^\s,;)]*")
PARAM = re.compile(r"(\[?)[?&]([A-Za-z_][\w-]*)=([^&\s\[\]]*)")
ID_NAME = re.compile(r"\b([a-z][a-z0-9]*_id)\b")
ID_TEMPLATE = re.compile(r"\b([A-Za-z][A-Za-z0-9]*_\{[A-Za-z_]+\})")
RATE = re.compile(r"\b(\d+(?:\.\d+)?)\s?(kHz|Hz)\b")
LIMIT = re.compile(
    r"\b(max(?:imum)?|min(?:imum)?|up to|at most|at least|no more than)\s*:?\s*"
    r"(\d[\d,]*(?:\.\d+)?)\s*([A-Za-z]+)?", re.IGNORECASE)
LIMIT_AFTER = re.compile(r"\b(\d[\d,]*)\s+(tokens?|samples|bytes|frames|images|seconds|characters)"
                         r"\s+(limit|max(?:imum)?)\b", re.IGNORECASE)
UPPER = ("max", "up to", "at most", "no more than")
B, A, C = Kind.BREAKING, Kind.ADDITIVE, Kind.COSMETIC


@dataclass(frozen=True, slots=True)
class Fact:
    """One prose fact: ``kind`` (query, id-format, rate, limit), its subject, value and place."""

    kind: str
    subject: str
    value: str
    where: str = ""  # "" for document-wide facts

    @property
    def key(self) -> tuple[str, str, str]:
        return self.kind, self.subject, self.where

    @property
    def upper(self) -> bool:
        """A limit that caps a value (a lower one ends with 'min')."""
        return self.subject.startswith("max")


def _query(text: str) -> Iterable[Fact]:
    for query in QUERY.findall(text):
        for optional, name, value in PARAM.findall(query):
            values = value.rstrip(".,;:").strip("{}")
            yield Fact("query", name, f"{values}{' (optional)' if optional else ''}")


def _ids(text: str) -> Iterable[Fact]:
    for sentence in re.split(r"(?<=[.;])\s+", text):
        names, templates = ID_NAME.findall(sentence), ID_TEMPLATE.findall(sentence)
        if names and templates:
            yield Fact("id-format", names[0], templates[0])


def _limits(text: str, where: str) -> Iterable[Fact]:
    for word, number, unit in LIMIT.findall(text):
        bound = "max" if word.lower().startswith(UPPER) else "min"
        yield Fact("limit", f"{bound} {_unit(unit)}".strip(), number.replace(",", ""), where)
    for number, unit, _ in LIMIT_AFTER.findall(text):
        yield Fact("limit", f"max {_unit(unit)}", number.replace(",", ""), where)


def _unit(word: str) -> str:
    """``Tokens``, ``token`` → ``token``: one subject whatever the wording."""
    word = word.lower()
    return word[:-1] if word.endswith("s") and len(word) > 3 else word


def extract(text: str, where: str) -> set[Fact]:
    """Every fact a pattern finds in ``text`` (a description at pointer ``where``)."""
    if not text:
        return set()
    out = set(_query(text)) | set(_ids(text)) | set(_limits(text, where))
    out |= {Fact("rate", "sample rate", f"{n}{u}") for n, u in RATE.findall(text)}
    return out


def grouped(facts: Iterable[Fact]) -> dict[tuple[str, str, str], frozenset[str]]:
    """Facts by (kind, subject, where), each with the set of values stated."""
    out: dict[tuple[str, str, str], set[str]] = {}
    for fact in facts:
        out.setdefault(fact.key, set()).add(fact.value)
    return {k: frozenset(v) for k, v in out.items()}


def _numbers(values: frozenset[str]) -> list[float]:
    return sorted(float(v) for v in values if re.fullmatch(r"\d+(?:\.\d+)?", v))


def _query_change(subject: str, was: frozenset[str], now: frozenset[str], ptr: str,
                  url_still_stated: bool) -> Change:
    if not was:
        return Change(A, ptr, f"query parameter {subject} now documented (in prose only); "
                      "a client may send it", None, "|".join(sorted(now)))
    if not now:  # gone from a URL still written out is a removal; gone with the URL is wording
        return Change(B, ptr, f"query parameter {subject} no longer documented; stop sending "
                      "it", "|".join(sorted(was)), None) if url_still_stated else Change(
            C, ptr, f"query parameter {subject} no longer stated in prose (the endpoint URL is "
            "no longer written out); check the docs before relying on it",
            "|".join(sorted(was)), None)
    old_values = {v for w in was for v in w.split(" ")[0].split("|")}
    new_values = {v for w in now for v in w.split(" ")[0].split("|")}
    dropped = sorted(old_values - new_values)
    kind = B if dropped or (any("optional" in w for w in was)
                            and not any("optional" in w for w in now)) else A
    what = f"values no longer documented: {dropped}; stop sending them" if dropped else (
        "changed; check how you send it" if kind is B else "more values documented")
    return Change(kind, ptr, f"query parameter {subject} {what}", "|".join(sorted(was)),
                  "|".join(sorted(now)))


def _limit_change(fact: Fact, was: frozenset[str], now: frozenset[str], ptr: str,
                  sent: bool) -> Change:
    before, after = _numbers(was) or [0.0], _numbers(now) or [0.0]
    tighter = after[0] < before[0] if fact.upper else after[-1] > before[-1]
    if sent:
        kind, what = (B, "stricter; stay within the new limit") if tighter else (
            A, "looser; a wider range is accepted")
    else:
        kind, what = (C, "tighter; no client change needed") if tighter else (
            A, "looser; values may now exceed the old limit")
    return Change(kind, ptr, f"{fact.subject} (stated in prose) {what}",
                  "|".join(sorted(was)) or None, "|".join(sorted(now)) or None)


def _moved(before: dict[tuple[str, str, str], frozenset[str]],
           after: dict[tuple[str, str, str], frozenset[str]]) -> set[tuple[str, str, str]]:
    """Keys of located facts that only moved: the same statement gone here, new there."""
    gone = {(k[0], k[1], v): k for k, v in before.items() if k[2] and k not in after}
    fresh = {(k[0], k[1], v): k for k, v in after.items() if k[2] and k not in before}
    return {key for same in gone.keys() & fresh.keys() for key in (gone[same], fresh[same])}


def diff_facts(old: Iterable[Fact], new: Iterable[Fact],
               sent: Callable[[str], bool]) -> list[Change]:
    """Classified changes of prose facts; ``sent(where)`` says if the client sends that place.

    Prose is reworded more often than APIs change, so a fact stated on one side only is a
    cosmetic note ("now stated", "no longer stated"), except a new query parameter (something
    a client may now use) and one that left an endpoint URL still written out (a removal).
    Facts stated on both sides with different values are classified.
    """
    before, after = grouped(old), grouped(new)
    url_still_stated = any(k[0] == "query" for k in after)
    out: list[Change] = []
    for key in sorted((set(before) | set(after)) - _moved(before, after)):
        was, now = before.get(key, frozenset()), after.get(key, frozenset())
        if was == now:
            continue
        kind, subject, where = key
        ptr = f"{where or 'description'} ({kind}: {subject})"
        show_was, show_now = "|".join(sorted(was)) or None, "|".join(sorted(now)) or None
        if kind == "query":
            out.append(_query_change(subject, was, now, ptr, url_still_stated))
        elif not (was and now):
            out.append(Change(C, ptr, f"{subject} now stated in prose; check it" if now
                              else f"{subject} no longer stated in prose", show_was, show_now))
        elif kind == "limit":
            out.append(_limit_change(Fact(kind, subject, "", where), was, now, ptr, sent(where)))
        else:  # an id format or a sample rate that changed breaks parsers
            out.append(Change(B, ptr, f"{subject} changed; clients that parse or produce it "
                              "must follow the new one", show_was, show_now))
    return out
