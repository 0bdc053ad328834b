"""The ``vlm-harness`` command line: a thin typer layer over the engine.

Each command parses its flags, then hands over to the module that owns the work (``lint``,
``openapi``, ``mock.serve``, ``engine``, ``recording``, ``drift``, ``report``); heavy imports
happen inside the commands so ``--help`` stays fast. Every usage problem surfaces as a
:class:`~harness.errors.HarnessError` and is printed as one line naming the flag, file or
field at fault, with exit status 2 (or the error's own ``exit_code``: 4 for an unreachable
target). The exit statuses are :class:`~harness.errors.ExitCode`, listed in ``--help``.
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


def _clean_errors(fn: F) -> F:
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
BaseUrlOpt = Annotated[list[str] | None, typer.Option(
    "--base-url", help="url/local server: a root or one API's base; API=URL per API "
    "(openai-chat=http://gw:4000/v1), repeatable.")]
HeaderOpt = Annotated[list[str] | None, typer.Option(
    "--header", help="[API:]Name=Value sent with every request (repeatable).")]
ModelOpt = Annotated[list[str] | None, typer.Option(
    "--model", help="PROVIDER_MODEL=ALIAS: requests carry the alias, answers are mapped back "
    "(repeatable).")]


def _settings(path: Path | None, given: dict[str, Any], defaults: dict[str, Any]
              ) -> dict[str, Any]:
    """Each setting from the command line, else the project config file, else ``defaults``."""
    from harness import config

    project = config.load(path)
    return {name: project.pick(name, value, defaults.get(name)) for name, value in given.items()}


RUN_CASSETTES = Path("reports/cassettes")  # record's run folder (the shipped set: cassettes/)


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
    local_flavour: LocalFlavourOpt = None,
) -> int:
    """Build the OpenAPI 3.1 document of PROVIDER from its JSON Schemas."""
    from harness import openapi as openapi_mod

    _output_file(output, "-o/--output")
    return openapi_mod.command(provider=provider, output=output, server=server,
                               flavour=local_flavour)


@app.command()
@_clean_errors
def run(
    target: Annotated[str | None, typer.Option(
        help="mock (default), url, gateway, cassette, live or local.")] = None,
    provider: Annotated[str | None, typer.Option(help="all (default), or a comma list of providers.")
                        ] = None,
    checks: Annotated[str | None, typer.Option(help="Comma list of checks (default: all).")] = None,
    base_url: BaseUrlOpt = None,
    upstream: Annotated[str | None, typer.Option(
        help="gateway target: root of a running `vlm-harness serve` the gateway calls "
             "(default: the harness serves one and prints its URL).")] = None,
    header: HeaderOpt = None,
    model: ModelOpt = None,
    seed: Annotated[int | None, typer.Option(help="Seed that reproduces generated requests (0).")
                    ] = None,
    max_requests: Annotated[int | None, typer.Option(help="Live budget per provider.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Live budget (USD) per provider.")] = None,
    reports_dir: Annotated[Path | None, typer.Option(
        help="Where results and reports go (default: reports).")] = None,
    cassettes_dir: Annotated[Path | None, typer.Option(
        help="Cassettes the cassette target replays (default: the shipped ones).")] = None,
    config: ConfigOpt = None,
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
    concurrency: Annotated[int | None, typer.Option(
        help="Cases in flight at once (network targets; results read as a sequential run's; 1)."
    )] = None,
    fmt: FormatOpt = None,
    allow_empty: AllowEmptyOpt = None,
    timeout: Annotated[float | None, typer.Option(
        help="Seconds for one whole request, stream included (default: 30, local 120).")] = None,
    check_timeout: Annotated[float | None, typer.Option(
        help="Seconds for one check and all its requests (default: 60, local 180).")] = None,
    run_timeout: Annotated[float | None, typer.Option(
        help="Seconds for the whole run; cases not started by then are skipped "
        "(default: 900, local 1800).")] = None,
    capabilities: Annotated[str | None, typer.Option(
        help="url/local: the capabilities the server offers (e.g. text,stream) instead of "
        "discovering them; the rest are reported as not offered.")] = None,
    local_flavour: LocalFlavourOpt = None,
) -> int:
    """Run the contract suite against a target; write results.json, junit.xml and index.html.

    Exit 0 all passed, 1 findings, 2 usage, 3 nothing checked, 4 unreachable."""
    from harness import runner_cli
    from harness.targets.base import TargetKind

    s = _settings(config, dict(
        target=target, provider=provider, checks=checks, base_url=base_url, header=header,
        model=model, seed=seed, max_requests=max_requests, max_cost=max_cost,
        reports_dir=reports_dir, cassette_dir=cassettes_dir, concurrency=concurrency,
        waiver=None, format=fmt, allow_empty=allow_empty, timeout=timeout,
        check_timeout=check_timeout, run_timeout=run_timeout, upstream=upstream,
        capabilities=capabilities, local_flavour=local_flavour),
        dict(target="mock", provider="all", seed=0, reports_dir="reports", concurrency=1,
             allow_empty=False))
    _one_of(s["target"], [k.value for k in TargetKind])
    _output_dir(Path(s["reports_dir"]), "--reports-dir")
    _at_least(s["max_requests"], 0, "--max-requests")
    _at_least(s["max_cost"], 0, "--max-cost")
    _at_least(s["concurrency"], 1, "--concurrency")
    for name in ("timeout", "check_timeout", "run_timeout"):
        _at_least(s[name], 0.001, f"--{name.replace('_', '-')}")
    return runner_cli.command(
        target=s["target"], provider=s["provider"], checks=s["checks"], base_url=s["base_url"],
        header=s["header"] or (), model=s["model"] or (), seed=s["seed"],
        max_requests=s["max_requests"], max_cost=s["max_cost"], reports_dir=Path(s["reports_dir"]),
        cassettes_dir=Path(s["cassette_dir"]) if s["cassette_dir"] else None, quiet=quiet,
        concurrency=s["concurrency"], waivers=s["waiver"] or (), fmt=s["format"],
        allow_empty=s["allow_empty"], timeout=s["timeout"], check_timeout=s["check_timeout"],
        run_timeout=s["run_timeout"], upstream=s["upstream"], capabilities=s["capabilities"],
        local_flavour=s["local_flavour"])


@app.command()
@_clean_errors
def drift(
    target: Annotated[str | None, typer.Option(help="live (default), mock, url or local.")] = None,
    provider: Annotated[str | None, typer.Option(help="all (default), or a comma list of providers.")
                        ] = None,
    update_baseline: Annotated[bool, typer.Option(
        "--update-baseline", help="Accept what was seen into the baselines.")] = False,
    baselines_dir: Annotated[Path, typer.Option(
        help="Baselines root: <dir>/<target>/<provider>.json, so mock and live never share.")
        ] = Path("reports/baselines"),
    reports_dir: Annotated[Path, typer.Option(help="Where results and reports go.")] = Path("reports"),
    max_requests: Annotated[int | None, typer.Option(help="Probes sent per provider, at most.")] = None,
    base_url: BaseUrlOpt = None,
    header: HeaderOpt = None,
    model: ModelOpt = None,
    seed: Annotated[int | None, typer.Option(help="Seed of the probe requests (0).")] = None,
    config: ConfigOpt = None,
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
    docs: Annotated[bool, typer.Option("--docs", help=(
        "Instead of probing, fetch each provider's published specs and diff them with the "
        "project's schemas and the copy kept under <baselines-dir>/docs/."))] = False,
    fmt: FormatOpt = None,
    allow_empty: AllowEmptyOpt = None,
) -> int:
    """Probe each provider, compare with its baseline; observations go to <reports>/observed/.

    Baselines are written only on a first run or with --update-baseline. Exit 1 on breaking
    drift, 3 when nothing could be measured (no key), 4 unreachable."""
    from harness.drift import run as drift_run
    from harness.targets import known_targets

    s = _settings(config, dict(target=target, provider=provider, base_url=base_url,
                               header=header, model=model, seed=seed, max_requests=max_requests,
                               format=fmt, allow_empty=allow_empty),
                  dict(target="live", provider="all", seed=0, allow_empty=False))
    if docs:
        from harness.specs import docs as docs_drift

        if target is not None or base_url:
            raise UsageError("--docs fetches published specs and probes nothing: drop --target "
                             "and --base-url")
        _output_dir(reports_dir, "--reports-dir")
        _output_dir(baselines_dir, "--baselines-dir")
        return docs_drift.command(provider=s["provider"], baselines_dir=baselines_dir / "docs",
                                  reports_dir=reports_dir, update_baseline=update_baseline,
                                  quiet=quiet)
    _one_of(s["target"], known_targets())
    _output_dir(reports_dir, "--reports-dir")
    _output_dir(baselines_dir, "--baselines-dir")
    _at_least(s["max_requests"], 0, "--max-requests")
    return drift_run.command(target=s["target"], provider=s["provider"], base_url=s["base_url"],
                             header=s["header"] or (), model=s["model"] or (),
                             baselines_dir=baselines_dir, reports_dir=reports_dir,
                             update_baseline=update_baseline, max_requests=s["max_requests"],
                             seed=s["seed"], quiet=quiet, fmt=s["format"],
                             allow_empty=s["allow_empty"])


@app.command()
@_clean_errors
def record(
    target: Annotated[str | None, typer.Option(
        help="Record through: mock (default), url, live or local.")] = None,
    provider: Annotated[str | None, typer.Option(help="all (default), or a comma list of providers.")
                        ] = None,
    checks: Annotated[str | None, typer.Option(help="Comma list of checks (default: all).")] = None,
    base_url: BaseUrlOpt = None,
    header: HeaderOpt = None,
    model: ModelOpt = None,
    cassettes_dir: Annotated[Path | None, typer.Option(
        help="Where cassettes go (default: the run folder reports/cassettes; with "
        "--update-cassettes, the shipped cassettes/).")] = None,
    update_cassettes: Annotated[bool, typer.Option(
        "--update-cassettes", help="Write into the shipped cassettes (or the config's "
        "cassette_dir) instead of the run folder.")] = False,
    seed: Annotated[int | None, typer.Option(help="Seed that reproduces generated requests (0).")
                    ] = None,
    max_requests: Annotated[int | None, typer.Option(help="Live budget per provider.")] = None,
    max_cost: Annotated[float | None, typer.Option(help="Live budget (USD) per provider.")] = None,
    config: ConfigOpt = None,
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
    allow_empty: AllowEmptyOpt = None,
) -> int:
    """Run the suite through a target and save each check's traffic as vcrpy cassettes
    (keys scrubbed, big media replaced by digests) for the cassette target to replay."""
    from harness.recording import recorder

    s = _settings(config, dict(
        target=target, provider=provider, checks=checks, base_url=base_url, header=header,
        model=model, cassette_dir=None, seed=seed, max_requests=max_requests,
        max_cost=max_cost, allow_empty=allow_empty),
        dict(target="mock", provider="all", seed=0, cassette_dir="cassettes", allow_empty=False))
    # Nothing shipped is overwritten by default: only --update-cassettes writes where the
    # cassette target replays from; an explicit --cassettes-dir is taken as asked.
    folder = cassettes_dir or (Path(s["cassette_dir"]) if update_cassettes else RUN_CASSETTES)
    _one_of(s["target"], list(recorder.RECORDABLE), "target to record through (--target)")
    _output_dir(folder, "--cassettes-dir")
    _at_least(s["max_requests"], 0, "--max-requests")
    _at_least(s["max_cost"], 0, "--max-cost")
    return recorder.command(target=s["target"], provider=s["provider"], checks=s["checks"],
                            base_url=s["base_url"], header=s["header"] or (),
                            model=s["model"] or (), cassettes_dir=folder,
                            seed=s["seed"], max_requests=s["max_requests"],
                            max_cost=s["max_cost"], quiet=quiet, allow_empty=s["allow_empty"])


@app.command()
@_clean_errors
def report(
    inputs: Annotated[list[Path] | None, typer.Argument(
        help="results.json files, any order (default: reports/results.json).")] = None,
    output: Annotated[Path, typer.Option("-o", "--output", help="Write the page here.")] = Path(
        "reports/index.html"),
    junit: Annotated[Path | None, typer.Option(help="Also write JUnit XML of the newest run.")] = None,
    merge: Annotated[bool, typer.Option(
        "--merge", help="The inputs are shards of one run (a CI matrix): merge them into "
        "results.json beside the page and render one run.")] = False,
) -> int:
    """Render results as one self-contained HTML page (several files add a history table)."""
    from harness.report import html

    _output_file(output, "-o/--output")
    _output_file(junit, "--junit")
    paths = inputs or [Path("reports/results.json")]
    if merge:
        from harness.engine import merge_runs
        from harness.report.results import RunResult

        merged = output.parent / "results.json"
        if merged.resolve() in {p.resolve() for p in paths}:
            raise UsageError(f"--merge writes {merged}, which is one of the inputs; "
                             "choose another -o/--output folder")
        paths = [merge_runs([RunResult.load(p) for p in paths]).write_json(merged)]
    return html.command(inputs=paths, output=output, junit=junit)


@app.command()
@_clean_errors
def diff(
    old: Annotated[Path, typer.Argument(
        help="Older spec: schema file, schema bundle, OpenAPI document or schema folder.")],
    new: Annotated[Path, typer.Argument(help="New version of the same.")],
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable changes.")] = False,
    reverse: Annotated[bool, typer.Option(
        "--reverse", help="Treat NEW as the older side.")] = False,
    ignore_provenance: Annotated[bool, typer.Option(
        "--ignore-provenance", help="Skip each message's own root title and description.")
    ] = False,
) -> int:
    """Print a migration guide from OLD to NEW (folders, schema bundles, OpenAPI documents,
    in any pair); exit status 1 when a change is breaking."""
    from harness.specs import migration

    return migration.command(old=old, new=new, as_json=as_json, reverse=reverse,
                             provenance=not ignore_provenance)


@app.command("import")
@_clean_errors
def import_(
    spec: Annotated[str, typer.Argument(help="A published schema bundle: a file or a URL.")],
    protocol: Annotated[str, typer.Option(help="The protocol it defines, e.g. minicpm-o-realtime.")],
    revision: Annotated[str | None, typer.Option(help="The protocol revision it is.")] = None,
    output: Annotated[Path | None, typer.Option(
        "-o", "--output", help="Write here instead of schemas/<protocol>[/<revision>].")] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where the migration guide goes.")] = Path(
        "reports"),
) -> int:
    """Write a published spec in the project's layout (one schema per message, x-source
    provenance) and a migration guide against the schemas it replaces; exit 1 on conflicts."""
    from harness.specs import importer

    if output is not None:
        _output_dir(output, "-o/--output")
    _output_dir(reports_dir, "--reports-dir")
    return importer.command(spec=spec, protocol=protocol, revision=revision, output=output,
                            reports_dir=reports_dir)


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
    workers: Annotated[int, typer.Option(
        help="Worker processes behind the one port (jobs and uploads are shared).")] = 1,
    strict: Annotated[bool | None, typer.Option(
        "--strict/--no-strict", help="Refuse requests past advisory limits (ones no document "
        "states) and read ambiguous units ('10 MB') strictly; by default they pass with a "
        "header (config: strict).")] = None,
    time_scale: Annotated[float | None, typer.Option(
        help="Realtime clock: 1 (default) keeps the documented session limits and pacing; 0.01 "
             "runs them 100x faster, for tests (config: time_scale).")] = None,
    config_file: ConfigOpt = None,
    key: Annotated[list[str] | None, typer.Option(
        "--key", help="Also accept this key for every provider, e.g. the one your gateway "
        "sends upstream (repeatable; never printed).")] = None,
    any_key: Annotated[bool, typer.Option(
        "--any-key", help="Accept any non-empty key (a missing key is still refused).")] = False,
    local_flavour: LocalFlavourOpt = None,
) -> int:
    """Serve the reference mock; print the key, each API's base URL and the SDK snippets."""
    from harness.mock import serve as serve_mod

    if not 0 <= port <= 65535:  # socket.bind raises OverflowError, not OSError, out of range
        raise UsageError(f"--port must be 0..65535, got {port}")
    if workers < 1:
        raise UsageError(f"--workers must be at least 1, got {workers}")
    chosen = _settings(config_file, {"strict": strict, "time_scale": time_scale},
                       {"strict": False, "time_scale": 1.0})
    strict, time_scale = bool(chosen["strict"]), float(chosen["time_scale"])
    if not 0 < time_scale <= 100:
        raise UsageError(f"--time-scale must be > 0 and <= 100, got {time_scale:g}")
    return serve_mod.command(host=host, port=port, tls=tls, faults_spec=faults, seed=seed,
                             names=providers, defects_spec=defects, workers=workers,
                             strict=strict, time_scale=time_scale, keys=tuple(key or ()),
                             any_key=any_key, local_flavour=local_flavour)


