"""JUnit XML for CI dashboards: one testcase per check × provider × endpoint.

Cases of the same check, provider and endpoint (one per capability) are merged into a single
testcase, whose outcome is the worst of them. A failing testcase carries a ``failure`` element
whose text lists its findings grouped by cause (count, then up to three examples with check,
severity, schema pointer, source section, excerpt); a skipped or not-offered one carries
``skipped`` with the reason, and a passing one with warnings or waived findings lists them in
``system-out``. The project's waivers form a ``vlm.waivers`` suite whose output says what each
waived, or (``system-err``) that it expired or matched nothing. Testsuites are per provider,
named ``vlm.<provider>``, and classnames ``vlm.<provider>.<endpoint>`` so dashboards group them.
Every string is scrubbed of keys before it is written; :mod:`xml.etree` does the escaping.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from harness.findings import Finding
from harness.report.groups import FindingGroup, group
from harness.report.results import CaseResult, Outcome, RunResult

WORST = (Outcome.FAIL, Outcome.PASS, Outcome.SKIP, Outcome.NOT_OFFERED)


@dataclass(frozen=True, slots=True)
class TestCase:
    """One merged testcase (``__test__`` keeps pytest from collecting this class)."""

    __test__ = False
    provider: str
    endpoint: str
    check: str
    cases: tuple[CaseResult, ...]

    @property
    def outcome(self) -> Outcome:
        outcomes = {c.outcome for c in self.cases}
        return next(o for o in WORST if o in outcomes)

    @property
    def findings(self) -> tuple[Finding, ...]:
        return tuple(f for c in self.cases for f in c.findings)

    @property
    def time(self) -> float:
        return sum(c.duration_s for c in self.cases)


def testcases(result: RunResult) -> list[TestCase]:
    grouped: dict[tuple[str, str, str], list[CaseResult]] = {}
    for case in result.cases:
        grouped.setdefault((case.provider, case.endpoint, case.check), []).append(case)
    return [TestCase(p, e, c, tuple(cases)) for (p, e, c), cases in grouped.items()]


def describe(finding: Finding) -> str:
    parts = [f"[{finding.severity.value}] {finding.check}: {finding.message}"]
    if finding.schema_pointer:
        parts.append(f"  schema: {finding.schema_pointer}")
    if finding.instance_pointer:
        parts.append(f"  instance: {finding.instance_pointer}")
    if finding.source:
        parts.append(f"  source: {finding.source}")
    if finding.request_id:
        parts.append(f"  request id: {finding.request_id}")
    if finding.excerpt:
        parts.append(f"  excerpt: {finding.excerpt}")
    return "\n".join(parts)


def describe_group(g: FindingGroup) -> str:
    """A cause, its count and up to three examples in full."""
    head = f"[{g.status}] {g.check}: " + (f"{g.count} × {g.cause}" if g.count > 1
                                          else g.examples[0].message)
    if g.waived:
        head += f"\n  waived: {g.waived}"
    examples = [describe(f) for f in g.examples]
    if g.count > 1:
        examples = [f"  example {i}:\n" + "\n".join("    " + line for line in text.splitlines())
                    for i, text in enumerate(examples, 1)]
        if g.count > len(g.examples):
            examples.append(f"  ... and {g.count - len(g.examples)} more like these")
        return "\n".join([head, *examples])
    return "\n".join([head, *examples[0].splitlines()[1:]])


def _testcase(parent: ET.Element, tc: TestCase) -> None:
    el = ET.SubElement(parent, "testcase", classname=f"vlm.{tc.provider}.{tc.endpoint}",
                       name=tc.check, time=f"{tc.time:.3f}")
    outcome = tc.outcome
    causes = group((tc.provider, tc.endpoint, f) for f in tc.findings)
    if outcome is Outcome.FAIL:
        first = next((g for g in causes if any(f.is_error for f in g.findings)),
                     causes[0] if causes else None)
        reasons = [c.reason for c in tc.cases if c.outcome is Outcome.FAIL and c.reason]
        message = ("; ".join(reasons) or "failed") if first is None else (
            f"{first.count} × {first.cause}" if first.count > 1 else first.examples[0].message)
        failure = ET.SubElement(el, "failure", type=first.check if first else "failure",
                                message=message)
        failure.text = "\n\n".join([describe_group(g) for g in causes] + reasons)
    elif outcome in (Outcome.SKIP, Outcome.NOT_OFFERED):
        why = dict.fromkeys(c.reason for c in tc.cases if c.reason)
        default = "not offered by the provider" if outcome is Outcome.NOT_OFFERED else "skipped"
        ET.SubElement(el, "skipped", message="; ".join(why) or default)
    elif causes:  # passing with warnings or waived findings: shown, never dropped
        ET.SubElement(el, "system-out").text = "\n\n".join(describe_group(g) for g in causes)


def _waivers(root: ET.Element, result: RunResult) -> None:
    """A testsuite of the project's waivers: each passes, its use (or warning) as output."""
    if not result.waivers:
        return
    suite = ET.SubElement(root, "testsuite", name="vlm.waivers", tests=str(len(result.waivers)),
                          failures="0", errors="0", skipped="0", time="0.000",
                          timestamp=result.meta.started_at)
    for use in result.waivers:
        el = ET.SubElement(suite, "testcase", classname="vlm.waivers", name=use.waiver.name,
                           time="0.000")
        stream = "system-out" if use.status == "active" else "system-err"
        ET.SubElement(el, stream).text = ("" if use.status == "active" else "warning: ") + use.message


def to_xml(result: RunResult) -> str:
    """The JUnit document for ``result`` (scrubbed)."""
    result = result.scrubbed()
    cases = testcases(result)
    root = ET.Element("testsuites", name="vlm-harness")
    meta = result.meta
    for provider in dict.fromkeys(tc.provider for tc in cases):
        mine = [tc for tc in cases if tc.provider == provider]
        suite = ET.SubElement(
            root, "testsuite", name=f"vlm.{provider}", tests=str(len(mine)),
            failures=str(sum(tc.outcome is Outcome.FAIL for tc in mine)), errors="0",
            skipped=str(sum(tc.outcome in (Outcome.SKIP, Outcome.NOT_OFFERED) for tc in mine)),
            time=f"{sum(tc.time for tc in mine):.3f}", timestamp=meta.started_at)
        props = ET.SubElement(suite, "properties")
        for key in ("target", "harness_version", "schema_version", "seed", "command"):
            ET.SubElement(props, "property", name=key, value=str(getattr(meta, key)))
        for tc in mine:
            _testcase(suite, tc)
    _waivers(root, result)
    root.set("tests", str(len(cases) + len(result.waivers)))
    root.set("failures", str(sum(tc.outcome is Outcome.FAIL for tc in cases)))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def write(result: RunResult, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_xml(result), encoding="utf-8")
    return path
