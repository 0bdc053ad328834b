"""Reporting: the run results model and its writers (results.json, JUnit XML, the HTML page).

Everything that runs checks writes into :class:`~harness.report.results.RunResult`; the writers
only read it. :mod:`~harness.report.results` is the contract other packages code against,
:mod:`~harness.report.junit` feeds CI dashboards and :mod:`~harness.report.html` renders the
self-contained page that ``vlm-harness report`` writes. Every writer scrubs keys on the way out.
"""

from __future__ import annotations

from harness.report.results import (
    CAPABILITIES,
    CaseResult,
    Outcome,
    RunMeta,
    RunResult,
    schema_version,
)

__all__ = ["CAPABILITIES", "CaseResult", "Outcome", "RunMeta", "RunResult", "schema_version"]
