"""The typer app of ``vlm-harness`` and what its commands share.

:func:`clean_errors` turns every :class:`~harness.errors.HarnessError` into one printed line
naming the flag, file or field at fault, with exit status 2 (or the error's own
``exit_code``); the validators refuse a bad flag before any work starts, and the option types
are declared once for every command that takes them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from harness import __version__, output
from harness.errors import ExitCode, HarnessError, UsageError

EXIT_HELP = ("Exit status: 0 every selected check ran and passed; 1 contract findings (or "
             "breaking drift); 2 usage error; 3 nothing was checked (every case skipped or not "
             "offered, a missing key; --allow-empty accepts it); 4 the target is unreachable.")
app = typer.Typer(help="Contract tests and provider-compatibility checks for VLM APIs.\n\n"
                  + EXIT_HELP, no_args_is_help=True, add_completion=False)
err = output.stderr()
F = TypeVar("F", bound=Callable[..., Any])


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"vlm-harness {__version__}")
        raise typer.Exit()


@app.callback()
def _main(version: Annotated[bool, typer.Option(
        "--version", callback=_show_version, is_eager=True, help="Print the version and exit.")
        ] = False) -> None:
    """Contract tests and provider-compatibility checks for VLM APIs."""


def main() -> None:
    """The console script: the typer app, with a reader that went away (``| head``) ending
    the output quietly instead of in a traceback."""
    from harness.output import closed_pipe_is_quiet

    with closed_pipe_is_quiet():
        app()


def clean_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            code = fn(*args, **kwargs)
        except HarnessError as exc:
            from harness.secrets import Scrubber

            err.print(f"[bold red]error:[/] {Scrubber.from_env().text(str(exc))}", highlight=False,
                      soft_wrap=True)  # one line: paths and flags stay copyable
            raise typer.Exit(int(getattr(exc, "exit_code", ExitCode.USAGE))) from None
        raise typer.Exit(int(code or 0))

    return wrapper  # type: ignore[return-value]


def output_dir(path: Path, flag: str) -> None:
    """Refuse an output folder that is a file before any work is done: otherwise a whole run
    ends in a mkdir traceback (FileExistsError/NotADirectoryError) instead of a usage error."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise UsageError(f"{flag} {path}: {part} is a file, not a folder")
            return


def output_file(path: Path | None, flag: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder, not a file")
    output_dir(path.parent, flag)


def one_of(value: str, known: list[str], what: str = "target (--target)") -> None:
    """An unknown name is a usage error that names the flag and lists the valid choices."""
    if value not in known:
        from harness.errors import UnknownNameError

        raise UnknownNameError(what, value, known)


FormatOpt = Annotated[str | None, typer.Option(
    "--format", help="table, plain or json (default: table on a terminal, plain elsewhere).")]
AllowEmptyOpt = Annotated[bool | None, typer.Option(
    "--allow-empty/--no-allow-empty", help="Exit 0, not 3, when nothing was checked.")]
LocalFlavourOpt = Annotated[str | None, typer.Option(
    help="local: the server program behind it (vllm, sglang, llama.cpp, llama-cpp-python); the "
    "checks expect its dialect (error shape, extra fields), the mock serves it.")]
ConfigOpt = Annotated[Path | None, typer.Option(
    "--config", help="Project config file (default: vlm-harness.toml or pyproject.toml "
    "[tool.vlm-harness], nearest from here upward).")]
ProviderOpt = Annotated[str | None, typer.Option(
    help="all (default), or a comma list of providers.")]
ChecksOpt = Annotated[str | None, typer.Option(help="Comma list of checks (default: all).")]
SeedOpt = Annotated[int | None, typer.Option(help="Seed that reproduces generated requests (0).")]
MaxRequestsOpt = Annotated[int | None, typer.Option(help="Live budget per provider.")]
MaxCostOpt = Annotated[float | None, typer.Option(help="Live budget (USD) per provider.")]
QuietOpt = Annotated[bool, typer.Option(help="No table, only the exit status.")]
BaseUrlOpt = Annotated[list[str] | None, typer.Option(
    "--base-url", help="url/local server: a root or one API's base; API=URL per API "
    "(openai-chat=http://gw:4000/v1), repeatable.")]
HeaderOpt = Annotated[list[str] | None, typer.Option(
    "--header", help="[API:]Name=Value sent with every request (repeatable).")]
ModelOpt = Annotated[list[str] | None, typer.Option(
    "--model", help="PROVIDER_MODEL=ALIAS: requests carry the alias, answers are mapped back "
    "(repeatable).")]


def settings(path: Path | None, given: dict[str, Any], defaults: dict[str, Any]
              ) -> dict[str, Any]:
    """Each setting from the command line, else the project config file, else ``defaults``."""
    from harness import config

    project = config.load(path)
    return {name: project.pick(name, value, defaults.get(name)) for name, value in given.items()}


def at_least(value: float | None, low: float, flag: str) -> None:
    """Negative budgets or example counts would otherwise run and fail (or skip) every case."""
    if value is not None and value < low:
        raise UsageError(f"{flag} must be at least {low:g}, got {value:g}")
