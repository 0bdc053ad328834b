"""Request bodies from the schemas: valid ones carrying real media, and targeted mutations.

:func:`requests` starts from a request schema (refs inlined by :func:`harness.schemas.resolved`,
the provider's dialect overlay folded in) and rewrites it once: each media field (an
http(s)-or-data-URL ``anyOf``: OpenAI ``image_url.url``/``video_url.url``, WaveSpeed
``image``/``video``, fal ``image_urls[]``/``video_url``; and Anthropic's image ``source``)
becomes a custom format drawn from :mod:`harness.strategies.media`, so generated requests carry
real files rather than random base64; free text is capped at a few characters, arrays at a few
items, and typed objects get only their documented fields. Media fields are found by shape,
not by path, so a new protocol that reuses the shared URL definitions works unchanged. The
structure (closed objects, arrays, oneOf/anyOf) is assembled here with Hypothesis' own
combinators and every leaf goes to :func:`harness.strategies.leaves.leaf` (see
docs/generation.md). Every example is filtered through the schema, so a generator bug
shows up as a health-check failure, never as an invalid "valid" request. :func:`mutations`
breaks exactly one top-level rule of a valid body (drop a required field, a wrong type, a
number out of range, an unknown enum value), so every invalid request has a known cause.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import jsonschema
from hypothesis import strategies as st

from harness import schemas
from harness.errors import UsageError
from harness.providers import Api, Operation, Profile
from harness.strategies.leaves import ITEMS_MAX, leaf
from harness.strategies.media import data_urls, media_urls

TEXT_MAX = 24  # characters of free text (prompts, names): enough to vary, cheap to build
_FORMAT = "vlm-media-"
_ANTHROPIC_SOURCE = "anthropic-image-source"
# Stands in for an object-valued media field until it is filled; longer than any capped text,
# so no generated string can equal it.
_MARKER = "\u2063vlm-media:"
_ANNOTATIONS = frozenset({"description", "title", "examples", "x-source", "x-advisory", "default"})


def _media_kind(names: tuple[str, ...]) -> str:
    return "video" if any("video" in n for n in names[-2:]) else "image"


def _is_media_url(node: dict[str, Any]) -> bool:
    branches = [node, *node.get("anyOf", ()), *node.get("oneOf", ())]
    return any(isinstance(b, dict) and str(b.get("pattern", "")).startswith("^data:")
               for b in branches)


def _is_anthropic_source(node: dict[str, Any]) -> bool:
    return any(isinstance(b, dict) and "media_type" in b.get("properties", {})
               for b in node.get("oneOf", ()))


def _cap(node: dict[str, Any]) -> dict[str, Any]:
    """Keep generated sizes small without excluding anything the schema requires."""
    kinds = node.get("type")
    free = not ({"format", "pattern", "enum", "const"} & node.keys())
    if kinds == "string" and free:
        node["maxLength"] = max(node.get("minLength", 0), min(node.get("maxLength", TEXT_MAX), TEXT_MAX))
    if kinds == "array":
        node["maxItems"] = max(node.get("minItems", 0), min(node.get("maxItems", ITEMS_MAX), ITEMS_MAX))
    # Open objects would get arbitrary extra keys (slow, and noise in every request); closing
    # them narrows generation to the documented fields. A node with oneOf/anyOf/allOf stays
    # open (its branches, closed here, say the rest), and so does an untyped node such as a
    # dialect overlay, which constrains some fields of an object described elsewhere.
    if kinds == "object" and "properties" in node and "additionalProperties" not in node and not (
            {"oneOf", "anyOf", "allOf"} & node.keys()):
        node["additionalProperties"] = False
    return node


def _prepare(node: Any, names: tuple[str, ...] = ()) -> Any:
    """The schema with media fields turned into custom formats and sizes capped."""
    if isinstance(node, list):
        return [_prepare(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    if _is_media_url(node):
        return {"type": "string", "format": _FORMAT + _media_kind(names)}
    if names and names[-1] == "source" and _is_anthropic_source(node):
        return {"type": "string", "format": _FORMAT + _ANTHROPIC_SOURCE}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _ANNOTATIONS:
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: _prepare(sub, (*names, name)) for name, sub in value.items()}
        elif key in ("enum", "const", "required"):
            out[key] = value
        else:
            out[key] = _prepare(value, names)
    return _cap(out)


def _anthropic_source(url: str) -> dict[str, Any]:
    if url.startswith("data:"):
        header, _, data = url.partition(",")
        return {"type": "base64", "media_type": header[5:].split(";")[0], "data": data}
    return {"type": "url", "url": url}


# Anthropic only takes these four image types (its media_type enum).
_ANTHROPIC_URLS = st.one_of(data_urls("image"), media_urls("image")).filter(
    lambda u: not u.startswith("data:") or u.split(";")[0][5:] in (
        "image/jpeg", "image/png", "image/gif", "image/webp"))
FORMATS: dict[str, st.SearchStrategy[str]] = {
    _FORMAT + "image": media_urls("image"),
    _FORMAT + "video": media_urls("video"),
    _FORMAT + _ANTHROPIC_SOURCE: st.just(_MARKER + _ANTHROPIC_SOURCE),
}


def _fill(draw: st.DrawFn, node: Any) -> Any:
    """Replace the markers left by object-valued media fields with drawn media."""
    if isinstance(node, str) and node == _MARKER + _ANTHROPIC_SOURCE:
        return _anthropic_source(draw(_ANTHROPIC_URLS))
    if isinstance(node, list):
        return [_fill(draw, item) for item in node]
    if isinstance(node, dict):
        return {k: _fill(draw, v) for k, v in node.items()}
    return node


@st.composite
def _filled(draw: st.DrawFn, base: st.SearchStrategy[Any]) -> Any:
    return _fill(draw, draw(base))


def _overlay_key(overlay: Mapping[str, Any] | None) -> str:
    return json.dumps(overlay, sort_keys=True) if overlay else ""


_COMBINATORS = frozenset({"oneOf", "anyOf", "allOf"})


def _fold_overlay(node: dict[str, Any]) -> dict[str, Any] | None:
    """``allOf: [object, overlay...]`` as one object whose overlaid fields carry an ``allOf``
    each (leaves the leaf generator merges), or None for any other ``allOf``."""
    base, *overlays = node["allOf"]
    if not (isinstance(base, dict) and "properties" in base and all(
            isinstance(o, dict) and set(o) <= {"properties", "required"} for o in overlays)):
        return None
    out = {k: v for k, v in base.items()}
    props = dict(out["properties"])
    for overlay in overlays:
        for name, sub in overlay.get("properties", {}).items():
            props[name] = {"allOf": [props[name], sub]} if name in props else sub
        out["required"] = sorted({*out.get("required", ()), *overlay.get("required", ())})
    out["properties"] = props
    return out


def _compile(node: Any) -> st.SearchStrategy[Any]:
    """A strategy for a prepared schema: structure (closed objects, arrays, oneOf/anyOf) is
    assembled here once; every other node goes to :func:`~harness.strategies.leaves.leaf`."""
    if not isinstance(node, dict):
        return leaf(node, FORMATS, _compile)
    fmt = node.get("format", "")
    if fmt in FORMATS:
        return FORMATS[fmt]
    keys = set(node)
    if "allOf" in node and (folded := _fold_overlay(node)) is not None:
        return _compile(folded)
    alternatives = node.get("oneOf") or node.get("anyOf")
    if alternatives and not keys & {"allOf"} and not ("oneOf" in node and "anyOf" in node):
        # Each branch on its own; the whole node (outer properties, oneOf exclusivity) filters.
        typed = [{"type": node["type"], **b} if "type" in node and "type" not in b else b
                 for b in alternatives]
        return st.one_of([_compile(b) for b in typed]).filter(_validator(node).is_valid)
    if node.get("type") == "object" and node.get("additionalProperties") is False and not (
            keys & _COMBINATORS) and keys <= {"type", "properties", "required", "additionalProperties"}:
        props, required = node.get("properties", {}), set(node.get("required", ()))
        return st.fixed_dictionaries(
            {k: _compile(v) for k, v in props.items() if k in required},
            optional={k: _compile(v) for k, v in props.items() if k not in required})
    if node.get("type") == "array" and isinstance(node.get("items"), dict) and keys <= {
            "type", "items", "minItems", "maxItems"}:
        return st.lists(_compile(node["items"]), min_size=node.get("minItems", 0),
                        max_size=node.get("maxItems"))
    return leaf(node, FORMATS, _compile)


def _validator(node: dict[str, Any]) -> jsonschema.Draft7Validator:
    return jsonschema.Draft7Validator(node)


@cache
def _valid(name: str, overlays_json: str) -> st.SearchStrategy[Any]:
    overlays = json.loads(overlays_json) if overlays_json else []
    node = schemas.resolved(name)
    if overlays:
        node = {"allOf": [node, *map(schemas.strip_annotations, overlays)]}
    prepared = _prepare(node)
    return _filled(_compile(prepared).filter(_validator(prepared).is_valid))


def _overlays(name: str, profile: Profile | None, models: Sequence[str] | None) -> str:
    """The dialect overlay, plus a pin of ``model`` to ``models`` when the schema has one."""
    out = [o for o in [profile.overlay(name) if profile else None] if o]
    if models and "model" in schemas.resolved(name).get("properties", {}):
        out.append({"properties": {"model": {"enum": list(models)}}})
    return json.dumps(out, sort_keys=True) if out else ""


def request_schema(api: Api, endpoint_or_schema: str | Operation) -> str:
    """The request schema name behind a schema name, an operation, an endpoint name
    (``chat``; the first model's for per-model endpoints) or an operation key
    (``submit:fal-ai/mini-cpm/video``)."""
    if isinstance(endpoint_or_schema, Operation):
        op: Operation | None = endpoint_or_schema
    elif endpoint_or_schema in schemas.names():
        return endpoint_or_schema
    else:
        op = next((o for o in api.operations() if o.request and endpoint_or_schema in (
            o.key, o.endpoint.name)), None)
    if op is None or op.request is None:
        known = sorted({o.key for o in api.operations() if o.request})
        raise UsageError(f"{api.provider} {api.protocol.name}: no request body for "
                         f"{endpoint_or_schema!r}; known: {', '.join(known)}")
    return op.request


def requests(profile: Profile, api: Api, endpoint_or_schema: str | Operation, *,
             valid: bool = True, any_model: bool = False) -> st.SearchStrategy[Any]:
    """Request bodies for ``endpoint_or_schema`` on ``api`` as ``profile`` accepts them:
    valid (with real media), or invalid by exactly one targeted mutation. A ``model`` field
    takes one of the profile's models unless ``any_model`` (any string the schema allows:
    a provider may then answer 404, as documented)."""
    name = request_schema(api, endpoint_or_schema)
    models = None if any_model else list(api.models)
    if not valid:
        return mutations(name, profile, models=models).map(lambda m: m.body)
    return _valid(name, _overlays(name, profile, models))


# --- mutations ----------------------------------------------------------------------------

MUTATION_KINDS = ("missing-required", "wrong-type", "out-of-range", "unknown-enum")
_OTHER_TYPES: tuple[Any, ...] = (None, True, 7, 2.5, "x", [], {})
UNKNOWN_VALUE = "vlm-harness-unknown-value"


@dataclass(frozen=True, slots=True)
class Mutation:
    """A body that breaks one rule: ``kind`` at top-level ``field``."""

    kind: str
    field: str
    body: Any


@dataclass(frozen=True, slots=True)
class _Plan:
    kind: str
    field: str
    values: tuple[Any, ...] = ()  # empty for missing-required


def _rejects(schema: dict[str, Any], value: Any) -> bool:
    return not jsonschema.Draft7Validator(schema).is_valid(value)


def _out_of_range(prop: dict[str, Any]) -> list[Any]:
    step = 1 if prop.get("type") == "integer" else 0.5
    values = []
    if "minimum" in prop:
        values.append(prop["minimum"] - step)
    if "maximum" in prop:
        values.append(prop["maximum"] + step)
    for key in ("exclusiveMinimum", "exclusiveMaximum"):
        if isinstance(prop.get(key), int | float) and not isinstance(prop[key], bool):
            values.append(prop[key])
    return values


@cache
def _plans(name: str, overlay_json: str) -> tuple[_Plan, ...]:
    base = schemas.resolved(name)
    overlay = json.loads(overlay_json) if overlay_json else {}
    props: dict[str, Any] = base.get("properties", {})
    extra: dict[str, Any] = overlay.get("properties", {})
    plans = [_Plan("missing-required", f) for f in base.get("required", ())]
    for field, prop in props.items():
        if wrong := tuple(v for v in _OTHER_TYPES if _rejects(prop, v)):
            plans.append(_Plan("wrong-type", field, wrong))
        # Out of range or out of the enum, but of the right type: one rule broken, no more.
        if ranged := tuple(v for v in _out_of_range(prop) if _rejects(prop, v)):
            plans.append(_Plan("out-of-range", field, ranged))
        enum = [*prop.get("enum", ()), *extra.get(field, {}).get("enum", ())]
        if enum and all(isinstance(e, str) for e in enum):
            plans.append(_Plan("unknown-enum", field, (UNKNOWN_VALUE,)))
    return tuple(plans)


def mutation_plans(schema_name: str, profile: Profile | None = None) -> list[tuple[str, str]]:
    """``(kind, field)`` of every mutation :func:`mutations` can make for ``schema_name``."""
    overlay = profile.overlay(schema_name) if profile else None
    return [(p.kind, p.field) for p in _plans(schema_name, _overlay_key(overlay))]


def _apply(body: Any, plan: _Plan, value: Any) -> Mutation:
    out = copy.deepcopy(body)
    if plan.kind == "missing-required":
        out.pop(plan.field, None)
    else:
        out[plan.field] = value
    return Mutation(plan.kind, plan.field, out)


def mutations(schema_name: str, profile: Profile | None = None, *,
              kinds: tuple[str, ...] = MUTATION_KINDS,
              models: Sequence[str] | None = None) -> st.SearchStrategy[Mutation]:
    """Valid bodies of ``schema_name`` (with ``profile``'s dialect; ``model`` one of
    ``models`` when given) each broken in exactly one way."""
    overlay_json = _overlay_key(profile.overlay(schema_name) if profile else None)
    plans = [p for p in _plans(schema_name, overlay_json) if p.kind in kinds]
    if not plans:
        raise UsageError(f"{schema_name}: no mutation of kind {', '.join(kinds)} applies")
    valid = _valid(schema_name, _overlays(schema_name, profile, models))

    def one(plan: _Plan) -> st.SearchStrategy[Mutation]:
        value = st.sampled_from(plan.values) if plan.values else st.none()
        return st.builds(lambda b, v: _apply(b, plan, v), valid, value)

    return st.sampled_from(plans).flatmap(one)
