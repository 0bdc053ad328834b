"""The contract suite runner: every selected check × provider API on one target.

For each provider API the target can reach, each applicable scenario check runs with a fresh
:class:`~harness.checks.exchange.Probe`; every exchange it makes is then passed through the
exchange checks. Results become :class:`~harness.report.results.CaseResult` rows keyed by
check × provider × endpoint, with the matrix capability of the check, so the same data feeds
the console, ``results.json``, JUnit and the HTML report. A check that cannot run says why
(skip), and a capability the provider does not offer is reported as such, never as a pass.
The unit of work is a :class:`Case` (scenario check × provider API): :func:`plan_cases` lists
them, :func:`run_case` runs one (the pytest plugin makes one item of each), and :func:`run`
runs them all, several at once with ``Plan.concurrency`` for targets where latency dominates.
"""

from __future__ import annotations

import platform
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from harness import __version__, deadlines, discovery, providers
from harness.checks.exchange import Exchange, Probe
from harness.checks.registry import CheckContext, CheckSpec, Skip, select
from harness.findings import Finding
from harness.progress import Progress
from harness.providers import Api, Profile
from harness.report.results import (
    CaseResult,
    Outcome,
    RunMeta,
    RunResult,
    named_providers,
    schema_version,
)
from harness.secrets import Scrubber
from harness.targets.base import Target


@dataclass
class Plan:
    target: Target
    provider_spec: str = "all"
    check_spec: str | None = None
    seed: int = 0
    command: str = ""
    options: dict[str, object] = field(default_factory=dict)
    concurrency: int = 1  # cases in flight at once (network targets: latency, not CPU, bound)
    allow_empty: bool = False  # a run that checked nothing is not an error (exit 0, not 3)
    check_timeout_s: float | None = None  # None: the target kind's default (harness.deadlines)
    run_timeout_s: float | None = None
    capabilities: frozenset[str] | None = None  # forced; None: url/local targets discover them
    local_flavour: str | None = None  # the local profile as this server program speaks it

    def budgets(self) -> deadlines.TimeBudgets:
        return deadlines.TimeBudgets.for_target(self.target.kind.value, check_s=self.check_timeout_s,
                                                run_s=self.run_timeout_s)

    def run_deadline(self) -> deadlines.Deadline:
        """The run budget, starting now."""
        run_s = self.budgets().run_s
        return deadlines.Deadline.after(run_s, f"the run budget ({run_s:g} s, --run-timeout)")


def _case(spec: CheckSpec, provider: str, endpoint: str, outcome: Outcome, *, reason: str = "",
          findings: Iterable[Finding] = (), exchanges: Iterable[Exchange] = (),
          duration: float = 0.0) -> CaseResult:
    return CaseResult(check=spec.name, provider=provider, endpoint=endpoint,
                      capability=spec.capability, outcome=outcome, reason=reason,
                      findings=tuple(findings),
                      latencies_ms=tuple(round(e.latency_ms, 3) for e in exchanges),
                      duration_s=round(duration, 4))


def _run_scenario(spec: CheckSpec, ctx: CheckContext, exchange_checks: list[CheckSpec],
                  budget: deadlines.Deadline) -> list[CaseResult]:
    started = time.perf_counter()
    provider = ctx.profile.name
    findings: list[Finding] = []
    try:
        with deadlines.scope(budget):  # every wait of the check ends by then
            findings.extend(spec.fn(ctx))  # one by one: those found before a timeout are kept
    except Skip as skip:
        return [_case(spec, provider, ctx.api.protocol.name, Outcome.SKIP, reason=str(skip))]
    except deadlines.DeadlineExceeded as exc:
        findings.append(ctx.finding(str(exc), budget=exc.budget, waited_s=f"{exc.waited_s:.1f}"))
    except Exception as exc:  # a crashing check is a finding about the check run, not a crash
        findings.append(ctx.finding(f"check raised {type(exc).__name__}: {exc}"))
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


@dataclass(frozen=True, slots=True)
class Case:
    """One scenario check on one provider API: the unit a run, a pytest item and an xdist
    worker share. ``outcome`` is set when the case is decided without running (the provider
    does not offer the capability, or the target cannot reach the API) and ``reason`` says why."""

    spec: CheckSpec
    profile: Profile
    api: Api
    outcome: Outcome | None = None
    reason: str = ""

    @property
    def id(self) -> str:
        """Stable and readable: ``mimo-anthropic-messages-stream-equals-non-stream``."""
        return f"{self.profile.name}-{self.api.protocol.name}-{self.spec.name}"


