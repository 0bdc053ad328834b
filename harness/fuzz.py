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
"""

from __future__ import annotations

import http
import json
import platform
import shlex
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import jsonschema
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode
from schemathesis.core.failures import FailureGroup
from schemathesis.core.transport import Response

from harness import __version__, openapi, providers
from harness.checks.exchange import Exchange, Probe, parse_sse
from harness.checks.registry import CheckContext, CheckSpec, registered
from harness.errors import UsageError
from harness.findings import Finding, Severity
from harness.report.results import CaseResult, Outcome, RunMeta, RunResult, schema_version
from harness.secrets import Scrubber
from harness.strategies.profiles import settings_for
from harness.targets import make_target
from harness.targets.base import Target, TargetOptions
from harness.targets.budget import BudgetExceeded

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
KEPT_PER_ROW = 5  # distinct findings kept per check × endpoint; the rest are counted
_BASE = "http://fuzz.invalid"  # where schemathesis is told the API lives; only the path is used
_AUTH_HEADERS = frozenset({"authorization", "api-key", "x-api-key"})
_CLIENT_HEADERS = frozenset({"user-agent", "accept-encoding", "connection", "content-length"})


@dataclass(frozen=True, slots=True)
class Route:
    """Where one OpenAPI operation lives in a profile: the API, its operation, the path prefix
    (the mock prefix less ``/{provider}``) that the document puts in front of the API's paths."""

    profile: providers.Profile
    api: providers.Api
    op: providers.Operation
    prefix: str


# How schemathesis reads a 3.1 text/event-stream schema: as the schema of each parsed event.
SSE_EVENT: dict[str, Any] = {"type": "object", "required": ["data"],
                             "properties": {"data": {"type": "string"}, "event": {"type": "string"},
                                            "id": {"type": "string"}}}


def document(provider: str) -> dict[str, Any]:
    """:func:`openapi.build` as schemathesis should read it: each ``text/event-stream`` schema
    describes one event's framing (its ``data`` JSON is our stream checks' business, which
    know ``[DONE]`` and mid-stream errors); everything else unchanged."""
    doc = openapi.build(provider)
    for item in doc["paths"].values():
        for op in item.values():
            for response in op.get("responses", {}).values():
                stream = response.get("content", {}).get("text/event-stream")
                if stream is not None:
                    stream["schema"] = SSE_EVENT
    return doc


def routes(profile: providers.Profile) -> dict[tuple[str, str], Route]:
    """(METHOD, document path) -> :class:`Route`, mirroring how :func:`openapi.build` keys paths."""
    out: dict[tuple[str, str], Route] = {}
    for api in profile.apis:
        for op in api.operations():
            if op.endpoint.method not in openapi.HTTP_METHODS:
                continue  # WebSocket APIs are not in the document
            prefix = api.mock_prefix(op.endpoint.host).removeprefix(f"/{profile.name}")
            out.setdefault((op.endpoint.method, prefix + op.path), Route(profile, api, op, prefix))
    return out


@dataclass
class _Run:
    """What the registered adapters need while a fuzz run is in progress."""

    target: Target
    scrubber: Scrubber
    routes: dict[tuple[str, str], Route]
    stash: list[Finding] = field(default_factory=list)  # our findings, full fidelity


_RUN: ContextVar[_Run | None] = ContextVar("vlm_harness_fuzz_run", default=None)


def exchange_of(route: Route, case: schemathesis.Case, response: Response) -> Exchange:
    """A schemathesis response as the exchange our checks read."""
    headers = {k: ", ".join(v) for k, v in response.headers.items()}
    is_sse = headers.get("content-type", "").startswith("text/event-stream")
    body = case.body if isinstance(case.body, dict | list) else None
    ep = route.op.endpoint
    return Exchange(
        provider=route.profile.name, protocol=route.api.protocol.name, endpoint=route.op.key,
        method=ep.method, url=str(response.request.url), request_json=body,
        status=response.status_code, headers=headers, body=response.content,
        latency_ms=response.elapsed * 1000, streamed=is_sse,
        events=parse_sse(response.content) if is_sse else (),
        response_schema=ep.responses.get(response.status_code), stream_schema=ep.stream,
        documented=tuple(sorted(ep.responses)))


