"""Schemathesis over each provider's OpenAPI document, sent through the suite's own targets.

:mod:`~harness.fuzz.runner` generates and sends the cases and owns ``vlm-harness fuzz``;
:mod:`~harness.fuzz.document` is the document schemathesis reads and the way back from its paths
to our profiles; :mod:`~harness.fuzz.adapters` sends cases through a target and registers our
exchange checks as schemathesis checks; :mod:`~harness.fuzz.rows` turns what was seen into report
rows. The names tests and users need are re-exported here.
"""

from __future__ import annotations

from harness.fuzz.adapters import adapter, exchange_of
from harness.fuzz.document import Route, document, routes
from harness.fuzz.rows import KEPT_PER_ROW
from harness.fuzz.runner import (
    DEFAULT_EXAMPLES,
    FALLBACK_EXAMPLES,
    SCHEMATHESIS_CHECKS,
    command,
    fuzz,
    split,
)

__all__ = ["DEFAULT_EXAMPLES", "FALLBACK_EXAMPLES", "KEPT_PER_ROW", "SCHEMATHESIS_CHECKS",
           "Route", "adapter", "command", "document", "exchange_of", "fuzz",
           "routes", "split"]