@app.command()
@_clean_errors
def fuzz(
    target: Annotated[str | None, typer.Option(help="mock (default), url, live or local.")] = None,
    provider: Annotated[str | None, typer.Option(help="all (default), or a comma list of providers.")
                        ] = None,
    max_examples: Annotated[int | None, typer.Option(
        help="Cases per operation (default: 20 on mock, 10 on url, 5 on live/local).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed that reproduces the generated cases (0).")
                    ] = None,
    base_url: BaseUrlOpt = None,
    header: HeaderOpt = None,
    model: ModelOpt = None,
    max_requests: Annotated[int | None, typer.Option(help="Live budget per provider.")] = None,
    reports_dir: Annotated[Path, typer.Option(help="Where results and reports go.")] = Path(
        "reports/fuzz"),
    config: ConfigOpt = None,
    quiet: Annotated[bool, typer.Option(help="No table, only the exit status.")] = False,
    fmt: FormatOpt = None,
    allow_empty: AllowEmptyOpt = None,
) -> int:
    """Fuzz each provider's OpenAPI document with schemathesis through a target.

    Exit 1 on failures, 3 when nothing was sent (no key), 4 unreachable."""
    from harness import fuzz as fuzz_mod
    from harness.targets import known_targets

    s = _settings(config, dict(target=target, provider=provider, seed=seed, base_url=base_url,
                               header=header, model=model, max_requests=max_requests,
                               format=fmt, allow_empty=allow_empty),
                  dict(target="mock", provider="all", seed=0, allow_empty=False))
    _one_of(s["target"], known_targets())
    _output_dir(reports_dir, "--reports-dir")
    _at_least(max_examples, 1, "--max-examples")
    _at_least(s["max_requests"], 0, "--max-requests")
    return fuzz_mod.command(target=s["target"], provider=s["provider"], max_examples=max_examples,
                            seed=s["seed"], base_url=s["base_url"], header=s["header"] or (),
                            model=s["model"] or (), max_requests=s["max_requests"],
                            reports_dir=reports_dir, quiet=quiet, fmt=s["format"],
                            allow_empty=s["allow_empty"])


if __name__ == "__main__":  # pragma: no cover
    main()
