"""The contract suite from a user's own code: one settings value, one call, one readable verdict.

:class:`VlmConfig` is what the pytest plugin resolves from its layers (command line, the ``vlm``
marker, the ``vlm_config`` fixture, the ini file, defaults) and what a script can build by hand;
:func:`run_contract` builds the target it names, runs :func:`harness.engine.run` on it, applies
the project's waivers and returns the :class:`~harness.report.results.RunResult` (writing
``results.json``, JUnit and HTML when ``reports_dir`` is set); :func:`explain` turns a result
into an assertion message that names each failing check, provider, endpoint and finding. Heavy
imports happen inside the functions, so the plugin can import this module at start-up for free.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from harness.report.results import RunResult
    from harness.targets.base import Target, TargetOptions
    from harness.waivers import Waiver

SHOWN = 20  # failing cases listed in an assertion message; the rest are counted


@dataclass(frozen=True, slots=True)
class VlmConfig:
    """Resolved settings of the harness for one test (or one scripted run)."""

    target: str = "mock"
    provider: str = "all"
    base_url: str | tuple[str, ...] | None = None  # a URL, or URL / API=URL specs
    record_mode: str = "none"
    cassette_dir: str | None = None
    checks: str | None = None  # None: every registered check
    seed: int = 0
    max_requests: int | None = None
    max_cost: float | None = None
    reports_dir: str | None = None  # set: vlm_contract writes results.json, junit.xml, index.html
    waiver: tuple[Waiver, ...] = ()  # known deviations (config file [[waiver]]), harness.waivers
    concurrency: int = 1  # cases in flight at once within one run
    header: tuple[str, ...] = ()  # [API:]Name=Value
    model: tuple[str, ...] = ()  # PROVIDER_MODEL=ALIAS
    allow_empty: bool = False  # a run that checks nothing is not clean unless this is set
    # Time budgets in seconds (None: the target kind's default, harness.deadlines.DEFAULTS).
    timeout: float | None = None  # one whole request, stream included
    check_timeout: float | None = None
    run_timeout: float | None = None
    upstream: str | None = None  # gateway target: a running `vlm-harness serve` as upstream
    capabilities: str | None = None  # url/local: forced, comma list (None: discovered)
    local_flavour: str | None = None  # the server behind the local profile (vllm, sglang...)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    def replace(self, **changes: Any) -> VlmConfig:
        """A copy with ``changes``; an unknown setting lists the known ones."""
        unknown = set(changes) - set(self.names())
        if unknown:
            from harness.errors import UnknownNameError

            raise UnknownNameError("vlm setting", sorted(unknown)[0], self.names())
        url = changes.get("base_url")
        if isinstance(url, tuple | list) and len(url) == 1:  # one URL reads as before: a str
            changes["base_url"] = url[0]
        return replace(self, **changes)

    def target_options(self) -> TargetOptions:
        from harness.deadlines import TimeBudgets
        from harness.targets.endpoints import target_options

        return target_options(kind=self.target, base_url=self.base_url, header=self.header,
                              model=self.model, flags="--vlm-", cassette_dir=self.cassette_dir,
                              record_mode=self.record_mode, max_requests=self.max_requests,
                              max_cost=self.max_cost, seed=self.seed,
                              timeout_s=TimeBudgets.for_target(self.target,
                                                               request_s=self.timeout).request_s,
                              upstream=self.upstream, local_flavour=self.local_flavour)

    def make_target(self) -> Target:
        from harness.targets import make_target

        return make_target(self.target_options())


def run_contract(config: VlmConfig | None = None, *, target: Target | None = None,
                 command: str = "", **changes: Any) -> RunResult:
    """Run the contract suite as ``config`` (plus ``changes``) says, on ``target`` when given
    (else on the target the settings name, closed afterwards)."""
    from pathlib import Path

    from harness import discovery, engine

    settings = (config or VlmConfig()).replace(**changes)
    own = target is None
    tgt = settings.make_target() if target is None else target
    try:
        result = engine.run(engine.Plan(target=tgt, provider_spec=settings.provider,
                                        check_spec=settings.checks, seed=settings.seed,
                                        command=command, concurrency=settings.concurrency,
                                        allow_empty=settings.allow_empty,
                                        check_timeout_s=settings.check_timeout,
                                        run_timeout_s=settings.run_timeout,
                                        capabilities=discovery.forced(settings.capabilities,
                                                                      "--vlm-capabilities"),
                                        local_flavour=settings.local_flavour))
    finally:
        if own:
            tgt.close()
    if settings.waiver:
        from harness import waivers

        result = waivers.apply(result, settings.waiver)
    if settings.reports_dir:
        from harness.runner_cli import write_reports

        write_reports(result, Path(settings.reports_dir))
    return result


def explain(result: RunResult, shown: int = SHOWN) -> str:
    """Why ``result`` is not clean: per failing case, one line per cause of its error findings
    (with the count), scrubbed."""
    from harness.errors import ExitCode
    from harness.report.groups import group
    from harness.report.results import Outcome
    from harness.secrets import Scrubber

    failing = [c for c in result.cases if c.outcome is Outcome.FAIL or any(
        f.is_error for f in c.findings)]
    if not failing and not result.breaking:
        if result.exit_code == ExitCode.NOTHING_CHECKED:
            return (f"contract suite on {result.meta.target}: {result.empty_reason()} "
                    "(exit 3; set allow_empty / --vlm-allow-empty to accept that)")
        return f"contract suite clean on {result.meta.target}"
    lines = [f"contract suite on {result.meta.target}: {len(failing)} failing case(s), "
             f"{len(result.errors)} error finding(s)"]
    for case in failing[:shown]:
        lines.append(f"- {case.provider} {case.endpoint} {case.check}: {case.reason}".rstrip(": "))
        errors = [f for f in case.findings if f.is_error]
        lines.extend(f"    [{g.severity.value}] "
                     + (f"{g.count} × {g.cause}" if g.count > 1 else g.examples[0].message)
                     + (f" (schema {g.schema_pointer})" if g.schema_pointer else "")
                     for g in group((case.provider, case.endpoint, f) for f in errors))
    if len(failing) > shown:
        lines.append(f"... and {len(failing) - shown} more (see results.json)")
    lines.extend(f"- breaking drift: {c.provider} {c.endpoint} {c.pointer}: {c.message}"
                 for c in result.breaking)
    return Scrubber.from_env().text("\n".join(lines))


def assert_clean(result: RunResult) -> None:
    """Raise :class:`AssertionError` with :func:`explain`'s message unless ``result`` is clean."""
    __tracebackhide__ = True
    if result.exit_code != 0:
        raise AssertionError(explain(result))
