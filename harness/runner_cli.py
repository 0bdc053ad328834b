"""The main job behind ``vlm-harness run``: build the target, run the suite, write reports.

Kept out of :mod:`harness.cli` so the pytest plugin and scripts can run the same job with the
same outputs (``results.json``, ``junit.xml``, ``index.html`` under the reports folder) and
the same exit rule: 1 when an error-level finding is present, 0 otherwise.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from harness import engine
from harness.report import html, junit
from harness.report.results import Outcome, RunResult
from harness.targets import make_target
from harness.targets.base import TargetKind
from harness.targets.endpoints import target_options

STYLE = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.SKIP: "yellow",
         Outcome.NOT_OFFERED: "dim"}


def write_reports(result: RunResult, out_dir: Path, history: list[RunResult] | None = None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    result.write_json(out_dir / "results.json")
    junit.write(result, out_dir / "junit.xml")
    (out_dir / "index.html").write_text(html.render([*(history or []), result]), encoding="utf-8")


def summary_table(result: RunResult) -> Table:
    table = Table(title=f"contract suite on {result.meta.target}", show_lines=False)
    for col in ("provider", "check", "endpoint", "outcome", "findings / reason"):
        table.add_column(col)
    for case in sorted(result.cases, key=lambda c: (c.provider, c.check, c.endpoint)):
        detail = "; ".join(f.message for f in case.findings[:2]) or case.reason
        table.add_row(case.provider, case.check, case.endpoint,
                      f"[{STYLE[case.outcome]}]{case.outcome.value}[/]", detail[:120])
    return table


def command(*, target: str, provider: str, checks: str | None,
            base_url: str | Sequence[str] | None, seed: int, max_requests: int | None,
            max_cost: float | None, reports_dir: Path, cassettes_dir: Path | None = None,
            quiet: bool = False, concurrency: int = 1, header: Sequence[str] = (),
            model: Sequence[str] = ()) -> int:
    kind = TargetKind(target)
    options = target_options(kind=kind, base_url=base_url, header=header, model=model, seed=seed,
                             max_requests=max_requests, max_cost=max_cost,
                             cassette_dir=str(cassettes_dir) if cassettes_dir else None)
    console = Console(stderr=True, quiet=quiet)
    tgt = make_target(options)
    plan = engine.Plan(target=tgt, provider_spec=provider, check_spec=checks, seed=seed,
                       command=shlex.join(["vlm-harness", *sys.argv[1:]]), concurrency=concurrency)
    try:
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(),
                      console=console, transient=True) as bar:
            task = bar.add_task("starting", total=None)
            result = engine.run(plan, progress=lambda msg: bar.update(task, description=msg))
    finally:
        tgt.close()
    write_reports(result, reports_dir)
    out = Console(quiet=quiet)
    out.print(summary_table(result))
    counts = {o: sum(1 for c in result.cases if c.outcome is o) for o in Outcome}
    out.print(" ".join(f"[{STYLE[o]}]{n} {o.value}[/]" for o, n in counts.items()),
              f"- {len(result.errors)} error findings - reports in {reports_dir}/")
    return result.exit_code
