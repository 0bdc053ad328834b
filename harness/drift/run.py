"""The drift runner behind ``vlm-harness drift``: probe each provider, compare, report, accept.

For every selected provider the runner sends the small probe set of :mod:`~harness.drift.probes`
through the target, records each answer's status, content type, body or stream-event shape and
latency (:class:`~harness.drift.baseline.ProbeObservation`), runs the registered exchange checks
on it (schema conformance, documented status, content type, error shape: the same code the
contract suite uses, so a nonconforming answer is a finding here too) and compares the
observation with the provider's baseline under ``--baselines-dir``. The first run of a provider
creates its baseline and says so; ``--update-baseline`` accepts what was seen. A provider that
cannot be measured is reported, never raised: unreachable or a key it refuses is a failed case,
a rate limit, an outage or a spent budget a skipped one, and its remaining probes are not sent
(nor is anything compared, since a 429 says nothing about the API's shape). Results go to
``results.json`` (with :attr:`RunResult.drift`), ``junit.xml`` and ``index.html``; the exit
status is 1 when breaking drift was found and not accepted, 0 otherwise.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import httpx

from harness import __version__, providers
from harness.checks.exchange import Exchange, Probe, SseEvent
from harness.checks.registry import CheckContext, CheckSpec, select
from harness.drift import baseline as bl
from harness.drift.classify import Change
from harness.drift.guide import line
from harness.drift.probes import DriftProbe, probes_for
from harness.errors import HarnessError
from harness.findings import Finding, Severity
from harness.providers import Api, Profile
from harness.report.results import CaseResult, Outcome, RunMeta, RunResult, schema_version
from harness.secrets import Scrubber
from harness.targets.base import Target
from harness.targets.budget import BudgetExceeded

CHECK = "drift"
# Statuses that say "not now" rather than anything about the API's shape: never compared.
THROTTLED = frozenset({429})
UNAVAILABLE = frozenset({502, 503, 504, 529})
# Statuses that, on a request carrying the key, say the account or key is refused.
REFUSED = frozenset({401, 402, 403})

Progress = Callable[[str], None]


@dataclass
class DriftPlan:
    target: Target
    provider_spec: str = "all"
    baselines_dir: Path = bl.BASELINE_DIR
    update_baseline: bool = False
    max_requests: int | None = None  # probes sent per provider, on every target
    seed: int = 0
    command: str = ""


@dataclass(frozen=True, slots=True)
class ProviderDrift:
    """What happened to one provider's baseline: ``compared``, ``created``, ``updated`` or
    ``untouched`` (nothing was measured), with a sentence for the console."""

    provider: str
    baseline: str
    note: str
    changes: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class DriftRun:
    result: RunResult
    providers: tuple[ProviderDrift, ...]
    accepted: bool = False  # --update-baseline: the changes were taken into the baselines

    @property
    def breaking(self) -> tuple[Change, ...]:
        return self.result.breaking

    @property
    def exit_code(self) -> int:
        return 1 if self.breaking and not self.accepted else 0


@dataclass
class _Record:
    """One probe's fate, before breaking drift (known only after comparing) is attached."""

    probe: DriftProbe
    outcome: Outcome
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    exchange: Exchange | None = None
    observation: bl.ProbeObservation | None = None
    duration_s: float = 0.0


def _event(event: SseEvent) -> Any:
    """An SSE event as :func:`~harness.drift.shape.infer_stream` takes it: ``(name, body)`` when
    the server names events (Anthropic), else the body (OpenAI chunks; ``[DONE]`` stays a str)."""
    try:
        body = event.json()
    except ValueError:
        body = event.data
    return (event.event, body) if event.event else body


def observe(probe: DriftProbe, ex: Exchange) -> bl.ProbeObservation:
    body = ex.json() if not ex.events else None
    return bl.ProbeObservation.observe(
        probe.endpoint, probe.name, ex.status, ex.content_type,
        bodies=[body] if body is not None else [],
        streams=[[_event(e) for e in ex.events]] if ex.events else [],
        latencies_ms=[ex.latency_ms])


