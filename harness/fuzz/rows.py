"""The rows a fuzz run reports: one per check × endpoint, findings deduplicated and counted.

Fuzzing repeats itself: the same defect shows up in many generated cases. :class:`_Rows` keeps
up to :data:`KEPT_PER_ROW` distinct findings per check × endpoint (each with how often it was
seen, written into the finding as ``occurrences``), counts the rest, and turns every row into a
:class:`~harness.report.results.CaseResult` named ``schemathesis:<check>`` (or ``fuzz`` for the
per-operation summary), so fuzzing lands in the same reports as the contract suite.
:func:`_finding` builds the finding for a schemathesis failure or a request that broke.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from harness.checks.exchange import Exchange
from harness.findings import Finding, Severity
from harness.fuzz.document import Route
from harness.report.results import CaseResult, Outcome
from harness.secrets import Scrubber

KEPT_PER_ROW = 5  # distinct findings kept per check × endpoint; the rest are counted


@dataclass
class _Row:
    """One check × endpoint: distinct findings kept (with how often each was seen)."""

    capability: str
    kept: dict[str, list[Any]] = field(default_factory=dict)  # message -> [finding, times]
    dropped: int = 0  # distinct findings past KEPT_PER_ROW
    reason: str = ""
    latencies: tuple[float, ...] = ()
    ran: bool = True


@dataclass
class _Rows:
    provider: str
    rows: dict[tuple[str, str], _Row] = field(default_factory=dict)

    def row(self, check: str, endpoint: str, capability: str = "errors") -> _Row:
        return self.rows.setdefault((check, endpoint), _Row(capability))

    def add(self, finding: Finding) -> None:
        row = self.row(finding.check, finding.endpoint)
        if finding.message in row.kept:
            row.kept[finding.message][1] += 1
        elif len(row.kept) < KEPT_PER_ROW:
            row.kept[finding.message] = [finding, 1]
        else:
            row.dropped += 1

    def results(self) -> list[CaseResult]:
        out = []
        for (check, endpoint), row in self.rows.items():
            findings = tuple(replace(f, extra=tuple(sorted({**dict(f.extra), "occurrences": str(n)}
                                                           .items())))
                             for f, n in row.kept.values())
            outcome = (Outcome.FAIL if any(f.is_error for f in findings)
                       else Outcome.PASS if row.ran else Outcome.SKIP)
            more = f"{row.dropped} more distinct findings not kept" if row.dropped else ""
            out.append(CaseResult(check, self.provider, endpoint, row.capability, outcome,
                                  reason="; ".join(filter(None, (row.reason, more))),
                                  findings=findings, latencies_ms=row.latencies))
        return out


def _finding(check: str, route: Route, message: str, ex: Exchange | None, scrubber: Scrubber,
             **extra: str) -> Finding:
    return Finding(check=check, severity=Severity.ERROR, message=scrubber.text(message),
                   provider=route.profile.name, endpoint=route.op.key,
                   request_id=ex.request_id if ex else "",
                   source=route.op.endpoint.source or route.api.source,
                   excerpt=ex.excerpt(scrubber) if ex else "", extra=tuple(sorted(extra.items())))
