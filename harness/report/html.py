"""The HTML report: one self-contained, offline, printable page built from results files.

:func:`render` turns one or more :class:`~harness.report.results.RunResult` (the newest is the
subject, the others make the history) into a single file: inline CSS and inline SVG, no script,
no external fonts or resources, so it can be mailed, archived as a CI artifact or opened from
disk on a phone. The page shows the provider × capability matrix (each cell links to its
findings), the findings grouped by cause (count, schema pointer, source section and up to three
example exchanges with scrubbed excerpts; waived causes marked as such), the project's waivers
and their warnings, drift
grouped by kind, a history table across runs, a p50/p95 latency chart, and the metadata needed
to reproduce the run. The layout lives in ``templates/report.html.j2`` (autoescaped, XHTML-
compatible markup); this module computes what it shows. Everything is scrubbed of keys twice:
the results before rendering and the finished page.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from harness.drift.baseline import percentile
from harness.drift.classify import Change, Kind
from harness.drift.guide import show
from harness.errors import UsageError
from harness.findings import UPSTREAM_SIDE, Finding, Severity
from harness.report.groups import FindingGroup, group
from harness.report.results import CAPABILITIES, CaseResult, Outcome, RunResult

TEMPLATES = Path(__file__).parent / "templates"
STATUS = {  # symbol and word, so status never relies on colour alone
    Outcome.PASS: ("✓", "pass"),
    Outcome.FAIL: ("✗", "fail"),
    Outcome.SKIP: ("↷", "skipped"),
    Outcome.NOT_OFFERED: ("–", "not offered"),
}
# A cell of which no case was selected or applies: not a skip (the chips count cases), no status.
NO_CHECK = ("·", "no check")
PROBLEM_ORDER = (Outcome.FAIL, Outcome.SKIP, Outcome.NOT_OFFERED, Outcome.PASS)
SEVERITY = {Severity.ERROR: "✗", Severity.WARNING: "!", Severity.INFO: "i"}
DRIFT_HEADINGS = {Kind.BREAKING: "Breaking", Kind.LATENCY: "Latency regressions",
                  Kind.ADDITIVE: "Additive", Kind.COSMETIC: "Cosmetic"}
CHART_WIDTH, BAR_MAX, ROW_HEIGHT = 560, 420, 58


def slug(*parts: str) -> str:
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts)


@dataclass(frozen=True, slots=True)
class Cell:
    provider: str
    capability: str
    outcome: Outcome
    note: str = ""
    checked: bool = True  # False: no case at all (the outcome is then a formal SKIP)

    @property
    def anchor(self) -> str:
        return slug("cell", self.provider, self.capability)

    @property
    def state(self) -> str:
        """The CSS status: the outcome's, or ``none`` for a cell no check looked at."""
        return self.outcome.value if self.checked or self.outcome is not Outcome.SKIP else "none"

    @property
    def symbol(self) -> str:
        return NO_CHECK[0] if self.state == "none" else STATUS[self.outcome][0]

    @property
    def label(self) -> str:
        return NO_CHECK[1] if self.state == "none" else STATUS[self.outcome][1]

    @property
    def title(self) -> str:
        base = f"{self.provider} · {self.capability}: {self.label}"
        return f"{base} ({self.note})" if self.note else base


def cell_of(run: RunResult, provider: str, capability: str) -> Cell:
    outcome, checked = run.cell(provider, capability), bool(run.cases_of(provider, capability))
    note = ("; ".join(run.skip_reasons(provider, capability))
            if outcome is Outcome.SKIP and checked else "")
    return Cell(provider, capability, outcome, note, checked)


def _example(f: Finding) -> dict[str, Any]:
    # On the gateway target the upstream side of the exchange is shown beside the client side.
    extra = [(k, v) for k, v in f.extra if k != UPSTREAM_SIDE]
    return {"message": f.message, "instance_pointer": f.instance_pointer,
            "request_id": f.request_id, "excerpt": f.excerpt, "extra": extra,
            "upstream": dict(f.extra).get(UPSTREAM_SIDE, "")}


