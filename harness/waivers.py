"""Waivers: known deviations a project accepts, shown as *waived* and never hidden.

A gateway team that knows its gateway renames ``Retry-After`` still wants CI to fail on the
next, new deviation. A waiver (``[[tool.vlm-harness.waiver]]`` in pyproject.toml, ``[[waiver]]``
in vlm-harness.toml) names a check, a provider (``mimo`` or ``mimo/anthropic-messages``), an
API (protocol or endpoint name), a ``match`` (a substring of, or a regular expression searched
in, the finding's grouped cause, its message or its schema pointer), a ``reason`` (required)
and an optional ``expires`` date; every field it names must match. :func:`apply` marks each
finding a live waiver covers (``Finding.waived`` = the reason, so it no longer fails the run)
and recomputes case outcomes, and reports every waiver's use: how many findings it covered, or
that it *expired* (it no longer waives: its findings fail again) or *matched nothing* (the
deviation is fixed or the match is wrong: remove or correct it). Both are warnings in the
console, ``results.json``, JUnit and the HTML report, never silent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from harness.findings import Finding

if TYPE_CHECKING:
    from harness.report.results import CaseResult, RunResult

FIELDS = ("check", "provider", "api", "match", "reason", "expires")


@dataclass(frozen=True, slots=True)
class Waiver:
    reason: str
    check: str = ""
    provider: str = ""
    api: str = ""
    match: str = ""
    expires: date | None = None
    index: int = 1  # its position in the file, to name it

    @property
    def name(self) -> str:
        what = " ".join(filter(None, (self.check, self.provider, self.api,
                                      f"~{self.match!r}" if self.match else "")))
        return f"waiver {self.index} ({what or 'everything'})"

    def expired(self, today: date) -> bool:
        return self.expires is not None and self.expires < today

    def covers(self, provider: str, endpoint: str, protocol: str, f: Finding) -> bool:
        from harness.report.groups import cause_of

        if self.check and self.check != f.check:
            return False
        scope = f"{provider}/{protocol}"
        if self.provider and self.provider not in (provider, scope):
            return False
        if self.api and self.api not in (protocol, endpoint):
            return False
        if not self.match:
            return True
        texts = (cause_of(f.message), f.message, f.schema_pointer)
        return any(self.match in t for t in texts) or any(
            _search(self.match, t) for t in texts)

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "check": self.check, "provider": self.provider,
                "api": self.api, "match": self.match, "reason": self.reason,
                "expires": self.expires.isoformat() if self.expires else None}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Waiver:
        expires = data.get("expires")
        return cls(reason=data["reason"], check=data.get("check", ""),
                   provider=data.get("provider", ""), api=data.get("api", ""),
                   match=data.get("match", ""), index=int(data.get("index", 1)),
                   expires=date.fromisoformat(expires) if expires else None)


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:  # not a regular expression: the substring test already ran
        return False


@dataclass(frozen=True, slots=True)
class WaiverUse:
    """What one waiver did in one run."""

    waiver: Waiver
    matched: int  # findings it waived (0 when expired: it waives nothing then)
    status: str  # "active", "expired" or "unmatched"

    @property
    def message(self) -> str:
        w = self.waiver
        if self.status == "expired":
            return (f"{w.name} expired on {w.expires}; its findings count again "
                    f"(reason was: {w.reason})")
        if self.status == "unmatched":
            return (f"{w.name} matched no finding: the deviation is gone or the waiver is "
                    "wrong; remove or correct it")
        return f"{w.name} waived {self.matched} finding(s): {w.reason}"

    def to_dict(self) -> dict[str, Any]:
        return {**self.waiver.to_dict(), "status": self.status, "matched": self.matched,
                "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> WaiverUse:
        return cls(Waiver.from_dict(data), int(data.get("matched", 0)), data["status"])


def parse(tables: Any) -> tuple[Waiver, ...]:
    """Waivers from the config's array of tables; a ValueError names the entry and field."""
    if not isinstance(tables, list) or not all(isinstance(t, Mapping) for t in tables):
        raise TypeError("an array of tables ([[waiver]] entries)")
    out = []
    for i, table in enumerate(tables, 1):
        unknown = sorted(set(table) - set(FIELDS))
        if unknown:
            raise ValueError(f"entry {i}: unknown field {unknown[0]!r}; known: {', '.join(FIELDS)}")
        for name in FIELDS[:-1]:
            if name in table and not isinstance(table[name], str):
                raise ValueError(f"entry {i}: {name} must be a string, got {table[name]!r}")
        if not str(table.get("reason", "")).strip():
            raise ValueError(f"entry {i}: a waiver needs a reason (why the deviation is accepted)")
        expires = table.get("expires")
        if isinstance(expires, datetime):
            expires = expires.date()
        elif isinstance(expires, str):
            try:
                expires = date.fromisoformat(expires)
            except ValueError:
                raise ValueError(f"entry {i}: expires must be a date (2027-01-31), got "
                                 f"{expires!r}") from None
        elif expires is not None and not isinstance(expires, date):
            raise ValueError(f"entry {i}: expires must be a date (2027-01-31), got {expires!r}")
        out.append(Waiver(reason=table["reason"].strip(), check=table.get("check", ""),
                          provider=table.get("provider", ""), api=table.get("api", ""),
                          match=table.get("match", ""), expires=expires, index=i))
    return tuple(out)


