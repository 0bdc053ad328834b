"""The commands that run the suite: ``run``, ``record``, ``report`` and ``fuzz``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import (
    AllowEmptyOpt,
    BaseUrlOpt,
    ChecksOpt,
    ConfigOpt,
    FormatOpt,
    HeaderOpt,
    LocalFlavourOpt,
    MaxCostOpt,
    MaxRequestsOpt,
    ModelOpt,
    ProviderOpt,
    QuietOpt,
    SeedOpt,
    app,
    at_least,
    clean_errors,
    one_of,
    output_dir,
    output_file,
    settings,
)
from harness.errors import UsageError

RUN_CASSETTES = Path("reports/cassettes")  # record's run folder (the shipped set: cassettes/)


@app.command()
@clean_errors
def run(
    target: Annotated[str | None, typer.Option(
        help="mock (default), url, gateway, cassette, live or local.")] = None,
    provider: ProviderOpt = None,
    checks: ChecksOpt = None,
    base_url: BaseUrlOpt = None,
    upstream: Annotated[str | None, typer.Option(
        help="gateway target: root of a running `vlm-harness serve` the gateway calls "
             "(default: the harness serves one and prints its URL).")] = None,
    header: HeaderOpt = None,
    model: ModelOpt = None,
    seed: SeedOpt = None,
    max_requests: MaxRequestsOpt = None,
    max_cost: MaxCostOpt = None,
    reports_dir: Annotated[Path | None, typer.Option(
        help="Where results and reports go (default: reports).")] = None,
    cassettes_dir: Annotated[Path | None, typer.Option(
        help="Cassettes the cassette target replays (default: the shipped ones).")] = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
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

    s = settings(config, dict(
        target=target, provider=provider, checks=checks, base_url=base_url, header=header,
        model=model, seed=seed, max_requests=max_requests, max_cost=max_cost,
        reports_dir=reports_dir, cassette_dir=cassettes_dir, concurrency=concurrency,
        waiver=None, format=fmt, allow_empty=allow_empty, timeout=timeout,
        check_timeout=check_timeout, run_timeout=run_timeout, upstream=upstream,
        capabilities=capabilities, local_flavour=local_flavour),
        dict(target="mock", provider="all", seed=0, reports_dir="reports", concurrency=1,
             allow_empty=False))
    one_of(s["target"], [k.value for k in TargetKind])
    output_dir(Path(s["reports_dir"]), "--reports-dir")
    at_least(s["max_requests"], 0, "--max-requests")
    at_least(s["max_cost"], 0, "--max-cost")
    at_least(s["concurrency"], 1, "--concurrency")
    for name in ("timeout", "check_timeout", "run_timeout"):
        at_least(s[name], 0.001, f"--{name.replace('_', '-')}")
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
@clean_errors
def record(
    target: Annotated[str | None, typer.Option(
        help="Record through: mock (default), url, live or local.")] = None,
    provider: ProviderOpt = None,
    checks: ChecksOpt = None,
    base_url: BaseUrlOpt = None,
    header: HeaderOpt = None,
    model: ModelOpt = None,
    cassettes_dir: Annotated[Path | None, typer.Option(
        help="Where cassettes go (default: the run folder reports/cassettes; with "
        "--update-cassettes, the shipped cassettes/).")] = None,
    update_cassettes: Annotated[bool, typer.Option(
        "--update-cassettes", help="Write into the shipped cassettes (or the config's "
        "cassette_dir) instead of the run folder.")] = False,
    seed: SeedOpt = None,
    max_requests: MaxRequestsOpt = None,
    max_cost: MaxCostOpt = None,
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    allow_empty: AllowEmptyOpt = None,
) -> int:
    """Run the suite through a target and save each check's traffic as vcrpy cassettes
    (keys scrubbed, big media replaced by digests) for the cassette target to replay."""
    from harness.recording import recorder

    s = settings(config, dict(
        target=target, provider=provider, checks=checks, base_url=base_url, header=header,
        model=model, cassette_dir=None, seed=seed, max_requests=max_requests,
        max_cost=max_cost, allow_empty=allow_empty),
        dict(target="mock", provider="all", seed=0, cassette_dir="cassettes", allow_empty=False))
    # Nothing shipped is overwritten by default: only --update-cassettes writes where the
    # cassette target replays from; an explicit --cassettes-dir is taken as asked.
    folder = cassettes_dir or (Path(s["cassette_dir"]) if update_cassettes else RUN_CASSETTES)
    one_of(s["target"], list(recorder.RECORDABLE), "target to record through (--target)")
    output_dir(folder, "--cassettes-dir")
    at_least(s["max_requests"], 0, "--max-requests")
    at_least(s["max_cost"], 0, "--max-cost")
    return recorder.command(target=s["target"], provider=s["provider"], checks=s["checks"],
                            base_url=s["base_url"], header=s["header"] or (),
                            model=s["model"] or (), cassettes_dir=folder,
                            seed=s["seed"], max_requests=s["max_requests"],
                            max_cost=s["max_cost"], quiet=quiet, allow_empty=s["allow_empty"])


@app.command()
@clean_errors
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

    output_file(output, "-o/--output")
    output_file(junit, "--junit")
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
@clean_errors
def fuzz(
    target: Annotated[str | None, typer.Option(help="mock (default), url, live or local.")] = None,
    provider: ProviderOpt = None,
    max_examples: Annotated[int | None, typer.Option(
        help="Cases per operation (default: 20 on mock, 10 on url, 5 on live/local).")] = None,
    seed: Annotated[int | None, typer.Option(help="Seed that reproduces the generated cases (0).")
                    ] = None,
    base_url: BaseUrlOpt = None,
    header: HeaderOpt = None,
    model: ModelOpt = None,
    max_requests: MaxRequestsOpt = None,
    reports_dir: Annotated[Path, typer.Option(help="Where results and reports go.")] = Path(
        "reports/fuzz"),
    config: ConfigOpt = None,
    quiet: QuietOpt = False,
    fmt: FormatOpt = None,
    allow_empty: AllowEmptyOpt = None,
) -> int:
    """Fuzz each provider's OpenAPI document with schemathesis through a target.

    Exit 1 on failures, 3 when nothing was sent (no key), 4 unreachable."""
    from harness import fuzz as fuzz_mod
    from harness.targets import known_targets

    s = settings(config, dict(target=target, provider=provider, seed=seed, base_url=base_url,
                               header=header, model=model, max_requests=max_requests,
                               format=fmt, allow_empty=allow_empty),
                  dict(target="mock", provider="all", seed=0, allow_empty=False))
    one_of(s["target"], known_targets())
    output_dir(reports_dir, "--reports-dir")
    at_least(max_examples, 1, "--max-examples")
    at_least(s["max_requests"], 0, "--max-requests")
    return fuzz_mod.command(target=s["target"], provider=s["provider"], max_examples=max_examples,
                            seed=s["seed"], base_url=s["base_url"], header=s["header"] or (),
                            model=s["model"] or (), max_requests=s["max_requests"],
                            reports_dir=reports_dir, quiet=quiet, fmt=s["format"],
                            allow_empty=s["allow_empty"])
