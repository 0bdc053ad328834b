"""Drift probing: send one provider's probes and observe what came back.

:class:`_ProviderRun` sends the probe set of :mod:`~harness.drift.probes` for every API of one
provider through the target of a :class:`DriftPlan`, judges each answer with the registered
exchange checks and records it as a :class:`~harness.drift.baseline.ProbeObservation`
(:func:`observe`: status, content type, body or stream-event shape, latency). A provider that
cannot be measured stops early and is reported, never raised: unreachable or a refused key is a
failed probe, a rate limit, an outage or a spent budget a skipped one, and the remaining probes
are not sent. Each probe's fate is a :class:`_Record`, to which comparison adds breaking drift.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import httpx

from harness.checks.exchange import Exchange, Probe, SseEvent
from harness.checks.registry import CheckContext, CheckSpec
from harness.drift import baseline as bl
from harness.drift.probes import DriftProbe, probes_for
from harness.errors import HarnessError
from harness.findings import Finding
from harness.progress import Progress
from harness.providers import Api, Profile
from harness.report.results import CaseResult, Outcome
from harness.secrets import Scrubber
from harness.targets.base import Target
from harness.targets.budget import BudgetExceeded

CHECK = "drift"
# Statuses that say "not now" rather than anything about the API's shape: never compared.
THROTTLED = frozenset({429})
UNAVAILABLE = frozenset({502, 503, 504, 529})
# Statuses that, on a request carrying the key, say the account or key is refused.
REFUSED = frozenset({401, 402, 403})

@dataclass
class DriftPlan:
    target: Target
    provider_spec: str = "all"
    baselines_dir: Path = bl.BASELINE_DIR
    update_baseline: bool = False
    max_requests: int | None = None  # probes sent per provider, on every target
    seed: int = 0
    command: str = ""
    # The run folder: every observation is written here, so a run never has to touch the
    # baselines to leave what it saw for review (only --update-baseline or a first run do).
    observed_dir: Path | None = None
    allow_empty: bool = False  # a run that measured nothing is not an error (exit 0, not 3)


@dataclass
class _Record:
    """One probe's fate, before breaking drift (known only after comparing) is attached."""

    probe: DriftProbe
    outcome: Outcome
    reason: str = ""
    findings: list[Finding] = field(default_factory=list)
    exchange: Exchange | None = None
    observation: bl.ProbeObservation | None = None
    duration_s: float = 0.0


def _event(event: SseEvent) -> Any:
    """An SSE event as :func:`~harness.drift.shape.infer_stream` takes it: ``(name, body)`` when
    the server names events (Anthropic), else the body (OpenAI chunks; ``[DONE]`` stays a str)."""
    try:
        body = event.json()
    except ValueError:
        body = event.data
    return (event.event, body) if event.event else body


def observe(probe: DriftProbe, ex: Exchange) -> bl.ProbeObservation:
    body = ex.json() if not ex.events else None
    return bl.ProbeObservation.observe(
        probe.endpoint, probe.name, ex.status, ex.content_type,
        bodies=[body] if body is not None else [],
        streams=[[_event(e) for e in ex.events]] if ex.events else [],
        latencies_ms=[ex.latency_ms])


class _Stop(Exception):
    """The provider cannot be measured further in this run; ``args[0]`` says why."""