def collect_cases(provider_spec: str = "all", check_spec: str | None = None,
                  profiles: list[Profile] | None = None) -> list[Case]:
    """Every scenario case in run order (provider, API, check), without a target: only what
    the profiles decide (capabilities not offered) is decided here."""
    scenarios = [s for s in select(check_spec) if s.kind == "scenario"]
    out: list[Case] = []
    for profile in profiles if profiles is not None else providers.select(provider_spec):
        offered = profile.capabilities()
        out.extend(Case(spec, profile, api) if spec.capability in offered else
                   Case(spec, profile, api, Outcome.NOT_OFFERED,
                        f"{profile.name} does not offer {spec.capability}")
                   for api in profile.apis for spec in scenarios if spec.applies(api))
    return out


def on_target(case: Case, target: Target) -> Case:
    """``case`` decided as skipped when ``target`` cannot reach its API (no key, no replay)."""
    if case.outcome is not None:
        return case
    skip = target.skip_reason(case.profile, case.api)
    return replace(case, outcome=Outcome.SKIP, reason=skip) if skip else case


def plan_cases(plan: Plan, profiles: list[Profile] | None = None) -> list[Case]:
    """Every case of ``plan`` in run order, decided where the profile or the target decides."""
    return [on_target(case, plan.target)
            for case in collect_cases(plan.provider_spec, plan.check_spec, profiles)]


def run_case(plan: Plan, case: Case, *, exchange_checks: list[CheckSpec] | None = None,
             scrubber: Scrubber | None = None,
             run_deadline: deadlines.Deadline | None = None) -> list[CaseResult]:
    """The rows of one case: its scenario row plus the exchange checks' rows over its traffic.
    The check runs within the check budget and what is left of ``run_deadline``; a case not
    started before the run budget is spent is skipped, saying so."""
    if run_deadline is not None and case.outcome is None and run_deadline.remaining() <= 0:
        case = replace(case, outcome=Outcome.SKIP,
                       reason=f"not started: {run_deadline.budget} was spent")
    if case.outcome is not None:
        return [_case(case.spec, case.profile.name, case.api.protocol.name, case.outcome,
                      reason=case.reason)]
    check_s = plan.budgets().check_s
    budget = deadlines.Deadline.after(check_s, f"the check budget ({check_s:g} s, --check-timeout)")
    if run_deadline is not None:
        budget = min(budget, run_deadline, key=lambda d: d.at)
    if exchange_checks is None:
        exchange_checks = [s for s in select(plan.check_spec) if s.kind == "exchange"]
    ctx = CheckContext(plan.target, case.profile, case.api,
                       Probe(plan.target, case.profile, case.api),
                       scrubber or Scrubber.from_env(), check=case.spec.name, seed=plan.seed,
                       options=dict(plan.options))
    return _run_scenario(case.spec, ctx, exchange_checks, budget)


def provider_cap(profile: Profile, concurrency: int) -> int:
    """How many cases of ``profile`` may run at once: the run's concurrency, lowered by an
    API's ``limits.max_concurrency`` in the profile (a provider's documented rate limit)."""
    caps = [int(api.limits["max_concurrency"]) for api in profile.apis
            if "max_concurrency" in api.limits]
    return max(1, min([concurrency, *caps]))


# Job lifecycles race a job clock against the client (a cancel that arrives after completion)
# and realtime sessions are paced in real time: two of one provider's at once would share its
# job clock and pacing. They run one case per provider at a time.
SERIAL_CAPABILITIES = frozenset({"async", "realtime"})