class _Stop(Exception):
    """The provider cannot be measured further in this run; ``args[0]`` says why."""


class _ProviderRun:
    """Sends one provider's probes, stopping early when it cannot be measured."""

    def __init__(self, plan: DriftPlan, profile: Profile, scrubber: Scrubber,
                 exchange_checks: list[CheckSpec], progress: Progress | None) -> None:
        self.plan, self.profile, self.scrubber = plan, profile, scrubber
        self.exchange_checks, self.progress = exchange_checks, progress
        self.sent = 0
        self.stopped: str | None = None
        self.records: list[_Record] = []
        self.rows: list[CaseResult] = []  # APIs without probes

    def run(self) -> None:
        for api in self.profile.apis:
            probe = Probe(self.plan.target, self.profile, api)
            planned = probes_for(probe, seed=self.plan.seed)
            if not planned:
                self.rows.append(CaseResult(
                    check=CHECK, provider=self.profile.name, endpoint=api.protocol.name,
                    capability=_capability_of(api), outcome=Outcome.SKIP,
                    reason=f"{api.protocol.name} has no request/response probes; drift covers "
                           "HTTP APIs only"))
                continue
            skip = self.plan.target.skip_reason(self.profile, api)
            for dp in planned:
                if skip:
                    self.records.append(_Record(dp, Outcome.SKIP, skip))
                elif self.stopped:
                    self.records.append(_Record(dp, Outcome.SKIP, f"not sent: {self.stopped}"))
                elif self.plan.max_requests is not None and self.sent >= self.plan.max_requests:
                    self.records.append(_Record(dp, Outcome.SKIP, (
                        f"not sent: --max-requests {self.plan.max_requests} for "
                        f"{self.profile.name} spent")))
                else:
                    self.records.append(self._send(dp, probe))

    def _ctx(self, probe: Probe, check: str = CHECK) -> CheckContext:
        return CheckContext(self.plan.target, self.profile, probe.api, probe, self.scrubber,
                            check=check, seed=self.plan.seed)

    def _send(self, dp: DriftProbe, probe: Probe) -> _Record:
        if self.progress:
            self.progress(f"{self.profile.name} {dp.endpoint} {dp.name}")
        started = time.perf_counter()
        record = _Record(dp, Outcome.PASS)
        try:
            self.sent += 1
            ex = dp.send(probe)
        except BudgetExceeded as exc:
            self.stopped = "the request budget is spent"
            record.outcome, record.reason = Outcome.SKIP, self.scrubber.text(str(exc))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            url = self._url(exc, probe)
            self.stopped = f"{self.profile.name} is unreachable"
            record.outcome = Outcome.FAIL
            record.findings.append(self._ctx(probe).finding(
                f"unreachable: cannot connect to {url} ({type(exc).__name__}: {exc}); "
                "nothing was compared"))
        except (httpx.TransportError, HarnessError) as exc:  # a read timeout, a refused redirect
            record.outcome = Outcome.FAIL
            record.findings.append(self._ctx(probe).finding(
                f"{dp.name} probe got no answer: {type(exc).__name__}: {exc}"))
        else:
            record.exchange = ex
            self._judge(record, probe, ex)
        record.duration_s = round(time.perf_counter() - started, 4)
        return record

    def _url(self, exc: httpx.TransportError, probe: Probe) -> str:
        try:
            url = exc.request.url.copy_with(query=None)
        except RuntimeError:  # raised outside a request: name the API base instead
            with self.plan.target.client(self.profile, probe.api) as client:
                url = client.base_url
        return self.scrubber.url(str(url))

    def _judge(self, record: _Record, probe: Probe, ex: Exchange) -> None:
        dp, ctx = record.probe, self._ctx(probe)
        env = probe.api.auth.env
        if ex.status in THROTTLED or ex.status in UNAVAILABLE:
            what = "rate-limited" if ex.status in THROTTLED else "unavailable"
            wait = ex.headers.get("retry-after")
            self.stopped = f"{self.profile.name} is {what}"
            record.outcome = Outcome.SKIP
            record.reason = (f"{what}: HTTP {ex.status} on the {dp.name} probe"
                             + (f" (Retry-After: {wait})" if wait else "")
                             + "; not compared with the baseline, remaining probes not sent")
            return
        if ex.status in REFUSED and dp.auth:
            sent_key = self.plan.target.key(self.profile, probe.api) is not None
            self.stopped = f"{self.profile.name} refused the credentials"
            record.outcome = Outcome.FAIL
            message = (f"the key in {env} was refused: HTTP {ex.status} on the {dp.name} probe, "
                       "which carried it" if sent_key else
                       f"HTTP {ex.status} without a key: the server wants one, set {env}")
            record.findings.append(ctx.finding(message + "; nothing was compared", exchange=ex))
            return
        for spec in self.exchange_checks:
            if spec.applies(probe.api):
                record.findings.extend(spec.fn(ex, self._ctx(probe, spec.name)))
        record.observation = observe(dp, ex)
        if any(f.is_error for f in record.findings):
            record.outcome = Outcome.FAIL

    def observation(self) -> bl.Observation:
        return bl.Observation(self.profile.name,
                              tuple(r.observation for r in self.records if r.observation),
                              datetime.now(UTC).isoformat(timespec="seconds"),
                              kind_name(self.plan.target))


