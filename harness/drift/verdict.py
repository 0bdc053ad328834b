"""Drift verdicts: compare an observation with its baseline and turn probes into report rows.

:func:`_compare` loads the provider's baseline under the plan's ``baselines_dir`` and compares a
new observation with it, creating the baseline on a first run (never overwriting one) and
accepting the changes only under ``--update-baseline``; every observation is also written to the
run folder (``observed_dir``) for review. The outcome is a :class:`ProviderDrift` with a
sentence for the console.
:func:`_case` turns one probe's record, plus the breaking changes that belong to it, into a
:class:`~harness.report.results.CaseResult`; :class:`DriftRun` holds the whole run's result and
its exit status (1 on breaking drift that was not accepted or a failed probe, 3 when nothing
was measured).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from harness.drift import baseline as bl
from harness.drift.classify import Change
from harness.drift.guide import line
from harness.drift.measure import CHECK, DriftPlan, _Record
from harness.errors import ExitCode
from harness.findings import Finding, Severity
from harness.providers import Profile
from harness.report.results import CaseResult, Outcome, RunResult


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
        """1 on breaking drift not accepted or a failed probe, 3 when nothing was measured
        (unless allowed), else 0: the cases decide, since accepted drift is no failure."""
        if self.breaking and not self.accepted:
            return ExitCode.FINDINGS
        return replace(self.result, drift=()).exit_code


def _compare(plan: DriftPlan, observation: bl.Observation) -> ProviderDrift:
    name, root = observation.provider, plan.baselines_dir
    path = bl.baseline_path(name, root)
    if not observation.probes:
        return ProviderDrift(name, "untouched", f"{name}: nothing measured; baseline untouched")
    if plan.observed_dir is not None:  # the run folder keeps what was seen, for review
        bl.save_baseline(observation, plan.observed_dir)
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
