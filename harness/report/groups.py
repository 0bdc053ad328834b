"""Findings grouped by cause: one row per check × cause, with a count and a few examples.

One broken promise often yields many findings: a gateway that drops ``finish_reason`` produces
one per chunk of every streamed answer (52 in one run), burying the handful of distinct
problems. A *cause* is the finding's message made generic (:func:`cause_of`: numbers, ids,
indices and digests replaced by placeholders) plus its schema pointer, so "event 3
/choices/0: 'finish_reason' is a required property" and the same at event 17 are one cause,
while a different missing property or a different HTTP status stays apart. Groups are keyed by
provider, endpoint, check, severity and cause, count their findings and keep the first three as
examples; the console, ``results.json`` (next to the raw findings, which stay for tools), JUnit
and the HTML report all show groups. Waived findings (:mod:`harness.waivers`) form their own
groups, shown as waived.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from harness.findings import Finding, Severity

if TYPE_CHECKING:
    from harness.report.results import RunResult

EXAMPLES = 3
# Order matters: whole ids before their digits. HTTP statuses and "status NNN" are kept, since
# a 404 and a 500 are different causes.
_GENERIC = (
    (re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I), "<id>"),
    (re.compile(r"\b(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{8,}\b"), "<id>"),  # chatcmpl-9fQ2..., req_01H...
    (re.compile(r"\b[0-9a-f]{16,}\b", re.I), "<hex>"),
    (re.compile(r"(?<![\w.])(?<!HTTP )(?<!status )(?<!code )-?\d+(?:\.\d+)?(?![\w.])"), "N"),
)


def cause_of(message: str) -> str:
    """``message`` with what varies between occurrences of one cause replaced."""
    for pattern, placeholder in _GENERIC:
        message = pattern.sub(placeholder, message)
    return message


@dataclass(frozen=True, slots=True)
class FindingGroup:
    provider: str
    endpoint: str
    check: str
    severity: Severity
    cause: str
    schema_pointer: str
    findings: tuple[Finding, ...]

    @property
    def count(self) -> int:
        return len(self.findings)

    @property
    def examples(self) -> tuple[Finding, ...]:
        return self.findings[:EXAMPLES]

    @property
    def waived(self) -> str:
        """The reason of the waiver covering the group ("" when none does)."""
        return self.findings[0].waived

    @property
    def status(self) -> str:
        """What a reader should make of it: error, warning, info, or waived."""
        return "waived" if self.waived else self.severity.value

    @property
    def key(self) -> str:
        """A short stable id of the cause (for anchors and for tools diffing two runs)."""
        text = "\0".join((self.provider, self.endpoint, self.check, self.severity.value,
                          self.cause, self.schema_pointer))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "provider": self.provider, "endpoint": self.endpoint,
                "check": self.check, "severity": self.severity.value, "status": self.status,
                "cause": self.cause, "schema_pointer": self.schema_pointer, "count": self.count,
                "waived": self.waived,
                "examples": [{"message": f.message, "request_id": f.request_id,
                              "instance_pointer": f.instance_pointer, "excerpt": f.excerpt}
                             for f in self.examples]}


def group(findings: Iterable[tuple[str, str, Finding]]) -> list[FindingGroup]:
    """Groups of (provider, endpoint, finding) triples, worst and biggest first."""
    # Waived and unwaived findings of one cause (a waiver matching some messages only) stay apart.
    grouped: dict[tuple[str, str, str, Severity, str, str, str], list[Finding]] = {}
    for provider, endpoint, f in findings:
        key = (f.provider or provider, f.endpoint or endpoint, f.check, f.severity,
               cause_of(f.message), f.schema_pointer, f.waived)
        grouped.setdefault(key, []).append(f)
    groups = [FindingGroup(*key[:6], findings=tuple(fs)) for key, fs in grouped.items()]
    return sorted(groups, key=lambda g: (bool(g.waived), -g.severity.rank, -g.count,
                                         g.provider, g.endpoint, g.check, g.cause))


def of_run(result: RunResult) -> list[FindingGroup]:
    return group((c.provider, c.endpoint, f) for c in result.cases for f in c.findings)
