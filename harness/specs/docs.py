"""``vlm-harness drift --docs``: watch the providers' published machine-readable specs.

Each profile lists its published specs (``specs:`` in ``harness/providers/*.yaml``: URL,
provenance, and the project schemas derived from it). Each is fetched (an injectable
``fetch``; ``file://`` URLs read a file, so tests stay offline), read by
:mod:`~harness.specs.model`, and diffed twice: against the project's schemas (what changed
upstream since we derived them) and against the last accepted copy in
``reports/baselines/docs/<provider>/`` (what changed since we last looked). A spec that
cannot be fetched or read is reported, never skipped: the run exits 4 when a spec was
unreachable and nothing broke, 3 when no spec was checked at all, 1 on a breaking change. The
run is written like any other (``reports/docs/``: results.json, junit.xml, index.html, one
case per spec) beside ``docs-drift.json`` with both comparisons of each spec.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from rich.console import Console
from rich.text import Text

from harness.drift.classify import Change
from harness.errors import ExitCode, UsageError
from harness.findings import Finding, Severity
from harness.providers import PublishedSpec

if TYPE_CHECKING:
    from harness.report.results import RunResult

Fetch = Callable[[str], bytes]
CHECK = "docs-drift"
TIMEOUT_S = 30.0


def fetch_url(url: str) -> bytes:
    """GET ``url`` (http, https or file) with a deadline; errors raise :class:`OSError`."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return Path(unquote(parts.path)).read_bytes()
    if parts.scheme not in ("http", "https"):
        raise OSError(f"unsupported URL scheme {parts.scheme!r} in {url}")
    import httpx

    try:
        answer = httpx.get(url, timeout=TIMEOUT_S, follow_redirects=True)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        raise OSError(f"{url}: {exc}") from exc
    return answer.content


def _suffix(url: str) -> str:
    suffix = Path(urlsplit(url).path).suffix
    return suffix if suffix in (".json", ".yaml", ".yml") else ".json"


def fetch_to(spec: str, folder: Path, fetch: Fetch | None = None) -> tuple[Path, str]:
    """A local path for ``spec`` (a path, or a URL fetched into ``folder``) and its provenance."""
    if "://" not in spec:
        path = Path(spec)
        if not path.is_file():
            raise UsageError(f"SPEC {spec}: no such file")
        return path, spec
    try:
        body = (fetch or fetch_url)(spec)
    except OSError as exc:
        raise UsageError(f"SPEC {spec}: cannot fetch it: {exc}") from exc
    path = folder / f"{Path(urlsplit(spec).path).stem or 'spec'}{_suffix(spec)}"
    path.write_bytes(body)
    return path, spec


@dataclass(slots=True)
class Checked:
    """One published spec: where from, what happened, and the changes of each comparison."""

    provider: str
    name: str
    url: str
    error: str = ""
    unreadable: bool = False  # fetched, but not a spec any reader understands
    against_project: list[Change] = field(default_factory=list)
    against_baseline: list[Change] | None = None  # None: no earlier copy to compare with

    @property
    def breaking(self) -> bool:
        return any(c.is_breaking for c in [*self.against_project, *(self.against_baseline or [])])


def exit_code(checked: list[Checked]) -> ExitCode:
    if any(c.breaking or c.unreadable for c in checked):
        return ExitCode.FINDINGS
    if any(c.error for c in checked):
        return ExitCode.UNREACHABLE
    return ExitCode.NOTHING_CHECKED if not checked else ExitCode.OK


def check(provider: str, spec: PublishedSpec, folder: Path, baselines: Path,
          update_baseline: bool, fetch: Fetch) -> Checked:
    """Fetch one published spec into ``folder`` and diff it with the project and the baseline."""
    from harness import schemas
    from harness.specs.migration import diff_specs
    from harness.specs.read import read_spec

    out = Checked(provider, spec.name, spec.url)
    copy = folder / f"{spec.name}{_suffix(spec.url)}"
    try:
        copy.write_bytes(fetch(spec.url))
    except OSError as exc:
        out.error = f"unreachable: {exc}"
        return out
    try:
        fresh = read_spec(copy)
    except UsageError as exc:
        out.error, out.unreadable = f"unreadable: {exc}", True
        return out
    if spec.compare:
        root = schemas.schema_root()
        ours = root / spec.compare if (root / spec.compare).is_dir() else (
            root / f"{spec.compare}.json")
        if not ours.exists():
            raise UsageError(f"harness/providers/{provider}.yaml: specs {spec.name}: compare "
                             f"{spec.compare!r} names no schema folder or file under {root}")
        out.against_project = [c.at(provider, spec.name) for c in
                               diff_specs(read_spec(ours), fresh, provenance=False)]
    kept = baselines / provider / copy.name
    if kept.is_file():
        out.against_baseline = [c.at(provider, spec.name)
                                for c in diff_specs(read_spec(kept), fresh)]
    if update_baseline or not kept.is_file():
        kept.parent.mkdir(parents=True, exist_ok=True)
        kept.write_bytes(copy.read_bytes())
    return out


