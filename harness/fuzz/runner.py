"""Schemathesis over each provider's OpenAPI document, sent through the suite's own targets.

Schemathesis generates the cases (positive and negative) from :func:`harness.openapi.build`;
each case is sent by a :class:`~harness.checks.exchange.Probe`, so the target decides where it
goes and with which key: the in-process mock (ASGI, no socket), a served mock or gateway
(``url``), a live provider (charged to ``--max-requests``, throttles waited out per
``Retry-After``, paced) or a local server, exactly as for the contract suite. Answers are
judged by schemathesis' response checks (those that do not re-send requests behind the
target's back) and by our exchange checks, which are registered with schemathesis as
``vlm_<name>`` checks: an adapter wraps the schemathesis response into an
:class:`~harness.checks.exchange.Exchange` and turns findings into schemathesis failures (the
adapters stay silent outside a harness run, where no provider is known). Cases never raise
into Hypothesis, so nothing is shrunk or re-sent; every failure is kept as a finding instead,
in :class:`~harness.report.results.CaseResult` rows named ``schemathesis:<check>`` (plus one
``fuzz`` row per operation with what ran), so fuzzing lands in the same reports as the suite.
The pieces live beside it: :mod:`harness.fuzz.document` (the document and its routes),
:mod:`harness.fuzz.adapters` (sending cases, adapting responses and checks) and
:mod:`harness.fuzz.rows` (the report rows); the package re-exports the public names.
"""

from __future__ import annotations

import platform
import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup

from harness import __version__, openapi, providers
from harness.checks.exchange import Probe
from harness.checks.registry import registered
from harness.errors import UsageError
from harness.fuzz.adapters import (
    _builtin,
    _Check,
    _Run,
    _running,
    _send,
    _still_negative,
    adapter,
)
from harness.fuzz.document import Route, document, routes
from harness.fuzz.rows import _finding, _Rows
from harness.progress import Progress
from harness.report.results import (
    CaseResult,
    Outcome,
    RunMeta,
    RunResult,
    named_providers,
    schema_version,
)
from harness.secrets import Scrubber
from harness.strategies.profiles import settings_for
from harness.targets import make_target
from harness.targets.base import Target, TargetOptions
from harness.targets.budget import BudgetExceeded
from harness.targets.endpoints import target_options

# Schemathesis' response checks; the others (ignored_auth, unsupported_method, use_after_free
# ...) send requests of their own through schemathesis' transport, around budgets and keys.
SCHEMATHESIS_CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
                       "response_headers_conformance", "response_schema_conformance",
                       "negative_data_rejection")
# Examples per operation (split between the generation modes): many in process, few where
# requests cost. Schemathesis needs ~0.3 s to build one OpenAI chat body, which bounds the mock's.
DEFAULT_EXAMPLES = {"mock": 20, "url": 10}
FALLBACK_EXAMPLES = 5
UNFUZZABLE = {"cassette": "a cassette replays recorded requests only; fuzzing makes new ones"}
PACING_S = {"live": 1.0}  # at most one request a second to a paid API


def kind_of(target: Target) -> str:
    return str(getattr(target.kind, "value", target.kind))


def split(examples: int, modes: tuple[str, ...]) -> dict[str, int]:
    """``examples`` per operation shared by ``modes``, earlier modes taking the remainder;
    a mode left with none is dropped."""
    share, extra = divmod(examples, len(modes)) if modes else (0, 0)
    counts = {m: share + (1 if i < extra else 0) for i, m in enumerate(modes)}
    return {m: n for m, n in counts.items() if n}


