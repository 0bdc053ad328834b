"""The ``vlm-harness`` command line: a thin typer layer over the engine.

Each command parses its flags, then hands over to the module that owns the work (``lint``,
``openapi``, ``mock.serve``, ``engine``, ``recording``, ``drift``, ``report``); heavy imports
happen inside the commands so ``--help`` stays fast. Every usage problem surfaces as a
:class:`~harness.errors.HarnessError` and is printed as one line naming the flag, file or
field at fault, with exit status 2.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from harness.errors import HarnessError, UsageError

app = typer.Typer(help="Contract tests and provider-compatibility checks for VLM APIs.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


def _clean_errors(fn: F) -> F:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            code = fn(*args, **kwargs)
        except HarnessError as exc:
            from harness.secrets import Scrubber

            err.print(f"[bold red]error:[/] {Scrubber.from_env().text(str(exc))}", highlight=False,
                      soft_wrap=True)  # one line: paths and flags stay copyable
            raise typer.Exit(2) from None
        raise typer.Exit(code or 0)

    return wrapper  # type: ignore[return-value]


def _output_dir(path: Path, flag: str) -> None:
    """Refuse an output folder that is a file before any work is done: otherwise a whole run
    ends in a mkdir traceback (FileExistsError/NotADirectoryError) instead of a usage error."""
    for part in (path, *path.parents):
        if part.exists():
            if not part.is_dir():
                raise UsageError(f"{flag} {path}: {part} is a file, not a folder")
            return


def _output_file(path: Path | None, flag: str) -> None:
    if path is None:
        return
    if path.is_dir():
        raise UsageError(f"{flag} {path}: is a folder, not a file")
    _output_dir(path.parent, flag)


def _one_of(value: str, known: list[str], what: str = "target (--target)") -> None:
    """An unknown name is a usage error that names the flag and lists the valid choices."""
    if value not in known:
        from harness.errors import UnknownNameError

        raise UnknownNameError(what, value, known)


def _at_least(value: float | None, low: float, flag: str) -> None:
    """Negative budgets or example counts would otherwise run and fail (or skip) every case."""
    if value is not None and value < low:
        raise UsageError(f"{flag} must be at least {low:g}, got {value:g}")


@app.command()
@_clean_errors
def lint(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable findings.")] = False,
    schemas_dir: Annotated[Path | None, typer.Option(help="Lint this schemas folder.")] = None,
) -> int:
    """Meta-validate schemas and profiles, and check every documented example."""
    from harness import lint as lint_mod

    return lint_mod.command(as_json=as_json, schemas_dir=schemas_dir)


@app.command()
@_clean_errors
def openapi(
    provider: Annotated[str, typer.Argument(help="An HTTP provider, e.g. wavespeed.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    server: Annotated[str | None, typer.Option(help="Server URL to put in the document.")] = None,
) -> int:
    """Build the OpenAPI 3.1 document of PROVIDER from its JSON Schemas."""
    from harness import openapi as openapi_mod

    _output_file(output, "-o/--output")
    return openapi_mod.command(provider=provider, output=output, server=server)


@app.command()
@_clean_errors
def run(
    target: Annotated[str, typer.Option(help="mock, url, cassette, live or local.")] = "mock",
    provider: Annotated[str, typer.Option(help="all, or a comma list of providers.")] = "all",
    checks: Annotated[str | None, typer.Option(help="Comma list of checks (default: all).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server for the url/local targets.")] = None,
    seed: Annotated[int, typer.Option(help="Seed that reproduces generated requests.")] = 0,
    max_requests: Annotated[int | None, typer.Option(help="Live budget per provider.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Live budget (USD) per provider.")] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where results and reports go.")] = Path("reports"),
    cassettes_dir: Annotated[Path | None, typer.Option(
        help="Cassettes the cassette target replays (default: the shipped ones).")] = None,
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
    concurrency: Annotated[int, typer.Option(
        help="Cases in flight at once (network targets; results read as a sequential run's).")] = 1,
) -> int:
    """Run the contract suite against a target; write results.json, junit.xml and index.html."""
    from harness import runner_cli
    from harness.targets.base import TargetKind

    _one_of(target, [k.value for k in TargetKind])
    _output_dir(reports_dir, "--reports-dir")
    _at_least(max_requests, 0, "--max-requests")
    _at_least(max_cost, 0, "--max-cost")
    _at_least(concurrency, 1, "--concurrency")
    return runner_cli.command(target=target, provider=provider, checks=checks, base_url=base_url,
                              seed=seed, max_requests=max_requests, max_cost=max_cost,
                              reports_dir=reports_dir, cassettes_dir=cassettes_dir, quiet=quiet,
                              concurrency=concurrency)


@app.command()
@_clean_errors
def drift(
    target: Annotated[str, typer.Option(help="live (default), mock, url or local.")] = "live",
    provider: Annotated[str, typer.Option(help="all, or a comma list of providers.")] = "all",
    update_baseline: Annotated[bool, typer.Option(
        "--update-baseline", help="Accept what was seen into the baselines.")] = False,
    baselines_dir: Annotated[Path, typer.Option(help="One <provider>.json per provider.")] = Path(
        "reports/baselines"),
    reports_dir: Annotated[Path, typer.Option(help="Where results and reports go.")] = Path("reports"),
    max_requests: Annotated[int | None, typer.Option(help="Probes sent per provider, at most.")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server for the url/local targets.")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the probe requests.")] = 0,
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
) -> int:
    """Probe each provider, compare with its baseline; exit 1 on breaking drift."""
    from harness.drift import run as drift_run
    from harness.targets import known_targets

    _one_of(target, known_targets())
    _output_dir(reports_dir, "--reports-dir")
    _output_dir(baselines_dir, "--baselines-dir")
    _at_least(max_requests, 0, "--max-requests")
    return drift_run.command(target=target, provider=provider, base_url=base_url,
                             baselines_dir=baselines_dir, reports_dir=reports_dir,
                             update_baseline=update_baseline, max_requests=max_requests,
                             seed=seed, quiet=quiet)


@app.command()
@_clean_errors
def record(
    target: Annotated[str, typer.Option(help="Record through: mock, url, live or local.")] = "mock",
    provider: Annotated[str, typer.Option(help="all, or a comma list of providers.")] = "all",
    checks: Annotated[str | None, typer.Option(help="Comma list of checks (default: all).")] = None,
    base_url: Annotated[str | None, typer.Option(help="Server for the url/local targets.")] = None,
    cassettes_dir: Annotated[Path, typer.Option(help="Where cassettes go.")] = Path("cassettes"),
    seed: Annotated[int, typer.Option(help="Seed that reproduces generated requests.")] = 0,
    max_requests: Annotated[int | None, typer.Option(help="Live budget per provider.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Live budget (USD) per provider.")] = None,
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
) -> int:
    """Run the suite through a target and save each check's traffic as vcrpy cassettes
    (keys scrubbed, big media replaced by digests) for the cassette target to replay."""
    from harness.recording import recorder

    _one_of(target, list(recorder.RECORDABLE), "target to record through (--target)")
    _output_dir(cassettes_dir, "--cassettes-dir")
    _at_least(max_requests, 0, "--max-requests")
    _at_least(max_cost, 0, "--max-cost")
    return recorder.command(target=target, provider=provider, checks=checks, base_url=base_url,
                            cassettes_dir=cassettes_dir, seed=seed, max_requests=max_requests,
                            max_cost=max_cost, quiet=quiet)


@app.command()
@_clean_errors
def report(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="results.json files, any order (default: reports/results.json).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the page here.")] = Path(
        "reports/index.html"),
    junit: Annotated[Path | None, typer.Option(help="Also write JUnit XML of the newest run.")] = None,
) -> int:
    """Render results as one self-contained HTML page (several files add a history table)."""
    from harness.report import html

    _output_file(output, "-o/--output")
    _output_file(junit, "--junit")
    return html.command(inputs=inputs or [Path("reports/results.json")], output=output,
                        junit=junit)


@app.command()
@_clean_errors
def diff(
    old: Annotated[Path, typer.Argument(help="Old schema file, OpenAPI document or folder.")],
    new: Annotated[Path, typer.Argument(help="New version of the same.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable changes.")] = False,
) -> int:
    """Print a migration guide from OLD to NEW; exit status 1 when a change is breaking."""
    from harness.drift import guide

    return guide.command_diff(old=old, new=new, as_json=as_json)


@app.command()
@_clean_errors
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on (0: any free port).")] = 8000,
    tls: Annotated[bool, typer.Option(
        "--tls", help="Serve HTTPS with a throwaway CA (printed), e.g. for fal-client.")] = False,
    faults: Annotated[str, typer.Option(
        help="Server-wide faults, e.g. 'status=429,retry-after=1' or 'ttft=200,tps=20'.")] = "",
    seed: Annotated[int, typer.Option(help="Seed of the generated answers.")] = 0,
    providers: Annotated[str, typer.Option(help="all, or a comma list of providers.")] = "all",
    defects: Annotated[str, typer.Option(
        help="Plant contract defects (e.g. 'missing-done,key-leak') to prove your tests catch them."
    )] = "",
) -> int:
    """Serve the reference mock and print the base URL each provider's SDK should be given."""
    from harness.mock import serve as serve_mod

    if not 0 <= port <= 65535:  # socket.bind raises OverflowError, not OSError, out of range
        raise UsageError(f"--port must be 0..65535, got {port}")
    return serve_mod.command(host=host, port=port, tls=tls, faults_spec=faults, seed=seed,
                             names=providers, defects_spec=defects)