def _render(checked: list[Checked], console: Console) -> None:
    from harness.drift import guide

    for item in checked:
        head = f"{item.provider}/{item.name} ({item.url})"
        if item.error:
            console.print(Text(f"✗ {head}: {item.error}", style="bold red"))
            continue
        if item.against_project or not item.against_baseline:
            guide.render(item.against_project, console, f"{head}: against the project's schemas")
        if item.against_baseline is None:
            console.print(Text(f"{head}: no earlier copy; this one is kept as the baseline",
                               style="dim"))
        else:
            guide.render(item.against_baseline, console, f"{head}: since the last kept copy")
        console.print()


def result_of(checked: list[Checked], started: str, command: str) -> RunResult:
    """The run as the report model: one case per spec, a finding per breaking change."""
    import platform
    import sys
    from datetime import UTC, datetime

    from harness import __version__
    from harness.drift.guide import line
    from harness.report.results import CaseResult, Outcome, RunMeta, RunResult, schema_version

    cases, drift = [], []
    for item in checked:
        changes = [*item.against_project, *(item.against_baseline or [])]
        drift += changes
        findings = [Finding(CHECK, Severity.ERROR, f"breaking change in the published spec: "
                            f"{line(c)}", item.provider, item.name, instance_pointer=c.pointer)
                    for c in changes if c.is_breaking]
        if item.error:
            findings.append(Finding(CHECK, Severity.ERROR, f"{item.url}: {item.error}",
                                    item.provider, item.name))
        cases.append(CaseResult(CHECK, item.provider, item.name, "docs",
                                Outcome.FAIL if findings else Outcome.PASS,
                                findings=tuple(findings)))
    meta = RunMeta(target="docs", started_at=started,
                   finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   harness_version=__version__, schema_version=schema_version(), seed=None,
                   providers=tuple(sorted({c.provider for c in checked})),
                   python=f"{platform.python_implementation()} {sys.version.split()[0]}",
                   command=command)
    return RunResult(meta, tuple(cases), tuple(sorted(drift, key=lambda c: -c.kind.rank)))


def command(provider: str, baselines_dir: Path, reports_dir: Path, update_baseline: bool,
            quiet: bool = False, fetch: Fetch | None = None) -> int:
    """The body of ``vlm-harness drift --docs``; the exit status per :class:`ExitCode`."""
    import shlex
    import sys
    from datetime import UTC, datetime

    from harness import providers
    from harness.runner_cli import write_reports

    started = datetime.now(UTC).isoformat(timespec="seconds")
    folder = reports_dir / "docs"
    folder.mkdir(parents=True, exist_ok=True)
    checked = []
    for profile in providers.select(provider):
        for spec in profile.specs:
            (folder / profile.name).mkdir(exist_ok=True)
            checked.append(check(profile.name, spec, folder / profile.name, baselines_dir,
                                 update_baseline, fetch or fetch_url))
    code = exit_code(checked)
    write_reports(result_of(checked, started, shlex.join(["vlm-harness", *sys.argv[1:]])),
                  folder)
    (folder / "docs-drift.json").write_text(json.dumps({
        "exit": int(code), "specs": [{
            "provider": c.provider, "name": c.name, "url": c.url, "error": c.error,
            "against_project": [x.to_dict() for x in c.against_project],
            "against_baseline": None if c.against_baseline is None
            else [x.to_dict() for x in c.against_baseline]} for c in checked]},
        indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    console = Console(soft_wrap=True, highlight=False)
    if not quiet:
        _render(checked, console)
    if not checked:
        console.print(Text(f"no published spec is listed for {provider!r}: nothing was checked",
                           style="bold yellow"))
    else:
        failed = sum(1 for c in checked if c.error)
        console.print(f"{len(checked)} published spec(s): {failed} not checked, "
                      f"{sum(c.breaking for c in checked)} with breaking changes "
                      f"(details in {folder / 'docs-drift.json'})")
    return int(code)
