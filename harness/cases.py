"""One pytest item per contract case: ``test_contract = harness.contract(...).parametrize()``.

Where ``vlm_contract`` runs the whole suite as one test, this module lets pytest see each case
(scenario check × provider API, see :class:`harness.engine.Case`) as an item of its own, with a
stable readable id (``test_contract[mimo-anthropic-messages-sse-framing]``), so ``-k``, ``--lf``,
``-x``, markers, pytest's JUnit and pytest-xdist work as on any test. The plugin parametrizes
every test that asks for the ``vlm_case`` fixture (settings from the command line, ``vlm``
markers and the ini file, as for the other fixtures); :class:`CaseRun` runs one case, turns
*not offered* and target skips into pytest skips with the reason and error findings into a
failure that lists each distinct finding once with its count, and hands the rows to the plugin
(through the report's ``user_properties``, which xdist carries to the controller) so one merged
``results.json`` / JUnit / HTML report is written at session end.
"""

from __future__ import annotations

import json
import platform
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.engine import Case
    from harness.report.results import CaseResult, RunResult
    from harness.suite import VlmConfig
    from harness.targets.base import Target

PROPERTY = "vlm_case"  # the user_properties key the rows travel under


@dataclass(frozen=True, slots=True)
class Contract:
    """Settings for a parametrized contract test (``target=``, ``provider=``, ``checks=``...)."""

    settings: dict[str, Any]

    def parametrize(self) -> Callable[..., None]:
        """A test function with one item per case; assign it to a ``test_*`` name."""

        def test_contract(vlm_case: CaseRun) -> None:
            vlm_case.check()

        marked: Callable[..., None] = pytest.mark.vlm(**self.settings)(test_contract)
        return marked


def contract(**settings: Any) -> Contract:
    """``test_contract = harness.contract(target="url", provider="mimo").parametrize()``.
    Unknown settings are refused here, at import time, with the known ones listed."""
    from harness.suite import VlmConfig

    VlmConfig().replace(**settings)
    return Contract(dict(settings))


def collect(settings: VlmConfig) -> list[Case]:
    """The cases a test with ``settings`` parametrizes over, in run order."""
    from harness import engine

    return engine.collect_cases(settings.provider, settings.checks)


def findings_message(rows: Iterable[CaseResult]) -> str:
    """Each cause of the error findings once (:mod:`harness.report.groups`), with how often it
    was seen and where it points: one line for a finding repeated on every stream chunk."""
    from harness.report.groups import group
    from harness.secrets import Scrubber

    errors = ((row.provider, row.endpoint, f) for row in rows for f in row.findings if f.is_error)
    lines = [f"{g.check} on {g.endpoint}: "
             + (f"{g.count} × {g.cause}" if g.count > 1 else g.examples[0].message)
             + (f" (schema {g.schema_pointer})" if g.schema_pointer else "") for g in group(errors)]

    return Scrubber.from_env().text("\n".join(lines))


@dataclass
class CaseRun:
    """What a ``vlm_case`` test holds: the case, its settings and target, and the item."""

    case: Case
    settings: VlmConfig
    target: Target
    item: pytest.Item

    def run(self) -> list[CaseResult]:
        """The rows of this case (also handed to the session's merged report)."""
        from harness import engine

        plan = engine.Plan(target=self.target, provider_spec=self.settings.provider,
                           check_spec=self.settings.checks, seed=self.settings.seed,
                           check_timeout_s=self.settings.check_timeout)
        rows = engine.run_case(plan, engine.on_target(self.case, self.target))
        if self.settings.waiver:  # the project's known deviations do not fail the item
            from harness import waivers

            rows = list(waivers.waive(rows, self.settings.waiver)[0])
        self.item.user_properties.append((PROPERTY, json.dumps({
            "target": self.target.kind.value, "seed": self.settings.seed,
            "provider": self.case.profile.name, "rows": [r.to_dict() for r in rows]})))
        return rows

    def check(self) -> None:
        """Run the case; skip with the reason, or fail listing its error findings."""
        __tracebackhide__ = True
        from harness.report.results import Outcome

        rows = self.run()
        head = rows[0]
        if head.outcome in (Outcome.SKIP, Outcome.NOT_OFFERED):
            pytest.skip(f"{head.outcome.value}: {head.reason}")
        if any(f.is_error for row in rows for f in row.findings):
            pytest.fail(findings_message(rows), pytrace=False)


def rows_of(user_properties: Iterable[tuple[str, object]]) -> list[dict[str, Any]]:
    """The case payloads carried by a test report (empty for other tests)."""
    return [json.loads(str(value)) for key, value in user_properties if key == PROPERTY]


def merged_result(payloads: list[dict[str, Any]], *, started: str, command: str) -> RunResult:
    """One run result from the rows of every item, in collection order, rows of a check seen
    by several cases merged as in a whole run."""
    from datetime import UTC, datetime

    from harness import __version__
    from harness.engine import merge_cases
    from harness.report.results import CaseResult, RunMeta, RunResult, schema_version
    from harness.secrets import Scrubber

    rows = [CaseResult.from_dict(r) for p in payloads for r in p["rows"]]
    meta = RunMeta(target=",".join(dict.fromkeys(p["target"] for p in payloads)),
                   started_at=started, finished_at=datetime.now(UTC).isoformat(timespec="seconds"),
                   harness_version=__version__, schema_version=schema_version(),
                   seed=payloads[0]["seed"],
                   providers=tuple(dict.fromkeys(p["provider"] for p in payloads)),
                   python=f"{platform.python_implementation()} {sys.version.split()[0]}",
                   command=Scrubber.from_env().text(command))
    return RunResult(meta=meta, cases=tuple(merge_cases(rows)))