_ADAPTERS: dict[str, Callable[..., bool | None]] = {}


def adapter(spec: CheckSpec) -> Callable[..., bool | None]:
    """Our exchange check ``spec`` as a registered schemathesis check (made once per name)."""
    if spec.name in _ADAPTERS:
        return _ADAPTERS[spec.name]

    def check(ctx: schemathesis.CheckContext, response: Response, case: schemathesis.Case,
              ) -> bool | None:
        run = _RUN.get()
        route = run.routes.get((case.method.upper(), case.path)) if run else None
        if run is None or route is None or not spec.applies(route.api):
            return None  # not in a harness run: no provider to judge against
        ex = exchange_of(route, case, response)
        cctx = CheckContext(run.target, route.profile, route.api,
                            Probe(run.target, route.profile, route.api), run.scrubber,
                            check=spec.name)
        found = list(spec.fn(ex, cctx))
        run.stash.extend(found)
        errors = [f.message for f in found if f.is_error]
        if errors:
            raise AssertionError(f"{spec.name}: " + "; ".join(errors))
        return True

    check.__name__ = "vlm_" + spec.name.replace("-", "_")
    check.__doc__ = spec.description
    _ADAPTERS[spec.name] = schemathesis.check(check)
    return check


def _builtin(name: str) -> Callable[..., bool | None]:
    from schemathesis.checks import CHECKS, load_all_checks

    load_all_checks()
    found = next(c for c in CHECKS.get_all() if getattr(c, "__name__", "") == name)
    return found  # type: ignore[return-value]  # the registry also types check classes


def _still_negative(case: schemathesis.Case, operation: Any) -> bool:
    """Whether a negative case still breaks its schema once the target has put its own key in:
    a case whose only broken part is its headers counts only if a documented non-auth header
    (``anthropic-version``) is what is broken."""
    meta = case.meta
    broken = {str(loc.value) for loc, info in (meta.components.items() if meta else ())
              if info.mode is GenerationMode.NEGATIVE}
    if broken - {"header"}:
        return True
    sent = {k.lower(): v for k, v in (case.headers or {}).items()}
    for param in operation.definition.raw.get("parameters", []):
        if param.get("in") != "header" or param["name"].lower() in _AUTH_HEADERS:
            continue
        value = sent.get(param["name"].lower())
        if value is None:
            if param.get("required"):
                return True
        elif not jsonschema.Draft202012Validator(param.get("schema", {})).is_valid(value):
            return True
    return False


def _sendable(headers: dict[str, str]) -> bool:
    """Whether every header could go on the wire (negative cases may break header syntax)."""
    for name, value in headers.items():
        if not name or not name.isascii() or "\r" in value or "\n" in value:
            return False
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            return False
    return True


def _send(probe: Probe, route: Route, case: schemathesis.Case) -> tuple[Exchange, Response] | None:
    """Send ``case`` through the target; None when the case cannot be put on the wire."""
    kw = case.as_transport_kwargs(base_url=_BASE)
    path = str(kw["url"])[len(_BASE):]
    headers = {k: str(v) for k, v in kw.get("headers", {}).items()
               if k.lower() not in _AUTH_HEADERS | _CLIENT_HEADERS}  # the target sends its own
    if not path.startswith(route.prefix) or not _sendable(headers):
        return None
    body: Any = kw.get("json")
    raw = json.dumps(body).encode() if "json" in kw else kw.get("data")
    if isinstance(raw, str):
        raw = raw.encode()
    model = route.op.model.id if route.op.model else None
    ex = probe.call(route.op.endpoint.name, model=model, url=path[len(route.prefix):] or "/",
                    params=kw.get("params") or None, headers=headers, content=raw)
    ex = replace(ex, request_json=body if isinstance(body, dict | list) else None)
    request = requests.Request(ex.method, ex.url, headers=headers, data=raw).prepare()
    try:
        phrase = http.HTTPStatus(ex.status).phrase
    except ValueError:
        phrase = ""
    return ex, Response(ex.status, {k: [v] for k, v in ex.headers.items()}, ex.body, request,
                        ex.latency_ms / 1000, True, message=phrase)


@dataclass(frozen=True, slots=True)
class _Check:
    name: str  # the row's check name: schemathesis:<check>
    capability: str
    fn: Callable[..., bool | None]
    spec: CheckSpec | None = None  # ours; None for a schemathesis built-in