def kind_name(target: Target) -> str:
    kind = target.kind
    return kind.value if isinstance(kind, Enum) else str(kind)


def _capability_of(api: Api) -> str:
    caps = {c for m in api.models.values() for c in m.capabilities}
    return "realtime" if "realtime" in caps else next(iter(sorted(caps)), "errors")


def _compare(plan: DriftPlan, observation: bl.Observation) -> ProviderDrift:
    name, root = observation.provider, plan.baselines_dir
    path = bl.baseline_path(name, root)
    if not observation.probes:
        return ProviderDrift(name, "untouched", f"{name}: nothing measured; baseline untouched")
    old = bl.load_baseline(name, root)
    if old is None:
        bl.save_baseline(observation, root)
        return ProviderDrift(name, "created", f"{name}: no baseline yet; created {path} "
                             f"from this run ({len(observation.probes)} probes)")
    changes = tuple(bl.compare_to_baseline(observation, old))
    new_probes = [p.probe for p in observation.probes if old.probe(*p.key) is None]
    if plan.update_baseline:
        bl.update_baseline(observation, root)
        return ProviderDrift(name, "updated", f"{name}: {len(changes)} change(s) accepted; "
                             f"updated {path}", changes)
    note = f"{name}: compared with {path}"
    if new_probes:
        note += (f"; probes not in the baseline yet ({', '.join(new_probes)}): "
                 "accept them with --update-baseline")
    return ProviderDrift(name, "compared", note, changes)


def _case(profile: Profile, record: _Record, breaking: list[Change]) -> CaseResult:
    findings = list(record.findings)
    for change in breaking:
        findings.append(Finding(
            check=CHECK, severity=Severity.ERROR, message=f"breaking drift: {line(change)}",
            provider=profile.name, endpoint=change.endpoint, instance_pointer=change.pointer,
            extra=(("new", str(change.new)), ("old", str(change.old)))))
    outcome = Outcome.FAIL if breaking else record.outcome
    latencies = (round(record.exchange.latency_ms, 3),) if record.exchange else ()
    return CaseResult(check=f"{CHECK}-{record.probe.name}", provider=profile.name,
                      endpoint=record.probe.endpoint, capability=record.probe.capability,
                      outcome=outcome, reason=record.reason, findings=tuple(findings),
                      latencies_ms=latencies, duration_s=record.duration_s)


