"""The commands about documents: ``lint``, ``openapi``, ``drift``, ``diff`` and ``import``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.cli.app import (
    AllowEmptyOpt,
    BaseUrlOpt,
    ConfigOpt,
    FormatOpt,
    HeaderOpt,
    LocalFlavourOpt,
    ModelOpt,
    ProviderOpt,
    QuietOpt,
    app,
    at_least,
    clean_errors,
    one_of,
    output_dir,
    output_file,
    settings,
)
from harness.errors import UsageError


@app.command()
@clean_errors
def lint(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable findings.")] = False,
    schemas_dir: Annotated[Path | None, typer.Option(help="Lint this schemas folder.")] = None,
) -> int:
    """Meta-validate schemas and profiles, and check every documented example."""
    from harness import lint as lint_mod

    return lint_mod.command(as_json=as_json, schemas_dir=schemas_dir)


@app.command()
@clean_errors
def openapi(
    provider: Annotated[str, typer.Argument(help="An HTTP provider, e.g. wavespeed.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write here.")] = None,
    server: Annotated[str | None, typer.Option(help="Server URL to put in the document.")] = None,
    local_flavour: LocalFlavourOpt = None,
) -> int:
    """Build the OpenAPI 3.1 document of PROVIDER from its JSON Schemas."""
    from harness import openapi as openapi_mod

    output_file(output, "-o/--output")
    return openapi_mod.command(provider=provider, output=output, server=server,
                               flavour=local_flavour)


@app.command()
@clean_errors
def drift(
    target: Annotated[str | None, typer.Option(help="live (default), mock, url or local.")] = None,
    provider: ProviderOpt = None,
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
    quiet: QuietOpt = False,
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

    s = settings(config, dict(target=target, provider=provider, base_url=base_url,
                               header=header, model=model, seed=seed, max_requests=max_requests,
                               format=fmt, allow_empty=allow_empty),
                  dict(target="live", provider="all", seed=0, allow_empty=False))
    if docs:
        from harness.specs import docs as docs_drift

        if target is not None or base_url:
            raise UsageError("--docs fetches published specs and probes nothing: drop --target "
                             "and --base-url")
        output_dir(reports_dir, "--reports-dir")
        output_dir(baselines_dir, "--baselines-dir")
        return docs_drift.command(provider=s["provider"], baselines_dir=baselines_dir / "docs",
                                  reports_dir=reports_dir, update_baseline=update_baseline,
                                  quiet=quiet)
    one_of(s["target"], known_targets())
    output_dir(reports_dir, "--reports-dir")
    output_dir(baselines_dir, "--baselines-dir")
    at_least(s["max_requests"], 0, "--max-requests")
    return drift_run.command(target=s["target"], provider=s["provider"], base_url=s["base_url"],
                             header=s["header"] or (), model=s["model"] or (),
                             baselines_dir=baselines_dir, reports_dir=reports_dir,
                             update_baseline=update_baseline, max_requests=s["max_requests"],
                             seed=s["seed"], quiet=quiet, fmt=s["format"],
                             allow_empty=s["allow_empty"])


@app.command()
@clean_errors
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
@clean_errors
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
        output_dir(output, "-o/--output")
    output_dir(reports_dir, "--reports-dir")
    return importer.command(spec=spec, protocol=protocol, revision=revision, output=output,
                            reports_dir=reports_dir)
