"""Unit tests of harness.strategies.leaves: every value fits its leaf, the subset is enforced."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.errors import UsageError
from harness.strategies.leaves import leaf

LEAVES: list[dict[str, Any]] = [
    {"type": "integer", "minimum": 1, "maximum": 4},
    {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 3},
    {"type": "number", "exclusiveMinimum": 0, "maximum": 2},
    {"type": ["string", "null"], "maxLength": 5},
    {"type": "string", "pattern": "^[A-Za-z0-9.+-]+/[A-Za-z0-9.+-]+", "maxLength": 40},
    {"enum": ["low", "high"]},
    {"const": "text"},
    # A dialect overlay on a field: the tightest bound of each keyword wins.
    {"allOf": [{"type": "integer", "minimum": 0, "maximum": 100}, {"maximum": 8}]},
    {"allOf": [{"type": "string", "maxLength": 24}, {"enum": ["a-model", "b-model"]}]},
    {"type": "array", "items": {"type": "boolean"}, "minItems": 1},
]


@pytest.mark.parametrize("node", LEAVES, ids=[str(i) for i in range(len(LEAVES))])
def test_values_fit_the_leaf(node: dict[str, Any]) -> None:
    check = jsonschema.Draft7Validator(node)

    @settings(max_examples=30, deadline=None, database=None,
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(leaf(node, {}))
    def fits(value: Any) -> None:
        assert check.is_valid(value), value

    fits()


def test_a_custom_format_is_drawn_from_its_strategy() -> None:
    @settings(max_examples=5, database=None)
    @given(leaf({"type": "string", "format": "x-media"}, {"x-media": st.just("data:,1")}))
    def drawn(value: str) -> None:
        assert value == "data:,1"

    drawn()


def test_a_keyword_outside_the_subset_is_named() -> None:
    with pytest.raises(UsageError, match="'multipleOf' is outside the subset"):
        leaf({"type": "integer", "multipleOf": 3}, {})
