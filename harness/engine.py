"""The contract suite runner: every selected check × provider API on one target.

For each provider API the target can reach, each applicable scenario check runs with a fresh
:class:`~harness.checks.exchange.Probe`; every exchange it makes is then passed through the
exchange checks. Results become :class:`~harness.report.results.CaseResult` rows keyed by
check × provider × endpoint, with the matrix capability of the check, so the same data feeds
the console, ``results.json``, JUnit and the HTML report. A check that cannot run says why
(skip), and a capability the provider does not offer is reported as such, never as a pass.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from harness import __version__, providers
from harness.checks.exchange import Exchange, Probe
from harness.checks.registry import CheckContext, CheckSpec, Skip, select
from harness.findings import Finding
from harness.report.results import CaseResult, Outcome, RunMeta, RunResult, schema_version
from harness.secrets import Scrubber
from harness.targets.base import Target

Progress = Callable[[str], None]


@dataclass
class Plan:
    target: Target
    provider_spec: str = "all"
    check_spec: str | None = None
    seed: int = 0
    command: str = ""
    options: dict[str, object] = field(default_factory=dict)


def _case(spec: CheckSpec, provider: str, endpoint: str, outcome: Outcome, *, reason: str = "",
          findings: Iterable[Finding] = (), exchanges: Iterable[Exchange] = (),
          duration: float = 0.0) -> CaseResult:
    return CaseResult(check=spec.name, provider=provider, endpoint=endpoint,
                      capability=spec.capability, outcome=outcome, reason=reason,
                      findings=tuple(findings),
                      latencies_ms=tuple(round(e.latency_ms, 3) for e in exchanges),
                      duration_s=round(duration, 4))


def _run_scenario(spec: CheckSpec, ctx: CheckContext, exchange_checks: list[CheckSpec]
                  ) -> list[CaseResult]:
    started = time.perf_counter()
    provider = ctx.profile.name
    try:
        findings = list(spec.fn(ctx))
    except Skip as skip:
        return [_case(spec, provider, ctx.api.protocol.name, Outcome.SKIP, reason=str(skip))]
    except Exception as exc:  # a crashing check is a finding about the check run, not a crash
        findings = [ctx.finding(f"check raised {type(exc).__name__}: {exc}")]
    elapsed = time.perf_counter() - started
    endpoint = ctx.probe.exchanges[0].endpoint if ctx.probe.exchanges else ctx.api.protocol.name
    rows = [_case(spec, provider, endpoint, Outcome.FAIL if any(f.is_error for f in findings)
                  else Outcome.PASS, findings=findings, exchanges=ctx.probe.exchanges,
                  duration=elapsed)]
    for xspec in exchange_checks:
        if not xspec.applies(ctx.api):
            continue
        xctx = CheckContext(ctx.target, ctx.profile, ctx.api, ctx.probe, ctx.scrubber,
                            check=xspec.name, seed=ctx.seed)
        by_endpoint: dict[str, list[Finding]] = {}
        for ex in ctx.probe.exchanges:
            by_endpoint.setdefault(ex.endpoint, []).extend(xspec.fn(ex, xctx))
        rows.extend(
            _case(xspec, provider, ep, Outcome.FAIL if any(f.is_error for f in fs) else Outcome.PASS,
                  findings=fs, reason=f"via {spec.name}")
            for ep, fs in by_endpoint.items())
    return rows


def merge_cases(rows: list[CaseResult]) -> list[CaseResult]:
    """One row per check × provider × endpoint: exchange checks are seen by many scenarios."""
    merged: dict[tuple[str, str, str], CaseResult] = {}
    for row in rows:
        key = (row.check, row.provider, row.endpoint)
        old = merged.get(key)
        if old is None:
            merged[key] = row
            continue
        outcome = Outcome.FAIL if Outcome.FAIL in (old.outcome, row.outcome) else old.outcome
        merged[key] = CaseResult(
            check=old.check, provider=old.provider, endpoint=old.endpoint,
            capability=old.capability, outcome=outcome, reason=old.reason,
            findings=tuple(dict.fromkeys(old.findings + row.findings)),
            latencies_ms=old.latencies_ms + row.latencies_ms,
            duration_s=old.duration_s + row.duration_s)
    return list(merged.values())


def run(plan: Plan, progress: Progress | None = None) -> RunResult:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    specs = select(plan.check_spec)
    scenarios = [s for s in specs if s.kind == "scenario"]
    exchange_checks = [s for s in specs if s.kind == "exchange"]
    scrubber = Scrubber.from_env()
    profiles = providers.select(plan.provider_spec)
    rows: list[CaseResult] = []
    for profile in profiles:
        offered = profile.capabilities()
        for api in profile.apis:
            skip = plan.target.skip_reason(profile, api)
            for spec in scenarios:
                if not spec.applies(api):
                    continue
                if spec.capability not in offered:
                    rows.append(_case(spec, profile.name, api.protocol.name, Outcome.NOT_OFFERED,
                                      reason=f"{profile.name} does not offer {spec.capability}"))
                    continue
                if skip:
                    rows.append(_case(spec, profile.name, api.protocol.name, Outcome.SKIP,
                                      reason=skip))
                    continue
                if progress:
                    progress(f"{profile.name} {api.protocol.name} {spec.name}")
                ctx = CheckContext(plan.target, profile, api, Probe(plan.target, profile, api),
                                   scrubber, check=spec.name, seed=plan.seed,
                                   options=dict(plan.options))
                rows.extend(_run_scenario(spec, ctx, exchange_checks))
    meta = RunMeta(target=plan.target.kind.value, started_at=started,
                   finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   harness_version=__version__, schema_version=schema_version(),
                   seed=plan.seed, providers=tuple(p.name for p in profiles),
                   python=f"{platform.python_implementation()} {sys.version.split()[0]}",
                   command=scrubber.text(plan.command))
    return RunResult(meta=meta, cases=tuple(merge_cases(rows)))
