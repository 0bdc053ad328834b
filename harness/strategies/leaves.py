"""Hypothesis strategies for the leaves of a request schema: scalars, enums, consts, patterns.

:mod:`harness.strategies.bodies` assembles the structure of a request (closed objects, arrays,
``oneOf``/``anyOf``) itself and hands every other node here. Our schemas are written in a small,
lint-enforced subset (``type``, ``const``, ``enum``, string lengths and one ``pattern``, numeric
bounds, dialect overlays as leaf ``allOf``), so a few lines of Hypothesis cover them exactly;
that replaced hypothesis-jsonschema, which stopped at draft-07 and pinned Hypothesis to an old
release that broke schemathesis. A node this module does not model raises :class:`UsageError`
naming the keyword, so a schema that outgrows the subset is noticed when its strategy is built,
not by an invalid "valid" request (bodies also filters every example through the schema).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from harness.errors import UsageError

# Keywords a leaf may carry; anything else is outside the subset the generator models.
_MODELLED = frozenset({"type", "const", "enum", "minLength", "maxLength", "pattern", "format",
                       "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "allOf",
                       "items", "minItems", "maxItems", "properties", "required",
                       "additionalProperties", "oneOf", "anyOf"})
Sub = Callable[[Any], st.SearchStrategy[Any]]
ITEMS_MAX = 3  # items of an array without a tighter bound
_TYPES = ("null", "boolean", "integer", "number", "string", "array", "object")
# Free text without control characters or surrogates: readable requests, valid JSON anywhere.
_TEXT = st.characters(codec="utf-8", categories=["L", "M", "N", "P", "S", "Zs"])


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One node with the tightest bound of each keyword of an ``allOf`` of leaves."""
    out: dict[str, Any] = {}
    for part in parts:
        for key, value in part.items():
            if key not in out:
                out[key] = value
            elif key in ("minimum", "minLength", "minItems", "exclusiveMinimum"):
                out[key] = max(out[key], value)
            elif key in ("maximum", "maxLength", "maxItems", "exclusiveMaximum"):
                out[key] = min(out[key], value)
            elif key == "enum":
                out[key] = [v for v in out[key] if v in value]
            elif key == "type":
                left = {out[key]} if isinstance(out[key], str) else set(out[key])
                right = {value} if isinstance(value, str) else set(value)
                out[key] = sorted(left & right)
            # Two patterns or two consts: the first generates, the caller's filter keeps what
            # fits both.
    return out


def _numbers(node: dict[str, Any], integer: bool) -> st.SearchStrategy[Any]:
    low, high = node.get("minimum"), node.get("maximum")
    xlow, xhigh = node.get("exclusiveMinimum"), node.get("exclusiveMaximum")
    if integer:
        if xlow is not None:
            low = max(low, math.floor(xlow) + 1) if low is not None else math.floor(xlow) + 1
        if xhigh is not None:
            high = min(high, math.ceil(xhigh) - 1) if high is not None else math.ceil(xhigh) - 1
        return st.integers(None if low is None else math.ceil(low),
                           None if high is None else math.floor(high))
    if xlow is not None and (low is None or xlow >= low):
        low, open_low = xlow, True
    else:
        open_low = False
    if xhigh is not None and (high is None or xhigh <= high):
        high, open_high = xhigh, True
    else:
        open_high = False
    return st.floats(low, high, exclude_min=open_low, exclude_max=open_high,
                     allow_nan=False, allow_infinity=False)


def _strings(node: dict[str, Any], formats: dict[str, st.SearchStrategy[str]]
             ) -> st.SearchStrategy[str]:
    if node.get("format") in formats:
        return formats[node["format"]]
    low, high = node.get("minLength", 0), node.get("maxLength")
    if "pattern" in node:  # patterns are searches (ECMA semantics), not full matches
        found = st.from_regex(node["pattern"], fullmatch=False, alphabet=_TEXT)
        return found.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))
    return st.text(_TEXT, min_size=low, max_size=high)


def _typed(kind: str, node: dict[str, Any], formats: dict[str, st.SearchStrategy[str]],
           sub: Sub) -> st.SearchStrategy[Any]:
    if kind == "null":
        return st.none()
    if kind == "boolean":
        return st.booleans()
    if kind in ("integer", "number"):
        return _numbers(node, kind == "integer")
    if kind == "string":
        return _strings(node, formats)
    if kind == "array":
        low = node.get("minItems", 0)
        return st.lists(sub(node.get("items", True)), min_size=low,
                        max_size=max(low, min(node.get("maxItems", ITEMS_MAX), ITEMS_MAX)))
    props, required = node.get("properties", {}), set(node.get("required", ()))
    return st.fixed_dictionaries({k: sub(v) for k, v in props.items() if k in required},
                                 optional={k: sub(v) for k, v in props.items() if k not in required})


def leaf(node: Any, formats: dict[str, st.SearchStrategy[str]], sub: Sub | None = None
         ) -> st.SearchStrategy[Any]:
    """Values of ``node`` (a schema leaf, or a node :mod:`bodies` does not assemble itself);
    ``sub`` builds the strategy of a child schema (default: this function). The caller filters
    the result through the schema, which settles what a merged ``allOf`` leaves open."""
    sub = sub or (lambda child: leaf(child, formats))
    if node is True or node == {} or node == {"allOf": []}:
        return st.none() | st.booleans() | st.integers() | st.text(_TEXT, max_size=8)
    if not isinstance(node, dict):
        raise UsageError(f"schema node {node!r}: not a schema the request generator models")
    unknown = sorted(set(node) - _MODELLED)
    if unknown:
        raise UsageError(f"schema keyword {unknown[0]!r} is outside the subset the request "
                         f"generator models (harness/strategies/leaves.py)")
    if "allOf" in node:
        parts = [{k: v for k, v in node.items() if k != "allOf"}, *node["allOf"]]
        if not all(isinstance(p, dict) for p in parts):
            raise UsageError(f"schema allOf {node['allOf']!r}: not a list of schemas")
        return leaf(_merge(parts), formats, sub)
    for key in ("oneOf", "anyOf"):
        if key in node:
            rest = {k: v for k, v in node.items() if k != key}
            return st.one_of([leaf(_merge([rest, branch]), formats, sub) for branch in node[key]])
    if "const" in node:
        return st.just(node["const"])
    if "enum" in node:
        return st.sampled_from(node["enum"]) if node["enum"] else st.nothing()
    kinds = node.get("type", list(_TYPES[:5]))
    kinds = [kinds] if isinstance(kinds, str) else kinds
    return st.one_of([_typed(k, node, formats, sub) for k in kinds])
