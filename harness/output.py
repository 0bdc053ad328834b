"""How a command prints its results: ``--format table|plain|json``, for people and for machines.

``table`` is the rich table a person reads on a terminal; ``plain`` is one tab-separated line
per case (provider, check, endpoint, outcome, findings or reason), never cut to the terminal's
width, for grep and CI logs; ``json`` is the scrubbed ``results.json`` document on stdout. The
default is ``table`` on a terminal and ``plain`` anywhere else, and a table printed off a
terminal is not truncated either. The verdict line and the loud "nothing was checked" message go
to stderr, so stdout stays parseable. :func:`closed_pipe_is_quiet` lets ``vlm-harness run |
head -3`` end without a traceback: once the reader has gone, the rest of the output is dropped
and the command still exits with its verdict.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from harness.errors import ExitCode, UsageError
from harness.report.results import CaseResult, Outcome, RunResult

FORMATS = ("table", "plain", "json")
STYLE = {Outcome.PASS: "green", Outcome.FAIL: "bold red", Outcome.SKIP: "yellow",
         Outcome.NOT_OFFERED: "dim"}
WIDE = 100_000  # columns of a console that is not a terminal: nothing is ever cut


def choose(fmt: str | None) -> str:
    """The format asked for, else ``table`` on a terminal and ``plain`` elsewhere."""
    if fmt is None:
        return "table" if sys.stdout.isatty() else "plain"
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt!r}: expected one of {', '.join(FORMATS)}")
    return fmt


class _Stdout(Console):
    def on_broken_pipe(self) -> None:
        # rich exits with status 1 here; the command's verdict should decide the status instead.
        self.quiet = True
        raise BrokenPipeError


def _to_devnull(stream: Any) -> None:
    """Point ``stream``'s file descriptor at /dev/null: its reader went away."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, stream.fileno())
    os.close(devnull)


class _Stderr(Console):
    def on_broken_pipe(self) -> None:
        # Progress and notes were for a reader who left (``2>&1 | head``): go quiet and let the
        # command finish, so its verdict decides the status (rich would exit 1 here).
        self.quiet = True
        _to_devnull(sys.stderr)


def stderr(**options: Any) -> Console:
    """A console on stderr (progress, notes, verdicts) that a closed pipe silences."""
    return _Stderr(stderr=True, **options)


def stdout(quiet: bool = False) -> Console:
    """The console results go to: untruncated when stdout is not a terminal."""
    wide = None if sys.stdout.isatty() else WIDE
    return _Stdout(quiet=quiet, width=wide, soft_wrap=wide is not None)


def detail(case: CaseResult) -> str:
    """A case's findings grouped by cause (``52 × cause``, first two causes), else its reason."""
    from harness.report.groups import group

    causes = group((case.provider, case.endpoint, f) for f in case.findings)
    return "; ".join(f"{'waived: ' if g.waived else ''}{f'{g.count} × ' if g.count > 1 else ''}"
                     f"{g.cause}" for g in causes[:2]) or case.reason


def table(cases: Iterable[CaseResult], title: str) -> Table:
    out = Table(title=title, show_lines=False)
    for col in ("provider", "check", "endpoint", "outcome", "findings / reason"):
        out.add_column(col)
    for case in sorted(cases, key=lambda c: (c.provider, c.check, c.endpoint)):
        out.add_row(case.provider, case.check, case.endpoint,
                    f"[{STYLE[case.outcome]}]{case.outcome.value}[/]", escape(detail(case)))
    return out


def plain(cases: Iterable[CaseResult]) -> Iterator[str]:
    for case in sorted(cases, key=lambda c: (c.provider, c.check, c.endpoint)):
        yield "\t".join((case.provider, case.check, case.endpoint, case.outcome.value,
                         " ".join(detail(case).split())))


def emit(result: RunResult, fmt: str, out: Console, title: str,
         shown: Callable[[CaseResult], bool] = lambda c: True) -> None:
    """Print ``result``'s cases (those ``shown`` keeps, except for json) in ``fmt``."""
    cases = [c for c in result.cases if shown(c)]
    if fmt == "json":
        out.print_json(json.dumps(result.scrubbed().to_dict()), indent=None)
    elif fmt == "plain":
        if not out.quiet:  # written as is: rich would expand the tabs into spaces
            out.file.write("".join(f"{line}\n" for line in plain(cases)))
            out.file.flush()
    else:
        out.print(table(cases, title))


def verdict(result: RunResult, where: str, err: Console | None = None) -> None:
    """The counts and the exit status on stderr; nothing checked is said loudly."""
    err = err or stderr()
    counts = {o: sum(1 for c in result.cases if c.outcome is o) for o in Outcome}
    code = result.exit_code
    err.print(" ".join(f"[{STYLE[o]}]{n} {o.value}[/]" for o, n in counts.items()),
              f"- {len(result.errors)} error findings - {where} - exit {int(code)}",
              soft_wrap=True)
    empty = result.empty_reason()
    if empty and code == ExitCode.NOTHING_CHECKED:
        err.print(f"[bold red]error: {empty}[/]; exit {int(code)} (pass --allow-empty to accept a "
                  "run that checks nothing)", soft_wrap=True, highlight=False)
    elif empty:
        err.print(f"[yellow]note: {empty} (allowed by --allow-empty)[/]", soft_wrap=True,
                  highlight=False)
    elif result.unchecked:
        err.print(f"[yellow]not checked: {', '.join(result.unchecked)}[/]", highlight=False)


@contextmanager
def closed_pipe_is_quiet() -> Iterator[None]:
    """A reader that went away (``| head``) ends the output, not the command."""
    try:
        yield
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at /dev/null so that is silent too.
        _to_devnull(sys.stdout)