def _execute(cases: list[Case], run_one: Callable[[Case], list[CaseResult]],
             concurrency: int) -> list[list[CaseResult]]:
    """Run ``cases``; with ``concurrency`` > 1 providers run side by side, each up to its cap,
    never more than ``concurrency`` cases in all, a provider's timing-sensitive cases one at a
    time. Rows come back in case order, so a concurrent run reads exactly like a sequential one."""
    if concurrency <= 1 or len(cases) <= 1:
        return [run_one(case) for case in cases]
    results: list[list[CaseResult]] = [[] for _ in cases]
    bulk: dict[str, deque[int]] = {}
    timed: dict[str, deque[int]] = {}
    for index, case in enumerate(cases):
        sensitive = case.outcome is None and case.spec.capability in SERIAL_CAPABILITIES
        (timed if sensitive else bulk).setdefault(case.profile.name, deque()).append(index)
    slots = threading.BoundedSemaphore(concurrency)

    def drain(queue: deque[int]) -> None:
        while True:
            try:
                index = queue.popleft()  # deque.popleft is atomic: no two workers get one case
            except IndexError:
                return
            if cases[index].outcome is not None:  # decided cases need no slot
                results[index] = run_one(cases[index])
                continue
            with slots:
                results[index] = run_one(cases[index])

    # One pool for both, the timing-sensitive queues first (one worker each: a provider's job
    # lifecycles and sessions never overlap one another), so they add the longest provider's
    # share to the wall time, not the sum over providers.
    queues = {**{f"timed:{k}": q for k, q in timed.items()}, **{f"bulk:{k}": q for k, q in bulk.items()}}
    workers = [(queue, 1 if key.startswith("timed:") else
                provider_cap(cases[queue[0]].profile, concurrency)) for key, queue in queues.items()]
    with ThreadPoolExecutor(max_workers=sum(n for _, n in workers),
                            thread_name_prefix="vlm-case") as pool:
        futures = [pool.submit(drain, queue) for queue, n in workers for _ in range(n)]
        for future in futures:
            future.result()  # a harness bug in one worker surfaces here, not as a silent hole
    return results


def merge_runs(runs: list[RunResult]) -> RunResult:
    """Shards of one run (a CI matrix: one job per provider or region) as one result: every
    case, merged per check × provider × endpoint; the earliest start, the latest finish."""
    if not runs:
        raise ValueError("no results to merge")
    first = min(runs, key=lambda r: r.meta.started_at)
    meta = replace(first.meta, finished_at=max(r.meta.finished_at for r in runs),
                   target=",".join(dict.fromkeys(r.meta.target for r in runs)),
                   providers=tuple(dict.fromkeys(p for r in runs for p in r.meta.providers)))
    return RunResult(meta=meta, cases=tuple(merge_cases([c for r in runs for c in r.cases])),
                     drift=tuple(c for r in runs for c in r.drift))


def run(plan: Plan, progress: Progress | None = None) -> RunResult:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    exchange_checks = [s for s in select(plan.check_spec) if s.kind == "exchange"]
    scrubber = Scrubber.from_env()
    profiles = providers.select(plan.provider_spec, plan.local_flavour)
    whole = plan.run_deadline()

    def one(case: Case) -> list[CaseResult]:
        if progress is None or case.outcome is not None:  # skips and not-offered are instant
            return run_case(plan, case, exchange_checks=exchange_checks, scrubber=scrubber,
                            run_deadline=whole)
        label = f"{case.profile.name} {case.api.protocol.name} {case.spec.name}"
        progress.started(label)
        begun = time.perf_counter()
        rows = run_case(plan, case, exchange_checks=exchange_checks, scrubber=scrubber,
                        run_deadline=whole)
        progress.finished(label, rows[0].outcome.value, time.perf_counter() - begun)
        return rows

    # A target that tells exchanges apart by their order (the gateway's upstream journal, when
    # the gateway drops the correlation header) runs its cases one by one.
    concurrency = 1 if getattr(plan.target, "sequential", False) else plan.concurrency
    with deadlines.scope(whole):  # url/local: preflight (TargetUnreachable) and discovery
        cases = discovery.decide(plan_cases(plan, profiles), plan.target, plan.capabilities,
                                 plan.budgets().check_s, concurrency)
    per_case = _execute(cases, one, concurrency)
    return RunResult(meta=run_meta(plan, profiles, started, scrubber),
                     cases=tuple(merge_cases([r for rows in per_case for r in rows])))


def run_meta(plan: Plan, profiles: list[Profile], started: str,
             scrubber: Scrubber | None = None) -> RunMeta:
    """What a result says about its run; ``finished_at`` is now."""
    return RunMeta(target=plan.target.kind.value, started_at=started,
                   finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   harness_version=__version__, schema_version=schema_version(),
                   seed=plan.seed, providers=tuple(p.name for p in profiles),
                   python=f"{platform.python_implementation()} {sys.version.split()[0]}",
                   command=(scrubber or Scrubber.from_env()).text(plan.command),
                   required=named_providers(plan.provider_spec), allow_empty=plan.allow_empty)
