"""Fixtures of the property tests: the in-process mock as a target, and the contract verdict.

``prop_target`` is one :class:`~harness.targets.mock.MockTarget` per module (the mock's stores
are bounded, so a few hundred generated requests keep it flat). ``contract_errors(target,
probe, exchange)`` runs every exchange check of the registry on one exchange, as the engine
does after each scenario, and returns the error messages; an empty list means the answer kept
the contract. The tests choose their Hypothesis settings explicitly (``settings_for("ci")``)
rather than loading a profile process-wide, so other test folders are unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from harness.checks.exchange import Exchange, Probe
from harness.checks.registry import CheckContext, registered
from harness.secrets import Scrubber
from harness.targets.base import Target
from harness.targets.mock import MockTarget

ContractErrors = Callable[[Target, Probe, Exchange], list[str]]


@pytest.fixture(scope="module")
def prop_target() -> Iterator[MockTarget]:
    target = MockTarget()
    yield target
    target.close()


def exchange_errors(target: Target, probe: Probe, ex: Exchange) -> list[str]:
    out = []
    for spec in registered().values():
        if spec.kind == "exchange" and spec.applies(probe.api):
            ctx = CheckContext(target, probe.profile, probe.api, probe, Scrubber(()), check=spec.name)
            out += [f"{spec.name}: {f.message}" for f in spec.fn(ex, ctx) if f.is_error]
    return out


@pytest.fixture
def contract_errors() -> ContractErrors:
    return exchange_errors
