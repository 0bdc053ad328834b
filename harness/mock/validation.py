"""Request validation for the mock: JSON, schema (with the provider's dialect) and media.

Each problem becomes a :class:`Problem` (status, message naming the field, JSON pointer) that
the protocol's error renderer turns into that provider's error body. Messages are built here
rather than taken from jsonschema verbatim because jsonschema repeats the offending value, and
the mock must never echo a 10 MB base64 payload (or a key) back to the client.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jsonschema
from jsonschema.exceptions import ValidationError

from harness import media, schemas
from harness.mock import accept, base64_pattern

MAX_ECHO = 80  # characters of a client value a message may quote


@dataclass(frozen=True, slots=True)
class Problem:
    status: int
    message: str
    param: str | None = None


@dataclass(frozen=True, slots=True)
class MediaItem:
    """One media string inside a request, where it sits and what it should be."""

    pointer: str
    value: str
    kind: media.MediaKind
    declared_mime: str | None = None  # from a sibling field, e.g. Anthropic's media_type


def short(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= MAX_ECHO else f"{text[:MAX_ECHO]}... ({len(text)} chars)"


def _brief(instance: Any) -> str:
    """A constant-time description of a value, for messages built while validating."""
    if isinstance(instance, str):
        return short(instance)
    if isinstance(instance, (dict, list)):
        return f"{type(instance).__name__} of {len(instance)}"
    return repr(instance)


class AdvisoryError(ValidationError):
    """A broken ``x-advisory`` limit: one no source document states. Leniently it is reported
    (a header, a warning) and the request accepted; strictly it is an ordinary error."""


def _real(errors: list[ValidationError], strict: bool) -> list[ValidationError]:
    return errors if strict else [e for e in errors if not isinstance(e, AdvisoryError)]


def _alternatives(keyword: str, strict: bool) -> Any:
    one = keyword == "oneOf"

    def check(validator: Any, alternatives: list[Any], instance: Any, schema: Any) -> Any:
        errors: list[ValidationError] = []
        advisories: list[ValidationError] = []
        valid: list[int] = []
        for index, subschema in enumerate(alternatives):
            found = list(validator.descend(instance, subschema, schema_path=index))
            if _real(found, strict):
                errors.extend(found)
                continue
            valid.append(index)  # a branch broken only in advisory limits still matches
            advisories = advisories or found
            if not one or len(valid) > 1:
                break
        if not valid:
            yield ValidationError(f"{_brief(instance)} is not valid under any of the given "
                                  "schemas", context=errors)
        elif len(valid) > 1:
            yield ValidationError(f"{_brief(instance)} is valid under each of {valid}")
        else:
            yield from advisories

    return check


def _bounded(kind: str, size: Any, failed: Any, words: str) -> Any:
    def check(validator: Any, bound: Any, instance: Any, schema: Any) -> Any:
        if validator.is_type(instance, kind) and failed(size(instance), bound):
            yield ValidationError(f"{_brief(instance)} {words} {bound}")

    return check


def _type(validator: Any, types: Any, instance: Any, schema: Any) -> Any:
    types = types if isinstance(types, list) else [types]
    if not any(validator.is_type(instance, t) for t in types):
        yield ValidationError(f"{_brief(instance)} is not of type {', '.join(map(repr, types))}")


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Any:
    if not validator.is_type(instance, "string"):
        return
    head = base64_pattern.base64_head(pattern)
    ok = re.search(pattern, instance) if head is None else base64_pattern.matches_base64(head, instance)
    if not ok:
        yield ValidationError(f"{_brief(instance)} does not match {pattern!r}")


def _enum(validator: Any, enums: list[Any], instance: Any, schema: Any) -> Any:
    if all(not jsonschema._utils.equal(each, instance) for each in enums):
        yield ValidationError(f"{_brief(instance)} is not one of {enums!r}")


# jsonschema formats every error message with repr() of the instance as it validates, also
# inside oneOf branches that are expected to fail: with a 10 MB image in the request, each
# of those copied 13 MB (a quarter of a second and 8x the payload in memory per request).
# These keywords do the same checks with messages of constant size.
_LEAN = {"type": _type, "pattern": _pattern, "enum": _enum,
         "minLength": _bounded("string", len, lambda n, b: n < b, "is shorter than"),
         "maxLength": _bounded("string", len, lambda n, b: n > b, "is longer than"),
         "minItems": _bounded("array", len, lambda n, b: n < b, "has fewer items than"),
         "maxItems": _bounded("array", len, lambda n, b: n > b, "has more items than"),
         "minProperties": _bounded("object", len, lambda n, b: n < b, "has fewer keys than"),
         "maxProperties": _bounded("object", len, lambda n, b: n > b, "has more keys than")}


def _advisory(validator: Any, spec: Any, instance: Any, schema: Any) -> Any:
    """``x-advisory: {limits: {maxLength: 4096}, why}``: each limit checked as its keyword
    would be, its errors marked advisory (the keyword and bound kept, so a strict message is
    the one the plain keyword gave)."""
    for keyword, bound in (spec.get("limits") or {}).items():
        check = validator.VALIDATORS.get(keyword)
        for error in (check(validator, bound, instance, schema) or ()) if check else ():
            yield AdvisoryError(error.message, validator=keyword, validator_value=bound,
                                instance=instance, schema=schema)


def _validator_class(strict: bool) -> Any:
    return jsonschema.validators.extend(jsonschema.Draft7Validator, {
        **_LEAN, "oneOf": _alternatives("oneOf", strict), "anyOf": _alternatives("anyOf", strict),
        "x-advisory": _advisory})


LeanValidator = _validator_class(strict=False)
StrictValidator = _validator_class(strict=True)


def _without_dialect(node: Any) -> Any:
    # A nested "$schema" would make jsonschema switch back to its own Draft7Validator.
    if isinstance(node, list):
        return [_without_dialect(n) for n in node]
    if isinstance(node, dict):
        return {k: _without_dialect(v) for k, v in node.items() if k not in ("$schema", "$id")}
    return node


@lru_cache(maxsize=64)
def _validator(name: str, overlay_json: str, strict: bool = False) -> jsonschema.Draft7Validator:
    """``name`` (with its dialect) inlined into one schema, checked with the lean keywords."""
    schema = schemas.resolved(name, json.loads(overlay_json) if overlay_json else None)
    cls = StrictValidator if strict else LeanValidator
    return cls(_without_dialect(schema),  # type: ignore[no-any-return]
               format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)


def pointer_of(error: jsonschema.ValidationError) -> str:
    return "/" + "/".join(str(p) for p in error.absolute_path) if error.absolute_path else ""


def describe_error(error: jsonschema.ValidationError) -> str:
    """A one-line message naming the field, never quoting more than MAX_ECHO characters."""
    where = pointer_of(error) or "body"
    kw, expected = error.validator, error.validator_value
    if kw == "required":
        missing = [k for k in expected if isinstance(error.instance, dict) and k not in error.instance]
        return f"{where}: missing required field {missing[0] if missing else expected!r}"
    if kw == "additionalProperties":
        return f"{where}: {short(error.message)}"
    if kw in ("enum", "const"):
        choices = expected if kw == "enum" else [expected]
        return f"{where}: {short(error.instance)} is not one of {short(choices)}"
    if kw == "type":
        return f"{where}: expected {expected}, got {type(error.instance).__name__}"
    if kw in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return f"{where}: {short(error.instance)} is out of range ({kw} {expected})"
    if kw in ("oneOf", "anyOf"):
        return _describe_alternatives(error, where)
    return f"{where}: {kw} {short(expected)} not satisfied by {short(error.instance)}"


def describe_advisory(error: jsonschema.ValidationError) -> str:
    """An advisory limit a request broke, as the client is told it: ASCII, no client value."""
    bound = "false" if error.validator_value is False else short(error.validator_value)
    where = field_of(error) if error.validator == "additionalProperties" else pointer_of(error)
    return f"{where or 'body'}: {error.validator} {bound} (unsourced limit, not enforced)"


def _depth(error: jsonschema.ValidationError) -> int:
    return max([len(error.absolute_path), *(_depth(e) for e in error.context or ())])


def _describe_alternatives(error: jsonschema.ValidationError, where: str) -> str:
    """Explain a failed oneOf/anyOf by the branch the instance was meant for: not one whose
    discriminator (a ``const`` on a direct field, like ``type`` or ``role``) refused it, and
    among the others the one whose errors reach deepest. jsonschema's best_match prefers the
    shallowest error instead, which names the discriminator of a branch nobody meant."""
    branches: dict[Any, list[jsonschema.ValidationError]] = {}
    for e in error.context or ():
        branches.setdefault(e.relative_schema_path[0], []).append(e)
    if not branches:  # a oneOf that more than one branch accepted
        return f"{where}: matches more than one allowed form"
    level = len(error.absolute_path) + 1
    refused = [next((e for e in errs if e.validator == "const" and len(e.absolute_path) == level),
                    None) for errs in branches.values()]
    meant = [errs for errs, r in zip(branches.values(), refused, strict=True) if r is None]
    if meant:
        return describe_error(_best(max(meant, key=lambda es: max(map(_depth, es)))))
    consts = [r for r in refused if r is not None]
    if len({pointer_of(r) for r in consts}) == 1:  # every branch refused the same field's value
        allowed = [r.validator_value for r in consts]
        return f"{pointer_of(consts[0])}: {short(consts[0].instance)} is not one of {short(allowed)}"
    return describe_error(_best(list(error.context or ())))


def _best(errors: list[jsonschema.ValidationError]) -> jsonschema.ValidationError:
    best = jsonschema.exceptions.best_match(errors)
    assert best is not None  # only called with errors
    return best


def schema_problem(instance: Any, name: str, overlay: Mapping[str, Any] | None,
                   status: int = 400, *, strict: bool = False,
                   advisories: list[str] | None = None) -> Problem | None:
    """The most relevant schema violation, or None. An unknown model answers 404.

    A compiled validator answers requests valid even under the advisory limits
    (:mod:`harness.mock.accept`); the explaining one below runs only on the others, so every
    request is walked once when it is valid. Unless ``strict``, a broken ``x-advisory`` limit
    is not a violation: it is described into ``advisories`` (when given) and the instance
    passes."""
    key = accept.overlay_key(overlay)
    if accept.accepts(instance, name, key):
        return None
    found = list(_validator(name, key, strict).iter_errors(instance))
    if not strict:
        if advisories is not None:
            advisories.extend(describe_advisory(e) for e in found if isinstance(e, AdvisoryError))
        found = _real(found, strict)
    error = jsonschema.exceptions.best_match(found)
    if error is None:
        return None
    pointer = pointer_of(error)
    if pointer == "/model" and error.validator == "enum":
        return Problem(404, f"model {short(error.instance)} does not exist; available: "
                            f"{', '.join(map(str, error.validator_value))}", "model")
    return Problem(status, describe_error(error), field_of(error) or None)


def field_of(error: jsonschema.ValidationError) -> str:
    """The dotted field a violation is about; for a missing or unexpected key, that key
    (``image_urls.0``, ``prompt``), as FastAPI's ``loc`` and OpenAI's ``param`` name it."""
    parts = [str(p) for p in error.absolute_path]
    instance = error.instance if isinstance(error.instance, dict) else {}
    if error.validator == "required":
        parts += [k for k in error.validator_value if k not in instance][:1]
    elif error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        parts += [k for k in instance if k not in allowed][:1]
    return ".".join(parts)


def media_payloads(items: Iterable[MediaItem], limits: Mapping[str, media.MediaLimits],
                   provider: str, status: int = 400, *,
                   advisory: Mapping[str, media.MediaLimits] | None = None,
                   advisories: list[str] | None = None) -> list[media.Payload] | Problem:
    """Each item parsed (decoded once, for the checks and the caller), or the first problem.

    ``advisory`` limits (no document states them) never refuse: what they would have refused
    is described into ``advisories``."""
    items = list(items)
    if not items:  # a text-only request: nothing to count or decode
        return []
    advisory = advisory or {}
    notes = advisories if advisories is not None else []
    for kind in (media.MediaKind.IMAGE, media.MediaKind.VIDEO):
        n = sum(1 for i in items if i.kind is kind)
        lim, soft = limits.get(kind.value), advisory.get(kind.value)
        for finding in media.check_count(n, lim, provider=provider) if lim and n else ():
            return Problem(status, f"too many {kind.value}s: {finding.message}")
        notes.extend(f"{kind.value}s: {f.message} (unsourced limit, not enforced)"
                     for f in (media.check_count(n, soft, provider=provider) if soft and n else ()))
    payloads = []
    for item in items:
        lim = limits.get(item.kind.value) or media.MediaLimits()
        value = item.value
        if item.declared_mime and not value.startswith(("data:", "http://", "https://")):
            value = f"data:{item.declared_mime};base64,{value}"
        try:
            parsed: media.Payload | None = media.parse(value, base64_pattern.predecoded)
        except media.MediaError:
            parsed = None  # check() parses again and reports why, naming the offset
        for finding in media.check(value, lim, expect=item.kind, pointer=item.pointer,
                                   provider=provider, parsed=parsed):
            code = 413 if dict(finding.extra).get("rule") == "too-large" else status
            return Problem(code, f"{item.pointer}: {finding.message}",
                           item.pointer.lstrip("/").replace("/", "."))
        assert parsed is not None  # check() reports every unparseable value
        soft = advisory.get(item.kind.value)
        notes.extend(f"{item.pointer}: {f.message} (unsourced limit, not enforced)"
                     for f in (media.check(value, soft, pointer=item.pointer, provider=provider,
                                           parsed=parsed) if soft else ()))
        payloads.append(parsed)
    return payloads
