"""The results of one run: the model every check, drift comparison and writer shares.

A :class:`RunResult` holds the :class:`RunMeta` (what ran, where, when, with which seed and
schema version), one :class:`CaseResult` per check × provider × endpoint × capability, and the
drift :class:`~harness.drift.classify.Change` values seen against the baseline, and what each
project waiver did (:mod:`harness.waivers`). It serialises
to ``results.json`` (scrubbed of keys on the way out) and is read back by ``vlm-harness report``
to build the HTML, JUnit and history views. :meth:`RunResult.cell` aggregates the cases of one
provider × capability cell for the matrix, consulting the provider profile for what is offered;
:attr:`RunResult.groups` groups the findings by cause (written to ``results.json`` beside them).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import Enum
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.drift.classify import Change, Kind
from harness.errors import ExitCode, UnknownNameError, UsageError
from harness.findings import Finding, Findings
from harness.waivers import WaiverUse

if TYPE_CHECKING:
    from harness.report.groups import FindingGroup

FORMAT = "vlm-harness-results/1"
CAPABILITIES = ("text", "image", "multi-image", "video", "stream", "async", "realtime",
                "errors", "auth", "limits")


class Outcome(str, Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    NOT_OFFERED = "not-offered"


def schema_version(root: Path | None = None) -> str:
    """A short hash of every file under the schemas folder (names and contents)."""
    from harness.schemas import schema_root

    base = root or schema_root()
    digest = hashlib.sha256()
    for path in sorted(p for p in base.rglob("*") if p.is_file()):
        digest.update(path.relative_to(base).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()[:12]


@cache
def offered(provider: str) -> frozenset[str] | None:
    """Capabilities ``provider``'s profile offers; None for a provider without a profile."""
    from harness import providers

    try:
        return providers.get(provider).capabilities()
    except UnknownNameError:
        return None


@dataclass(frozen=True, slots=True)
class CaseResult:
    check: str
    provider: str
    endpoint: str
    capability: str
    outcome: Outcome
    reason: str = ""
    findings: tuple[Finding, ...] = ()
    latencies_ms: tuple[float, ...] = ()
    duration_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"check": self.check, "provider": self.provider, "endpoint": self.endpoint,
                "capability": self.capability, "outcome": self.outcome.value,
                "reason": self.reason, "findings": [f.to_dict() for f in self.findings],
                "latencies_ms": list(self.latencies_ms), "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CaseResult:
        return cls(data["check"], data["provider"], data["endpoint"], data["capability"],
                   Outcome(data["outcome"]), data.get("reason", ""),
                   tuple(Finding.from_dict(f) for f in data.get("findings", ())),
                   tuple(float(v) for v in data.get("latencies_ms", ())),
                   float(data.get("duration_s", 0.0)))


@dataclass(frozen=True, slots=True)
class RunMeta:
    target: str
    started_at: str
    finished_at: str
    harness_version: str
    schema_version: str
    seed: int | None
    providers: tuple[str, ...]
    python: str
    command: str
    # Providers the caller named (not "all"): each must have been checked, or the run checked
    # less than it was asked to. ``allow_empty``: a run that checked nothing may still pass.
    required: tuple[str, ...] = ()
    allow_empty: bool = False
    kind: str = "suite"  # which command made it: suite, fuzz or drift (history compares alike)

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "started_at": self.started_at,
                "finished_at": self.finished_at, "harness_version": self.harness_version,
                "schema_version": self.schema_version, "seed": self.seed,
                "providers": list(self.providers), "python": self.python,
                "command": self.command, "required": list(self.required),
                "allow_empty": self.allow_empty, "kind": self.kind}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunMeta:
        return cls(data["target"], data["started_at"], data["finished_at"],
                   data["harness_version"], data["schema_version"], data.get("seed"),
                   tuple(data.get("providers", ())), data.get("python", ""),
                   data.get("command", ""), tuple(data.get("required", ())),
                   bool(data.get("allow_empty", False)), data.get("kind", "suite"))


def named_providers(spec: str) -> tuple[str, ...]:
    """The providers a ``--provider`` value names explicitly (none for ``all``)."""
    return tuple(n for n in (part.strip() for part in spec.split(",")) if n and n != "all")