@dataclass
class _Row:
    """One check × endpoint: distinct findings kept (with how often each was seen)."""

    capability: str
    kept: dict[str, list[Any]] = field(default_factory=dict)  # message -> [finding, times]
    dropped: int = 0  # distinct findings past KEPT_PER_ROW
    reason: str = ""
    latencies: tuple[float, ...] = ()
    ran: bool = True


@dataclass
class _Rows:
    provider: str
    rows: dict[tuple[str, str], _Row] = field(default_factory=dict)

    def row(self, check: str, endpoint: str, capability: str = "errors") -> _Row:
        return self.rows.setdefault((check, endpoint), _Row(capability))

    def add(self, finding: Finding) -> None:
        row = self.row(finding.check, finding.endpoint)
        if finding.message in row.kept:
            row.kept[finding.message][1] += 1
        elif len(row.kept) < KEPT_PER_ROW:
            row.kept[finding.message] = [finding, 1]
        else:
            row.dropped += 1

    def results(self) -> list[CaseResult]:
        out = []
        for (check, endpoint), row in self.rows.items():
            findings = tuple(replace(f, extra=tuple(sorted({**dict(f.extra), "occurrences": str(n)}
                                                           .items())))
                             for f, n in row.kept.values())
            outcome = (Outcome.FAIL if any(f.is_error for f in findings)
                       else Outcome.PASS if row.ran else Outcome.SKIP)
            more = f"{row.dropped} more distinct findings not kept" if row.dropped else ""
            out.append(CaseResult(check, self.provider, endpoint, row.capability, outcome,
                                  reason="; ".join(filter(None, (row.reason, more))),
                                  findings=findings, latencies_ms=row.latencies))
        return out


def _finding(check: str, route: Route, message: str, ex: Exchange | None, scrubber: Scrubber,
             **extra: str) -> Finding:
    return Finding(check=check, severity=Severity.ERROR, message=scrubber.text(message),
                   provider=route.profile.name, endpoint=route.op.key,
                   request_id=ex.request_id if ex else "",
                   source=route.op.endpoint.source or route.api.source,
                   excerpt=ex.excerpt(scrubber) if ex else "", extra=tuple(sorted(extra.items())))


@contextmanager
def _running(run: _Run) -> Iterator[None]:
    token = _RUN.set(run)
    try:
        yield
    finally:
        _RUN.reset(token)


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
         checks: tuple[str, ...] | None = None) -> list[CaseResult]:
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
                                          checks or SCHEMATHESIS_CHECKS)]
    finally:
        if own:
            tgt.close()


def _fuzz_provider(target: Target, profile: providers.Profile, per_mode: dict[str, int],
                   seed: int, builtin_names: tuple[str, ...]) -> list[CaseResult]:
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
            base_url: str | None, max_requests: int | None, reports_dir: Path,
            quiet: bool = False) -> int:
    """The body of ``vlm-harness fuzz``: fuzz, write the usual reports, print what failed."""
    from rich.console import Console

    from harness.runner_cli import summary_table, write_reports

    options = TargetOptions(kind=target, base_url=base_url, seed=seed, max_requests=max_requests)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    cases = fuzz(options, provider, max_examples, seed)
    scrubber = Scrubber.from_env()
    meta = RunMeta(target=target, started_at=started,
                   finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   harness_version=__version__, schema_version=schema_version(), seed=seed,
                   providers=tuple(p.name for p in providers.select(provider)),
                   python=f"{platform.python_implementation()} {sys.version.split()[0]}",
                   command=scrubber.text(shlex.join(["vlm-harness", *sys.argv[1:]])))
    result = RunResult(meta=meta, cases=tuple(cases))
    write_reports(result, reports_dir)
    # The table shows what ran per operation and what failed; passing rows are in the reports.
    shown = tuple(c for c in result.cases if c.check == "fuzz" or c.outcome is not Outcome.PASS)
    out = Console(quiet=quiet)
    out.print(summary_table(replace(result, cases=shown)))
    failed = sum(1 for c in result.cases if c.outcome is Outcome.FAIL)
    out.print(f"{failed} failing check × endpoint rows - reports in {reports_dir}/")
    return result.exit_code