def run(plan: DriftPlan, progress: Progress | None = None) -> DriftRun:
    """Probe, compare and (when asked, or on a first run) write baselines; never raises for a
    provider that misbehaves."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    scrubber = Scrubber.from_env()
    exchange_checks = [s for s in select(None) if s.kind == "exchange"]
    profiles = providers.select(plan.provider_spec)
    cases: list[CaseResult] = []
    drift: list[Change] = []
    outcomes: list[ProviderDrift] = []
    for profile in profiles:
        pr = _ProviderRun(plan, profile, scrubber, exchange_checks, progress)
        pr.run()
        verdict = _compare(plan, pr.observation())
        outcomes.append(verdict)
        drift.extend(verdict.changes)
        unaccepted = [] if plan.update_baseline else [c for c in verdict.changes if c.is_breaking]
        for record in pr.records:
            mine = [c for c in unaccepted if c.endpoint == record.probe.endpoint
                    and c.pointer.startswith(f"{record.probe.name}#")]
            cases.append(_case(profile, record, mine))
        cases.extend(pr.rows)
    meta = RunMeta(target=kind_name(plan.target), started_at=started,
                   finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   harness_version=__version__, schema_version=schema_version(),
                   seed=plan.seed, providers=tuple(p.name for p in profiles),
                   python=f"{platform.python_implementation()} {sys.version.split()[0]}",
                   command=scrubber.text(plan.command))
    ordered = tuple(sorted(drift, key=lambda c: -c.kind.rank))
    return DriftRun(RunResult(meta, tuple(cases), ordered), tuple(outcomes),
                    accepted=plan.update_baseline)



# --- the command ---------------------------------------------------------------------------

def table(run: DriftRun) -> Any:
    from rich.table import Table

    from harness.runner_cli import STYLE

    out = Table(title=f"drift probes on {run.result.meta.target}")
    for col in ("provider", "probe", "endpoint", "outcome", "latency", "findings / reason"):
        out.add_column(col)
    for case in run.result.cases:
        detail = "; ".join(f.message for f in case.findings[:2]) or case.reason
        latency = f"{case.latencies_ms[0]:.0f} ms" if case.latencies_ms else ""
        out.add_row(case.provider, case.check.removeprefix(f"{CHECK}-"), case.endpoint,
                    f"[{STYLE[case.outcome]}]{case.outcome.value}[/]", latency, detail[:120])
    return out


def command(*, target: str, provider: str, base_url: str | None, baselines_dir: Path,
            reports_dir: Path, update_baseline: bool, max_requests: int | None, seed: int = 0,
            quiet: bool = False) -> int:
    """``vlm-harness drift``: probe, compare, write reports; 1 on unaccepted breaking drift."""
    import shlex

    from rich.console import Console

    from harness.drift.guide import render
    from harness.runner_cli import write_reports
    from harness.targets import make_target
    from harness.targets.base import TargetOptions

    tgt = make_target(TargetOptions(kind=target, base_url=base_url, seed=seed,
                                    max_requests=max_requests))
    plan = DriftPlan(tgt, provider_spec=provider, baselines_dir=baselines_dir,
                     update_baseline=update_baseline, max_requests=max_requests, seed=seed,
                     command=shlex.join(["vlm-harness", *sys.argv[1:]]))
    status = Console(stderr=True, quiet=quiet)
    try:
        with status.status("probing") as spinner:
            outcome = run(plan, progress=lambda msg: spinner.update(f"probing {msg}"))
    finally:
        tgt.close()
    write_reports(outcome.result, reports_dir)
    out = Console(quiet=quiet, soft_wrap=True, highlight=False)
    out.print(table(outcome))
    for verdict in outcome.providers:
        out.print(verdict.note)
    changes = list(outcome.result.drift)
    if changes:
        render(changes, out, "Drift against the baselines" + (
            " (accepted)" if outcome.accepted else ""))
    verdict_line = ("breaking drift accepted into the baselines" if outcome.accepted and
                    outcome.breaking else f"{len(outcome.breaking)} breaking change(s)")
    out.print(f"{verdict_line} - reports in {reports_dir}/ - baselines in {baselines_dir}/")
    return outcome.exit_code