def scrub_tree(value: Any, scrub: Any) -> Any:
    """``value`` with every string passed through ``scrub`` (a str -> str callable)."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, list | tuple):
        return [scrub_tree(v, scrub) for v in value]
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_tree(v, scrub) for k, v in value.items()}
    return value


@dataclass(frozen=True, slots=True)
class RunResult:
    meta: RunMeta
    cases: tuple[CaseResult, ...]
    drift: tuple[Change, ...] = ()
    waivers: tuple[WaiverUse, ...] = ()  # what each project waiver did (harness.waivers)

    @property
    def findings(self) -> Findings:
        return Findings(f for c in self.cases for f in c.findings)

    @property
    def errors(self) -> Findings:
        """Error findings; ``str()`` gives one readable line each (an assertion message)."""
        return Findings(f for f in self.findings if f.is_error)

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.drift if c.kind is Kind.BREAKING)

    @property
    def checked(self) -> tuple[str, ...]:
        """Providers with at least one case that ran (passed or failed)."""
        return tuple(dict.fromkeys(c.provider for c in self.cases
                                   if c.outcome in (Outcome.PASS, Outcome.FAIL)))

    @property
    def unchecked(self) -> tuple[str, ...]:
        """Selected providers of which nothing ran (every case skipped or not offered)."""
        done = set(self.checked)
        return tuple(p for p in self.providers if p not in done)

    def empty_reason(self) -> str:
        """Why the run counts as having checked nothing ('' when it checked enough): nothing
        ran at all, or a provider the caller named did not run; with each provider's reason."""
        missing = [p for p in self.meta.required if p not in self.checked]
        if self.checked and not missing:
            return ""
        why = []
        for provider in missing or self.unchecked:
            reasons = [c.reason for c in self.cases if c.provider == provider
                       and c.outcome is Outcome.SKIP and c.reason]
            why.append(f"{provider}: {reasons[0] if reasons else 'no case applies'}")
        head = ("nothing was checked" if not self.checked else
                f"{', '.join(missing)} not checked")
        return f"{head} ({'; '.join(why) or 'no provider selected'})"

    @property
    def exit_code(self) -> int:
        """:class:`~harness.errors.ExitCode`: 1 on an error finding, a failed case or breaking
        drift (latency alone never fails); else 3 when nothing was checked (see
        :meth:`empty_reason`) unless the run allowed that; else 0."""
        failed = any(c.outcome is Outcome.FAIL for c in self.cases)
        if self.errors or failed or self.breaking:
            return ExitCode.FINDINGS
        if not self.meta.allow_empty and self.empty_reason():
            return ExitCode.NOTHING_CHECKED
        return ExitCode.OK

    @property
    def providers(self) -> tuple[str, ...]:
        """The run's providers in meta order, then any other provider a case names."""
        seen = dict.fromkeys(self.meta.providers)
        seen.update(dict.fromkeys(c.provider for c in self.cases))
        return tuple(seen)

    def cases_of(self, provider: str, capability: str) -> tuple[CaseResult, ...]:
        return tuple(c for c in self.cases
                     if c.provider == provider and c.capability == capability)

    def cell(self, provider: str, capability: str) -> Outcome:
        """A matrix cell: fail beats pass beats not-offered beats skip.

        A case that ran decides even for a capability the profile does not list (a failure is
        never hidden); otherwise an unlisted capability is not offered, and an offered one with
        no case at all counts as skipped ("no check ran").
        """
        outcomes = {c.outcome for c in self.cases_of(provider, capability)}
        caps = offered(provider)
        if Outcome.FAIL in outcomes:
            return Outcome.FAIL
        if Outcome.PASS in outcomes:
            return Outcome.PASS
        if (caps is not None and capability not in caps) or outcomes == {Outcome.NOT_OFFERED}:
            return Outcome.NOT_OFFERED
        return Outcome.SKIP

    def skip_reasons(self, provider: str, capability: str) -> tuple[str, ...]:
        reasons = [c.reason or "skipped" for c in self.cases_of(provider, capability)
                   if c.outcome is Outcome.SKIP]
        return tuple(dict.fromkeys(reasons)) or ("no check ran",)

    @property
    def groups(self) -> list[FindingGroup]:
        """The findings grouped by cause (:mod:`harness.report.groups`)."""
        from harness.report.groups import of_run

        return of_run(self)

    def to_dict(self) -> dict[str, Any]:
        # "groups" is derived (from_dict ignores it) for readers; raw findings stay in "cases".
        return {"format": FORMAT, "meta": self.meta.to_dict(),
                "cases": [c.to_dict() for c in self.cases],
                "groups": [g.to_dict() for g in self.groups],
                "waivers": [w.to_dict() for w in self.waivers],
                "drift": [c.to_dict() for c in self.drift]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        return cls(RunMeta.from_dict(data["meta"]),
                   tuple(CaseResult.from_dict(c) for c in data.get("cases", ())),
                   tuple(Change.from_dict(c) for c in data.get("drift", ())),
                   tuple(WaiverUse.from_dict(w) for w in data.get("waivers", ())))

    def scrubbed(self) -> RunResult:
        """A copy with every string passed through :meth:`Scrubber.from_env`."""
        from harness.secrets import Scrubber

        return RunResult.from_dict(scrub_tree(self.to_dict(), Scrubber.from_env().text))

    def write_json(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.scrubbed().to_dict(), indent=2, ensure_ascii=False)
        path.write_text(text + "\n", encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: Path) -> RunResult:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise UsageError(f"{path}: cannot read results: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise UsageError(f"{path}: not a results file (expected format {FORMAT!r})")
        try:
            return cls.from_dict(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise UsageError(f"{path}: malformed results: {exc!r}") from exc