@app.command()
@_clean_errors
def fuzz(
    target: Annotated[str, typer.Option(help="mock, url, live or local.")] = "mock",
    provider: Annotated[str, typer.Option(help="all, or a comma list of providers.")] = "all",
    max_examples: Annotated[int | None, typer.Option(
        help="Cases per operation (default: 20 on mock, 10 on url, 5 on live/local).")] = None,
    seed: Annotated[int, typer.Option(help="Seed that reproduces the generated cases.")] = 0,
    base_url: Annotated[str | None, typer.Option(help="Server for the url/local targets.")] = None,
    max_requests: Annotated[int | None, typer.Option(help="Live budget per provider.")] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where results and reports go.")] = Path(
        "reports/fuzz"),
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
) -> int:
    """Fuzz each provider's OpenAPI document with schemathesis through a target; exit 1 on failures."""
    from harness import fuzz as fuzz_mod
    from harness.targets import known_targets

    _one_of(target, known_targets())
    _output_dir(reports_dir, "--reports-dir")
    _at_least(max_examples, 1, "--max-examples")
    _at_least(max_requests, 0, "--max-requests")
    return fuzz_mod.command(target=target, provider=provider, max_examples=max_examples,
                            seed=seed, base_url=base_url, max_requests=max_requests,
                            reports_dir=reports_dir, quiet=quiet)


if __name__ == "__main__":  # pragma: no cover
    app()
