"""``vlm-harness record``: run the contract suite through a target and keep what it said.

:func:`record` wraps the chosen target (in-process ``mock``, ``url`` or ``live``) in a
:class:`~harness.targets.cassette.CassetteTarget` in vcrpy's ``all`` mode and runs the suite one
scenario check at a time (with the exchange checks selected), telling the target before each which
cassette to write: ``cassettes/<provider>/<check>.yaml``, one per provider × scenario. The
target never learns which check runs; the recorder, which drives the runs, names the file.
Recording every check also removes the recorded providers' stale cassettes (through the mock:
all it did not write; elsewhere: those of checks that no longer exist), so ``vlm-harness record
--target mock --provider all --update-cassettes`` regenerates the shipped set exactly. Without
``--update-cassettes`` the command records into the run folder ``reports/cassettes``: nothing
shipped is overwritten by default.
"""

from __future__ import annotations

import dataclasses
import shlex
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from harness import engine, output, providers
from harness.checks.registry import registered, select
from harness.errors import ExitCode, UsageError
from harness.mock.config import MockConfig
from harness.progress import ConsoleProgress, Progress
from harness.recording.cassettes import SUFFIX, UNSORTED, Written
from harness.recording.scrub import DEFAULT_MEDIA_THRESHOLD
from harness.report.results import Outcome, RunResult
from harness.targets import make_target
from harness.targets.base import Target, TargetKind, TargetOptions
from harness.targets.cassette import CassetteTarget, kind_name, origin_of
from harness.targets.endpoints import target_options

RECORDABLE = (TargetKind.MOCK.value, TargetKind.URL.value, TargetKind.LIVE.value,
              TargetKind.LOCAL.value)


@dataclass(frozen=True, slots=True)
class RecordSummary:
    """What a recording session did: the suite's results, the files written and removed."""

    origin: str
    result: RunResult
    written: tuple[Written, ...]
    removed: tuple[Path, ...]

    @property
    def total_bytes(self) -> int:
        return sum(w.size for w in self.written)

    @property
    def interactions(self) -> int:
        return sum(w.interactions for w in self.written)


def _merge(results: list[RunResult]) -> RunResult:
    """One result for the per-check runs (exchange-check rows merged as the engine does)."""
    meta = dataclasses.replace(results[0].meta, finished_at=results[-1].meta.finished_at)
    cases = engine.merge_cases([c for r in results for c in r.cases])
    return RunResult(meta=meta, cases=tuple(cases))


def _prune(folder: Path, provider_names: list[str], keep: Callable[[Path], bool]) -> list[Path]:
    """Remove the recorded providers' cassettes that ``keep`` refuses (and emptied folders)."""
    removed = []
    for name in provider_names:
        for path in sorted((folder / name).glob(f"*{SUFFIX}")):
            if not keep(path):
                path.unlink()
                removed.append(path)
        if (folder / name).is_dir() and not any((folder / name).iterdir()):
            (folder / name).rmdir()
    return removed


def _keeper(inner: Target, written: list[Written]) -> Callable[[Path], bool]:
    """After a full recording: through the mock, keep exactly what was written (it answers
    every check); elsewhere keep all but cassettes of checks that no longer exist, since a
    live run that skips a provider for want of a key must not delete its cassettes."""
    if kind_name(inner) == TargetKind.MOCK.value:
        kept = {w.path.resolve() for w in written}
        return lambda path: path.resolve() in kept
    known = {s.name for s in registered().values() if s.kind == "scenario"} | {UNSORTED}
    return lambda path: path.stem in known


