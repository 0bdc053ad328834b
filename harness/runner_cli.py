"""The main job behind ``vlm-harness run``: build the target, run the suite, write reports.

Kept out of :mod:`harness.cli` so the pytest plugin and scripts can run the same job with the
same outputs (``results.json``, ``junit.xml``, ``index.html`` under the reports folder) and
the same exit rule (:attr:`RunResult.exit_code`: 1 on findings, 3 when nothing was checked).
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from harness import discovery, engine, output
from harness import waivers as waiver_mod
from harness.deadlines import TimeBudgets
from harness.progress import ConsoleProgress
from harness.report import html, junit
from harness.report.results import RunResult
from harness.targets import make_target
from harness.targets.base import TargetKind
from harness.targets.endpoints import target_options
from harness.waivers import Waiver


def write_reports(result: RunResult, out_dir: Path, history: list[RunResult] | None = None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    result.write_json(out_dir / "results.json")
    junit.write(result, out_dir / "junit.xml")
    (out_dir / "index.html").write_text(html.render([*(history or []), result]), encoding="utf-8")


GROUP_STYLE = {"error": "bold red", "warning": "yellow", "info": "dim", "waived": "cyan"}


def causes_table(result: RunResult) -> Table | None:
    """One row per check × cause with its count: what to fix, not every occurrence."""
    groups = result.groups
    if not groups:
        return None
    table = Table(title="findings by cause", show_lines=False)
    for col in ("n", "status", "provider", "endpoint", "check", "cause"):
        table.add_column(col, justify="right" if col == "n" else "left")
    for g in groups:
        cause = escape(g.cause) + (f"  [dim]({escape(g.schema_pointer)})[/]"
                                   if g.schema_pointer else "")
        if g.waived:
            cause += f"  [cyan]waived: {escape(g.waived)}[/]"
        table.add_row(str(g.count), f"[{GROUP_STYLE[g.status]}]{g.status}[/]", g.provider,
                      g.endpoint, g.check, cause)
    return table


def waiver_lines(result: RunResult) -> list[str]:
    """One console line per project waiver: what it waived, or why it is a warning."""
    return [(f"[yellow]warning:[/] {escape(u.message)}" if u.status != "active"
             else f"[cyan]waiver:[/] {escape(u.message)}") for u in result.waivers]


def command(*, target: str, provider: str, checks: str | None,
            base_url: str | Sequence[str] | None, seed: int, max_requests: int | None,
            max_cost: float | None, reports_dir: Path, cassettes_dir: Path | None = None,
            quiet: bool = False, concurrency: int = 1, header: Sequence[str] = (),
            model: Sequence[str] = (), waivers: Sequence[Waiver] = (), fmt: str | None = None,
            allow_empty: bool = False, timeout: float | None = None,
            check_timeout: float | None = None, run_timeout: float | None = None,
            upstream: str | None = None, capabilities: str | None = None,
            local_flavour: str | None = None) -> int:
    kind = TargetKind(target)
    options = target_options(kind=kind, base_url=base_url, header=header, model=model, seed=seed,
                             upstream=upstream,
                             max_requests=max_requests, max_cost=max_cost,
                             cassette_dir=str(cassettes_dir) if cassettes_dir else None,
                             timeout_s=TimeBudgets.for_target(target, request_s=timeout).request_s,
                             local_flavour=local_flavour)
    fmt = output.choose(fmt)
    tgt = make_target(options)
    plan = engine.Plan(target=tgt, provider_spec=provider, check_spec=checks, seed=seed,
                       command=shlex.join(["vlm-harness", *sys.argv[1:]]), concurrency=concurrency,
                       allow_empty=allow_empty, check_timeout_s=check_timeout,
                       run_timeout_s=run_timeout,
                       capabilities=discovery.forced(capabilities, "--capabilities"),
                       local_flavour=local_flavour)
    try:
        with ConsoleProgress("checking", quiet=quiet) as progress:
            result = engine.run(plan, progress=progress)
    finally:
        tgt.close()
    if waivers:
        result = waiver_mod.apply(result, tuple(waivers))
    write_reports(result, reports_dir)
    with output.closed_pipe_is_quiet():
        out = output.stdout(quiet)
        output.emit(result, fmt, out, f"contract suite on {result.meta.target}")
        causes = causes_table(result) if fmt == "table" else None
        if causes is not None:
            out.print(causes)
    err = output.stderr(quiet=quiet)
    for line in waiver_lines(result):
        err.print(line, highlight=False, soft_wrap=True)
    output.verdict(result, f"reports in {reports_dir}/", err)
    return result.exit_code