def fuzz(target_options: TargetOptions, provider_spec: str = "all",
         max_examples: int | None = None, seed: int = 0, *, target: Target | None = None,
         modes: tuple[str, ...] = ("positive", "negative"),
         checks: tuple[str, ...] | None = None,
         progress: Progress | None = None) -> list[CaseResult]:
    """Fuzz every HTTP operation of the selected providers; one row per check × endpoint.

    ``max_examples`` is per operation, shared by the generation ``modes`` (default by target
    kind: 20 on the mock, 10 on a url target, 5 elsewhere); ``target`` reuses a built target
    (else one is made from ``target_options`` and closed afterwards); ``checks`` narrows the
    schemathesis built-ins (our exchange checks always run)."""
    kind = str(getattr(target_options.kind, "value", target_options.kind))
    if kind in UNFUZZABLE:
        raise UsageError(f"cannot fuzz the {kind} target: {UNFUZZABLE[kind]}")
    own = target is None
    tgt = target or make_target(target_options)
    per_mode = split(max_examples if max_examples is not None else DEFAULT_EXAMPLES.get(
        kind_of(tgt), FALLBACK_EXAMPLES), modes)
    try:
        return [row for profile in providers.select(provider_spec)
                if any(e.method in openapi.HTTP_METHODS for a in profile.apis
                       for e in a.protocol.endpoints)
                for row in _fuzz_provider(tgt, profile, per_mode, seed,
                                          checks or SCHEMATHESIS_CHECKS, progress)]
    finally:
        if own:
            tgt.close()


def _fuzz_provider(target: Target, profile: providers.Profile, per_mode: dict[str, int],
                   seed: int, builtin_names: tuple[str, ...], progress: Progress | None = None
                   ) -> list[CaseResult]:
    scrubber = Scrubber.from_env()
    table = routes(profile)
    run = _Run(target, scrubber, table)
    ours = [s for s in registered().values() if s.kind == "exchange"]
    checks: list[_Check] = [_Check(f"schemathesis:{n}", "errors", _builtin(n)) for n in builtin_names]
    checks += [_Check(f"schemathesis:{s.name}", s.capability, adapter(s), s) for s in ours]
    rows = _Rows(profile.name)
    schema = schemathesis.openapi.from_dict(document(profile.name), config=schemathesis.Config())
    pace = PACING_S.get(kind_of(target), 0.0)
    spent: str | None = None
    for result in schema.get_all_operations():
        operation = result.ok()  # type: ignore[union-attr]  # our own documents always load
        route = table[(operation.method.upper(), operation.path)]
        summary = rows.row("fuzz", route.op.key)
        skip = spent or target.skip_reason(profile, route.api)
        if skip:
            summary.reason, summary.ran = skip, False
            continue
        for chk in checks:
            if chk.spec is None or chk.spec.applies(route.api):
                rows.row(chk.name, route.op.key, chk.capability)
        probe = Probe(target, profile, route.api)
        stats: dict[str, int] = {}
        label = f"{profile.name} {route.op.key}"
        if progress:
            progress.started(label)
        begun = time.perf_counter()
        for mode, examples in per_mode.items():
            try:
                spent = _cases(run, route, operation, probe, mode, examples, seed, checks, rows,
                               stats, pace)
            except hypothesis.errors.Unsatisfiable:  # e.g. nothing to negate but the key
                stats[f"{mode}: nothing to generate"] = 0
            except Exception as exc:  # generation itself failed: a fact about the document
                rows.add(_finding("fuzz", route, f"{mode} generation failed: "
                                  f"{type(exc).__name__}: {exc}", None, scrubber))
            if spent:
                break
        counts = ", ".join(f"{k} {v}" if v else k for k, v in sorted(stats.items()))
        summary.reason = f"{len(probe.exchanges)} requests ({counts})" + (
            f"; {spent}" if spent else "")
        summary.latencies = tuple(round(e.latency_ms, 3) for e in probe.exchanges)
        summary.ran = bool(probe.exchanges)
        if progress:
            failing = any(r.kept for (_, ep), r in rows.rows.items() if ep == route.op.key)
            progress.finished(label, "fail" if failing else "pass" if summary.ran else "skip",
                              time.perf_counter() - begun)
    return rows.results()