def _group(g: FindingGroup, anchor: str) -> dict[str, Any]:
    """One cause: its count, where the promise lives, and up to three example exchanges."""
    first = g.examples[0]
    return {"anchor": anchor, "check": g.check, "severity": g.severity.value,
            "status": g.status, "symbol": "≈" if g.waived else SEVERITY[g.severity],
            "count": g.count, "cause": g.cause if g.count > 1 else first.message,
            "waived": g.waived, "endpoint": g.endpoint, "schema_pointer": g.schema_pointer,
            "source": (first.source.document, first.source.section,
                       first.source.public_url) if first.source else None,
            "examples": [_example(f) for f in g.examples], "more": g.count - len(g.examples)}


def details(run: RunResult) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Cells with cases (in full) and, per provider, the quiet cells (no case) by status."""
    full: list[dict[str, Any]] = []
    quiet: list[dict[str, Any]] = []
    for provider in run.providers:
        caps = list(CAPABILITIES) + sorted({c.capability for c in run.cases
                                            if c.provider == provider} - set(CAPABILITIES))
        silent: dict[str, list[Cell]] = {}
        for cap in caps:
            cell, cases = cell_of(run, provider, cap), run.cases_of(provider, cap)
            if not cases:
                silent.setdefault(cell.label, []).append(cell)
                continue
            causes = group((c.provider, c.endpoint, f) for c in cases for f in c.findings)
            full.append({"cell": cell, "cases": [_case(c) for c in cases],
                         "groups": [_group(g, f"{cell.anchor}-g{i}")
                                    for i, g in enumerate(causes, 1)]})
        if silent:
            quiet.append({"provider": provider, "groups": sorted(silent.items())})
    # Problems first: a reader opens the report to see what failed, then what was skipped.
    full.sort(key=lambda d: PROBLEM_ORDER.index(d["cell"].outcome))
    return full, quiet


def duration(c: CaseResult) -> str:
    """The time a case took: its own, else its requests' (fuzz rows); an exchange check that
    only judged another check's traffic (or a skip) took none worth a number, so no "0.00 s"."""
    seconds = c.duration_s or sum(c.latencies_ms) / 1000
    if seconds <= 0:
        return "—"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def _case(c: CaseResult) -> dict[str, Any]:
    return {"check": c.check, "endpoint": c.endpoint, "outcome": c.outcome.value,
            "symbol": STATUS[c.outcome][0], "label": STATUS[c.outcome][1], "reason": c.reason,
            "duration": duration(c), "findings": len(c.findings)}


def latency(run: RunResult) -> dict[str, Any]:
    """p50/p95 per provider and endpoint, with the bar geometry of the SVG chart."""
    samples: dict[tuple[str, str], list[float]] = {}
    for case in run.cases:
        if case.latencies_ms:
            samples.setdefault((case.provider, case.endpoint), []).extend(case.latencies_ms)
    rows: list[dict[str, Any]] = [
        {"provider": p, "endpoint": e, "n": len(v), "p50": percentile(v, 50),
         "p95": percentile(v, 95)} for (p, e), v in samples.items()]
    top = max((r["p95"] for r in rows), default=0.0) or 1.0
    for i, r in enumerate(rows):
        r["y"] = i * ROW_HEIGHT + 14
        r["w50"] = max(1.0, round(BAR_MAX * r["p50"] / top, 1))
        r["w95"] = max(1.0, round(BAR_MAX * r["p95"] / top, 1))
    return {"rows": rows, "width": CHART_WIDTH, "height": len(rows) * ROW_HEIGHT + 4}


def drift_groups(changes: tuple[Change, ...]) -> list[dict[str, Any]]:
    groups = []
    for kind, heading in DRIFT_HEADINGS.items():
        mine = [c for c in changes if c.kind is kind]
        if mine:
            groups.append({"kind": kind.value, "heading": heading, "changes": [
                {"provider": c.provider, "endpoint": c.endpoint, "pointer": c.pointer,
                 "old": show(c.old), "new": show(c.new), "message": c.message} for c in mine]})
    return groups


