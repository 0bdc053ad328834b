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
Probing lives in :mod:`~harness.drift.measure` and comparison in :mod:`~harness.drift.verdict`;
their public names are re-exported here.
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import __version__, providers
from harness.checks.registry import select
from harness.drift.classify import Change
from harness.drift.measure import (  # noqa: F401  (the constants and observe: re-exported)
    CHECK,
    REFUSED,
    THROTTLED,
    UNAVAILABLE,
    DriftPlan,
    Progress,
    _ProviderRun,
    kind_name,
    observe,
)
from harness.drift.verdict import DriftRun, ProviderDrift, _case, _compare
from harness.report.results import CaseResult, RunMeta, RunResult, schema_version
from harness.secrets import Scrubber


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


def command(*, target: str, provider: str, base_url: str | Sequence[str] | None,
            baselines_dir: Path, reports_dir: Path, update_baseline: bool,
            max_requests: int | None, seed: int = 0, quiet: bool = False,
            header: Sequence[str] = (), model: Sequence[str] = ()) -> int:
    """``vlm-harness drift``: probe, compare, write reports; 1 on unaccepted breaking drift."""
    import shlex

    from rich.console import Console

    from harness.drift.guide import render
    from harness.runner_cli import write_reports
    from harness.targets import make_target
    from harness.targets.endpoints import target_options

    tgt = make_target(target_options(kind=target, base_url=base_url, header=header, model=model,
                                     seed=seed, max_requests=max_requests))
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