def _cases(run: _Run, route: Route, operation: Any, probe: Probe, mode: str, examples: int,
           seed: int, checks: list[_Check], rows: _Rows,
           stats: dict[str, int], pace: float) -> str | None:
    """Generate and send up to ``examples`` cases of one mode; the budget message if spent."""
    strategy = operation.as_strategy(generation_mode=GenerationMode(mode))
    spent: list[str] = []
    kind = kind_of(run.target)

    @settings_for(target=kind, max_examples=examples, derandomize=False, database=None,
                  phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
    @hypothesis.seed(seed)
    @given(case=strategy)
    def one(case: schemathesis.Case) -> None:
        if spent:
            return
        if mode == "negative" and not _still_negative(case, operation):
            stats["negative auth-only (not sent)"] = stats.get("negative auth-only (not sent)", 0) + 1
            return
        if pace:
            time.sleep(pace)
        try:
            sent = _send(probe, route, case)
        except BudgetExceeded as exc:
            spent.append(str(exc))
            return
        except httpx.HTTPError as exc:  # the server broke the exchange: always worth a finding
            rows.add(_finding("fuzz", route, f"request failed: {type(exc).__name__}: {exc}", None,
                              run.scrubber, mode=mode))
            return
        if sent is None:
            stats["unsendable"] = stats.get("unsendable", 0) + 1
            return
        ex, response = sent
        stats[f"{mode} {ex.status}"] = stats.get(f"{mode} {ex.status}", 0) + 1
        with _running(run):
            for chk in checks:
                if chk.spec is not None and not chk.spec.applies(route.api):
                    continue
                run.stash.clear()
                try:
                    case.validate_response(response, checks=[chk.fn],
                                           headers=dict(case.headers or {}))
                except FailureGroup as group:
                    if chk.spec is None:
                        for failure in group.exceptions:
                            rows.add(_finding(chk.name, route, f"{failure.title}: {failure.message}",
                                              ex, run.scrubber, mode=mode))
                for f in run.stash:  # our own check: its findings as it wrote them
                    rows.add(replace(f, check=chk.name))

    one()
    return spent[0] if spent else None


def command(*, target: str, provider: str, max_examples: int | None, seed: int,
            base_url: str | Sequence[str] | None, max_requests: int | None, reports_dir: Path,
            quiet: bool = False, header: Sequence[str] = (), model: Sequence[str] = (),
            fmt: str | None = None, allow_empty: bool = False) -> int:
    """The body of ``vlm-harness fuzz``: fuzz, write the usual reports, print what failed."""

    from harness import output
    from harness.progress import ConsoleProgress
    from harness.runner_cli import write_reports

    fmt = output.choose(fmt)
    options = target_options(kind=target, base_url=base_url, header=header, model=model,
                             seed=seed, max_requests=max_requests)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    with ConsoleProgress("fuzzing", quiet=quiet) as progress:
        cases = fuzz(options, provider, max_examples, seed, progress=progress)
    scrubber = Scrubber.from_env()
    meta = RunMeta(target=target, started_at=started,
                   finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   harness_version=__version__, schema_version=schema_version(), seed=seed,
                   providers=tuple(p.name for p in providers.select(provider)),
                   python=f"{platform.python_implementation()} {sys.version.split()[0]}",
                   command=scrubber.text(shlex.join(["vlm-harness", *sys.argv[1:]])),
                   required=named_providers(provider), allow_empty=allow_empty, kind="fuzz")
    result = RunResult(meta=meta, cases=tuple(cases))
    write_reports(result, reports_dir)
    # The table shows what ran per operation and what failed; passing rows are in the reports.
    with output.closed_pipe_is_quiet():
        output.emit(result, fmt, output.stdout(quiet), f"fuzz on {target}",
                    shown=lambda c: c.check == "fuzz" or c.outcome is not Outcome.PASS)
    output.verdict(result, f"reports in {reports_dir}/", output.stderr(quiet=quiet))
    return result.exit_code