def comparable(runs: list[RunResult], subject: RunResult) -> list[RunResult]:
    """The runs a history may compare with ``subject``: same kind (suite, fuzz, drift) and
    target, so a fuzz run or a url run never reads as the suite's regression."""
    return [r for r in runs if (r.meta.kind, r.meta.target) == (subject.meta.kind,
                                                               subject.meta.target)]


def fuzz_rows(runs: list[RunResult]) -> list[dict[str, Any]]:
    """The fuzz runs' per-operation rows and failing checks: their own section of the page."""
    return [{"target": r.meta.target, "started": r.meta.started_at,
             "cases": [_case(c) | {"provider": c.provider} for c in r.cases
                       if c.check == "fuzz" or c.outcome is Outcome.FAIL]}
            for r in runs if r.meta.kind == "fuzz"]


def history(runs: list[RunResult]) -> dict[str, Any]:
    providers = list(dict.fromkeys(p for r in runs for p in r.providers))
    rows = []
    for provider in providers:
        for cap in CAPABILITIES:
            cells = [cell_of(r, provider, cap) if provider in r.providers else None
                     for r in runs]
            # Only cells some run actually checked: "no check ran" everywhere is not history.
            if any(r.cases_of(provider, cap) for r in runs):
                outcomes = {c.outcome for c in cells if c}
                rows.append({"provider": provider, "capability": cap, "cells": cells,
                             "changed": len(outcomes) > 1})
    columns = [{"label": r.meta.started_at[:16].replace("T", " "), "target": r.meta.target,
                "exit": r.exit_code, "counts": counts(r), "errors": len(r.errors),
                "breaking": len(r.breaking)} for r in runs]
    return {"columns": columns, "rows": rows}


def counts(run: RunResult) -> dict[str, int]:
    out = {o.value: 0 for o in Outcome}
    for case in run.cases:
        out[case.outcome.value] += 1
    return out


def environment() -> jinja2.Environment:
    return jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                              trim_blocks=True, lstrip_blocks=True,
                              undefined=jinja2.StrictUndefined)


def render(results: list[RunResult]) -> str:
    """The report page; the newest run (by start time) is the subject, all make the history."""
    from harness.secrets import Scrubber

    if not results:
        raise UsageError("no results to report: pass at least one results.json")
    every = sorted((r.scrubbed() for r in results), key=lambda r: r.meta.started_at)
    # The newest contract or drift run is the subject; fuzz runs get their own section.
    run = next((r for r in reversed(every) if r.meta.kind != "fuzz"), every[-1])
    runs = comparable(every, run)
    full, quiet = details(run)
    unchecked = sum(len(cells) for q in quiet for label, cells in q["groups"]
                    if label == NO_CHECK[1])
    page = environment().get_template("report.html.j2").render(
        run=run, meta=run.meta, capabilities=CAPABILITIES, status=STATUS,
        matrix=[{"provider": p, "cells": [cell_of(run, p, c) for c in CAPABILITIES]}
                for p in run.providers],
        counts=counts(run), details=full, quiet=quiet, drift=drift_groups(run.drift),
        waivers=[u.to_dict() for u in run.waivers],
        waived=sum(1 for f in run.findings if f.waived),
        history=history(runs) if len(runs) > 1 else None, latency=latency(run),
        unchecked=unchecked, no_check=NO_CHECK, fuzz=fuzz_rows(every) if run.meta.kind != "fuzz" else [],
        left_out=len(every) - len(runs) - sum(1 for r in every if r.meta.kind == "fuzz"
                                              and run.meta.kind != "fuzz"))
    return Scrubber.from_env().text(page)


def command(inputs: list[Path], output: Path, junit: Path | None = None) -> int:
    """``vlm-harness report``: write the HTML page (and, if asked, JUnit of the newest run)."""
    from rich.console import Console

    results = [RunResult.load(p) for p in inputs]
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render(results), encoding="utf-8")
    console = Console(stderr=True, highlight=False)
    console.print(f"wrote {output} ({len(results)} run{'s' if len(results) > 1 else ''})")
    if junit is not None:
        from harness.report import junit as junit_mod

        newest = max(results, key=lambda r: r.meta.started_at)
        console.print(f"wrote {junit_mod.write(newest, junit)}")
    return 0
