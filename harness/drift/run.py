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
``results.json`` (with :attr:`RunResult.drift`), ``junit.xml`` and ``index.html``, and each
observation to ``<reports>/observed/`` (baselines are written only on a first run or with
``--update-baseline``; each target kind has its own baselines folder); the exit status is 1
when breaking drift was found and not accepted (or a probe failed), 3 when nothing could be
measured (no key...), 0 otherwise.
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
    _ProviderRun,
    kind_name,
    observe,
)
from harness.drift.verdict import DriftRun, ProviderDrift, _case, _compare
from harness.progress import Progress
from harness.report.results import (
    CaseResult,
    RunMeta,
    RunResult,
    named_providers,
    schema_version,
)
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
                   command=scrubber.text(plan.command),
                   required=named_providers(plan.provider_spec), allow_empty=plan.allow_empty,
                   kind="drift")
    ordered = tuple(sorted(drift, key=lambda c: -c.kind.rank))
    return DriftRun(RunResult(meta, tuple(cases), ordered), tuple(outcomes),
                    accepted=plan.update_baseline)


# --- the command ---------------------------------------------------------------------------

def table(run: DriftRun) -> Any:
    from rich.markup import escape
    from rich.table import Table

    from harness.output import STYLE, detail

    out = Table(title=f"drift probes on {run.result.meta.target}")
    for col in ("provider", "probe", "endpoint", "outcome", "latency", "findings / reason"):
        out.add_column(col)
    for case in run.result.cases:
        latency = f"{case.latencies_ms[0]:.0f} ms" if case.latencies_ms else ""
        out.add_row(case.provider, case.check.removeprefix(f"{CHECK}-"), case.endpoint,
                    f"[{STYLE[case.outcome]}]{case.outcome.value}[/]", latency,
                    escape(detail(case)))
    return out


def baselines_for(root: Path, target: str) -> Path:
    """Each target kind keeps its own baselines: a mock run never writes where the live
    nightly compares (``reports/baselines/live``)."""
    return root / target


def command(*, target: str, provider: str, base_url: str | Sequence[str] | None,
            baselines_dir: Path, reports_dir: Path, update_baseline: bool,
            max_requests: int | None, seed: int = 0, quiet: bool = False,
            header: Sequence[str] = (), model: Sequence[str] = (), fmt: str | None = None,
            allow_empty: bool = False) -> int:
    """``vlm-harness drift``: probe, compare, write reports; 1 on unaccepted breaking drift,
    3 when nothing could be measured."""
    import shlex

    from harness import output
    from harness.drift.guide import render
    from harness.progress import ConsoleProgress
    from harness.runner_cli import write_reports
    from harness.targets import make_target
    from harness.targets.endpoints import target_options

    fmt = output.choose(fmt)
    folder = baselines_for(baselines_dir, target)
    tgt = make_target(target_options(kind=target, base_url=base_url, header=header, model=model,
                                     seed=seed, max_requests=max_requests))
    plan = DriftPlan(tgt, provider_spec=provider, baselines_dir=folder,
                     update_baseline=update_baseline, max_requests=max_requests, seed=seed,
                     command=shlex.join(["vlm-harness", *sys.argv[1:]]),
                     observed_dir=reports_dir / "observed", allow_empty=allow_empty)
    try:
        with ConsoleProgress("probing", quiet=quiet) as progress:
            outcome = run(plan, progress=progress)
    finally:
        tgt.close()
    write_reports(outcome.result, reports_dir)
    out = output.stdout(quiet)
    err = output.stderr(quiet=quiet, soft_wrap=True, highlight=False)
    with output.closed_pipe_is_quiet():
        if fmt == "table":
            out.print(table(outcome))
        else:
            output.emit(outcome.result, fmt, out, "")
        for verdict in outcome.providers:
            err.print(verdict.note)
        changes = list(outcome.result.drift)
        if changes and fmt != "json":
            render(changes, out, "Drift against the baselines" + (
                " (accepted)" if outcome.accepted else ""))
    verdict_line = ("breaking drift accepted into the baselines" if outcome.accepted and
                    outcome.breaking else f"{len(outcome.breaking)} breaking change(s)")
    err.print(f"{verdict_line} - reports in {reports_dir}/ - baselines in {folder}/")
    output.verdict(outcome.result, f"observed in {plan.observed_dir}/", err)
    return outcome.exit_code