class _ProviderRun:
    """Sends one provider's probes, stopping early when it cannot be measured."""

    def __init__(self, plan: DriftPlan, profile: Profile, scrubber: Scrubber,
                 exchange_checks: list[CheckSpec], progress: Progress | None) -> None:
        self.plan, self.profile, self.scrubber = plan, profile, scrubber
        self.exchange_checks, self.progress = exchange_checks, progress
        self.sent = 0
        self.stopped: str | None = None
        self.records: list[_Record] = []
        self.rows: list[CaseResult] = []  # APIs without probes

    def run(self) -> None:
        for api in self.profile.apis:
            probe = Probe(self.plan.target, self.profile, api)
            planned = probes_for(probe, seed=self.plan.seed)
            if not planned:
                self.rows.append(CaseResult(
                    check=CHECK, provider=self.profile.name, endpoint=api.protocol.name,
                    capability=_capability_of(api), outcome=Outcome.SKIP,
                    reason=f"{api.protocol.name} has no request/response probes; drift covers "
                           "HTTP APIs only"))
                continue
            skip = self.plan.target.skip_reason(self.profile, api)
            for dp in planned:
                if skip:
                    self.records.append(_Record(dp, Outcome.SKIP, skip))
                elif self.stopped:
                    self.records.append(_Record(dp, Outcome.SKIP, f"not sent: {self.stopped}"))
                elif self.plan.max_requests is not None and self.sent >= self.plan.max_requests:
                    self.records.append(_Record(dp, Outcome.SKIP, (
                        f"not sent: --max-requests {self.plan.max_requests} for "
                        f"{self.profile.name} spent")))
                else:
                    self.records.append(self._send(dp, probe))

    def _ctx(self, probe: Probe, check: str = CHECK) -> CheckContext:
        return CheckContext(self.plan.target, self.profile, probe.api, probe, self.scrubber,
                            check=check, seed=self.plan.seed)

    def _send(self, dp: DriftProbe, probe: Probe) -> _Record:
        label = f"{self.profile.name} {dp.endpoint} {dp.name}"
        if self.progress:
            self.progress.started(label)
        started = time.perf_counter()
        record = _Record(dp, Outcome.PASS)
        try:
            self.sent += 1
            ex = dp.send(probe)
        except BudgetExceeded as exc:
            self.stopped = "the request budget is spent"
            record.outcome, record.reason = Outcome.SKIP, self.scrubber.text(str(exc))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            url = self._url(exc, probe)
            self.stopped = f"{self.profile.name} is unreachable"
            record.outcome = Outcome.FAIL
            record.findings.append(self._ctx(probe).finding(
                f"unreachable: cannot connect to {url} ({type(exc).__name__}: {exc}); "
                "nothing was compared"))
        except (httpx.TransportError, HarnessError) as exc:  # a read timeout, a refused redirect
            record.outcome = Outcome.FAIL
            record.findings.append(self._ctx(probe).finding(
                f"{dp.name} probe got no answer: {type(exc).__name__}: {exc}"))
        else:
            record.exchange = ex
            self._judge(record, probe, ex)
        record.duration_s = round(time.perf_counter() - started, 4)
        if self.progress:
            self.progress.finished(label, record.outcome.value, record.duration_s)
        return record

    def _url(self, exc: httpx.TransportError, probe: Probe) -> str:
        try:
            url = exc.request.url.copy_with(query=None)
        except RuntimeError:  # raised outside a request: name the API base instead
            with self.plan.target.client(self.profile, probe.api) as client:
                url = client.base_url
        return self.scrubber.url(str(url))

    def _judge(self, record: _Record, probe: Probe, ex: Exchange) -> None:
        dp, ctx = record.probe, self._ctx(probe)
        env = probe.api.auth.env
        if ex.status in THROTTLED or ex.status in UNAVAILABLE:
            what = "rate-limited" if ex.status in THROTTLED else "unavailable"
            wait = ex.headers.get("retry-after")
            self.stopped = f"{self.profile.name} is {what}"
            record.outcome = Outcome.SKIP
            record.reason = (f"{what}: HTTP {ex.status} on the {dp.name} probe"
                             + (f" (Retry-After: {wait})" if wait else "")
                             + "; not compared with the baseline, remaining probes not sent")
            return
        if ex.status in REFUSED and dp.auth:
            sent_key = self.plan.target.key(self.profile, probe.api) is not None
            self.stopped = f"{self.profile.name} refused the credentials"
            record.outcome = Outcome.FAIL
            message = (f"the key in {env} was refused: HTTP {ex.status} on the {dp.name} probe, "
                       "which carried it" if sent_key else
                       f"HTTP {ex.status} without a key: the server wants one, set {env}")
            record.findings.append(ctx.finding(message + "; nothing was compared", exchange=ex))
            return
        for spec in self.exchange_checks:
            if spec.applies(probe.api):
                record.findings.extend(spec.fn(ex, self._ctx(probe, spec.name)))
        record.observation = observe(dp, ex)
        if any(f.is_error for f in record.findings):
            record.outcome = Outcome.FAIL

    def observation(self) -> bl.Observation:
        return bl.Observation(self.profile.name,
                              tuple(r.observation for r in self.records if r.observation),
                              datetime.now(UTC).isoformat(timespec="seconds"),
                              kind_name(self.plan.target))


def kind_name(target: Target) -> str:
    kind = target.kind
    return kind.value if isinstance(kind, Enum) else str(kind)


def _capability_of(api: Api) -> str:
    caps = {c for m in api.models.values() for c in m.capabilities}
    return "realtime" if "realtime" in caps else next(iter(sorted(caps)), "errors")