def record(target_options: TargetOptions, provider_spec: str = "all", checks: str | None = None,
           cassettes_dir: Path | str = Path("cassettes"), *, mock_config: MockConfig | None = None,
           target: Target | None = None, media_threshold: int = DEFAULT_MEDIA_THRESHOLD,
           progress: Progress | None = None, allow_empty: bool = False) -> RecordSummary:
    """Record the suite into ``cassettes_dir`` through ``target`` (default: the target
    ``target_options`` describes, built here and closed after)."""
    folder = Path(cassettes_dir)
    kind = kind_name(target) if target is not None else str(getattr(
        target_options.kind, "value", target_options.kind))
    if kind == TargetKind.CASSETTE.value:
        raise UsageError("cannot record through the cassette target; record through one of: "
                         f"{', '.join(RECORDABLE)}")
    chosen = select(checks)
    scenarios = [s.name for s in chosen if s.kind == "scenario"]
    if not scenarios:
        raise UsageError(f"--checks {checks!r} selects no scenario check, so nothing would be "
                         "sent; exchange checks only judge what scenarios send")
    inner = target or make_target(target_options, mock_config=mock_config)
    recording = CassetteTarget(TargetOptions(kind=TargetKind.CASSETTE, cassette_dir=str(folder),
                                             record_mode="all", seed=target_options.seed,
                                             timeout_s=target_options.timeout_s),
                               inner=inner, media_threshold=media_threshold)
    # The exchange checks the selection names (all by default), as `run` would judge them: a
    # finding recorded here must be one a replay with the same --checks reproduces.
    exchange = [s.name for s in chosen if s.kind == "exchange"]
    names = [p.name for p in providers.select(provider_spec)]
    command = shlex.join(["vlm-harness", *sys.argv[1:]])
    # Each scenario gets a fresh in-process mock: ids and counters restart, so a cassette does
    # not depend on which checks ran before it, and two checks that open with the same request
    # recorded the same answer to it (replay cannot tell which check is running).
    fresh_mock = target is None and kind == TargetKind.MOCK.value
    results: list[RunResult] = []
    try:
        for scenario in scenarios:
            if fresh_mock and results:
                inner.close()
                inner = recording.inner = make_target(target_options, mock_config=mock_config)
            recording.scenario = scenario
            plan = engine.Plan(target=recording, provider_spec=provider_spec,
                               check_spec=",".join([scenario, *exchange]),
                               seed=target_options.seed, command=command,
                               allow_empty=allow_empty)
            results.append(engine.run(plan, progress=progress))
        written = recording.save()
    finally:
        recording.close()
        if target is None:
            inner.close()
    full = checks in (None, "", "all")
    removed = _prune(folder, names, _keeper(inner, written)) if full else []
    origin = origin_of(inner, ",".join(names))
    return RecordSummary(origin, _merge(results), tuple(written), tuple(removed))


def command(*, target: str, provider: str, checks: str | None,
            base_url: str | Sequence[str] | None, cassettes_dir: Path, seed: int,
            max_requests: int | None, max_cost: float | None, quiet: bool = False,
            header: Sequence[str] = (), model: Sequence[str] = (), allow_empty: bool = False
            ) -> int:
    """The ``record`` CLI command: record, then print the files and the suite's outcome; 3 when
    nothing was recorded (every case skipped), unless ``allow_empty``."""
    options = target_options(kind=TargetKind(target), base_url=base_url, header=header,
                             model=model, seed=seed, max_requests=max_requests, max_cost=max_cost)
    with ConsoleProgress("recording", quiet=quiet) as progress:
        summary = record(options, provider, checks, cassettes_dir, progress=progress,
                         allow_empty=allow_empty)
    out = output.stdout(quiet)
    table = Table(title=f"cassettes recorded from {summary.origin}")
    for col in ("cassette", "interactions", "bytes"):
        table.add_column(col, justify="right" if col != "cassette" else "left")
    for w in sorted(summary.written, key=lambda w: str(w.path)):
        table.add_row(str(w.path), str(w.interactions), f"{w.size:,}")
    out.print(table)
    for path in summary.removed:
        out.print(f"removed {path} (its check no longer exists or no longer sends requests)")
    counts = {o: sum(1 for c in summary.result.cases if c.outcome is o) for o in Outcome}
    out.print(f"{len(summary.written)} cassettes, {summary.interactions} interactions, "
              f"{summary.total_bytes:,} bytes; suite while recording: "
              + ", ".join(f"{n} {o.value}" for o, n in counts.items()))
    if summary.result.errors:
        # The cassettes hold what was observed, so replay reports the same failures; but the
        # recording run itself failed, and a CI step that records must say so.
        out.print(f"[red]{len(summary.result.errors)} error findings while recording (kept in "
                  "the cassettes: replay reports them again)[/]")
        return ExitCode.FINDINGS
    empty = summary.result.empty_reason()
    if empty and not allow_empty:
        output.stderr(quiet=quiet).print(
            f"[bold red]error: {empty}[/]; nothing worth replaying was recorded (exit 3; pass "
            "--allow-empty to accept that)", soft_wrap=True, highlight=False)
        return ExitCode.NOTHING_CHECKED
    return ExitCode.OK
