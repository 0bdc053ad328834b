"""Diff two versions of an OpenAPI document, operation by operation.

Operations are matched by method and path. Parameters are compared by location and name (a new
required parameter breaks callers); the JSON ``requestBody`` schema is compared as something
the client *sends* and each documented response schema as something it *receives*, with the
direction-aware rules of :mod:`~harness.drift.schema_diff`. A success status that is no longer
documented is breaking; a new status is additive with a warning.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.drift.classify import Change
from harness.drift.schema_diff import WARN, A, B, C, Direction, compare_schemas
from harness.drift.schema_walk import Resolver, flatten

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")


def _json_schema(container: Any) -> Any:
    content = container.get("content") if isinstance(container, dict) else None
    if not isinstance(content, dict) or not content:
        return None
    media = content.get("application/json") or next(iter(content.values()))
    return media.get("schema") if isinstance(media, dict) else None


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    ops = {}
    for path, item in (doc.get("paths") or {}).items():
        for method, op in (item or {}).items():
            if method in METHODS:
                params = list(item.get("parameters", [])) + list(op.get("parameters", []))
                ops[f"{method.upper()} {path}"] = {**op, "parameters": params}
    return ops


def diff_openapi(old_path: Path, new_path: Path, old: dict[str, Any],
                 new: dict[str, Any]) -> list[Change]:
    resolver, out = Resolver(), []
    before, after = _operations(old), _operations(new)
    for key in sorted(set(before) - set(after)):
        out.append(Change(B, key, "operation removed; stop calling it", key, None))
    for key in sorted(set(after) - set(before)):
        out.append(Change(A, key, "new operation available", None, key))
    for key in sorted(set(before) & set(after)):
        o, n = before[key], after[key]
        o_params = {(p.get("in"), p.get("name")): p for p in o["parameters"] if "name" in p}
        n_params = {(p.get("in"), p.get("name")): p for p in n["parameters"] if "name" in p}
        for where, name in sorted(set(o_params) - set(n_params)):
            out.append(Change(B, f"{key} {where}:{name}", "parameter removed", name, None))
        for pk in sorted(set(n_params)):
            was, now = o_params.get(pk), n_params[pk]
            if now.get("required") and not (was or {}).get("required"):
                out.append(Change(B, f"{key} {pk[0]}:{pk[1]}", "parameter now required; send it",
                                  "optional" if was else None, "required"))
            elif was is None:
                out.append(Change(A, f"{key} {pk[0]}:{pk[1]}", "new optional parameter", None,
                                  pk[1]))
        o_body, n_body = _json_schema(o.get("requestBody")), _json_schema(n.get("requestBody"))
        if o_body is not None and n_body is not None:
            out += compare_schemas(flatten(o_body, old_path, resolver),
                                   flatten(n_body, new_path, resolver), Direction.REQUEST,
                                   f"{key} request")
        o_resp, n_resp = o.get("responses") or {}, n.get("responses") or {}
        for status in sorted(set(o_resp) | set(n_resp), key=str):
            label = f"{key} {status}"
            if status not in n_resp:
                ok = str(status).startswith("2")
                out.append(Change(B if ok else C, label, "response no longer documented",
                                  str(status), None))
            elif status not in o_resp:
                out.append(Change(A, label, f"new response status{WARN}", None, str(status)))
            elif (os_ := _json_schema(o_resp[status])) is not None and (
                    ns := _json_schema(n_resp[status])) is not None:
                out += compare_schemas(flatten(os_, old_path, resolver),
                                       flatten(ns, new_path, resolver), Direction.RESPONSE, label)
    return out