def _protocol(provider: str, endpoint: str) -> str:
    """The protocol an endpoint name belongs to for ``provider`` ("" when unknown)."""
    from harness import providers
    from harness.errors import UnknownNameError

    try:
        profile = providers.get(provider)
    except UnknownNameError:
        return ""
    for api in profile.apis:
        if endpoint == api.protocol.name or any(e.name == endpoint for e in api.protocol.endpoints):
            return api.protocol.name
    return ""


def waive(cases: Iterable[CaseResult], waivers: tuple[Waiver, ...], today: date | None = None,
          ) -> tuple[tuple[CaseResult, ...], dict[int, int]]:
    """``cases`` with covered findings waived and outcomes recomputed, and how many findings
    each waiver (by index) covers. Findings waived before (rows of one pytest item each, merged
    later) are counted again, so applying twice gives the same counts."""
    from harness.report.results import Outcome

    today = today or datetime.now(UTC).date()
    live = [w for w in waivers if not w.expired(today)]
    matched = {w.index: 0 for w in waivers}
    out: list[CaseResult] = []
    for case in cases:
        protocol = _protocol(case.provider, case.endpoint)
        findings = []
        for f in case.findings:
            w = next((w for w in live if w.covers(f.provider or case.provider,
                                                  f.endpoint or case.endpoint, protocol, f)), None)
            if w is not None:
                matched[w.index] += 1
                f = f if f.waived else replace(f, waived=w.reason)
            findings.append(f)
        outcome = case.outcome
        # A case failed by its findings passes once each error finding is waived; a case that
        # failed without an error finding (a crash, a refused key) still fails.
        if outcome is Outcome.FAIL and any(f.waived for f in findings) and not any(
                f.is_error for f in findings):
            outcome = Outcome.PASS
        out.append(replace(case, findings=tuple(findings), outcome=outcome))
    return tuple(out), matched


def apply(result: RunResult, waivers: tuple[Waiver, ...], today: date | None = None) -> RunResult:
    """``result`` with covered findings waived, outcomes recomputed and each waiver's use."""
    if not waivers:
        return result
    today = today or datetime.now(UTC).date()
    cases, matched = waive(result.cases, waivers, today)
    uses = tuple(WaiverUse(w, matched[w.index], "expired" if w.expired(today) else
                           "active" if matched[w.index] else "unmatched") for w in waivers)
    return replace(result, cases=cases, waivers=uses)
