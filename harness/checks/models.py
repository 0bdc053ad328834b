"""The model list: ``GET /models`` names what a client may ask for, and who serves it.

Clients pick a model from ``/models`` (LiteLLM's health checks and the ``openai`` SDK's
``models.list()`` read it), so the list must answer 200 with at least one model, and the
model the suite's requests name should be on it: a server that
answers requests for a model it does not list is a warning, since single-model servers (llama.cpp)
answer any name. A local server also says which program it is through ``owned_by`` (vLLM
``vllm``, SGLang ``sglang``, llama.cpp ``llamacpp``): when that names a flavour of the profile
other than the one the run expects (``--local-flavour``), the flavour's dialect checks would
judge the wrong server, which is said once here rather than as a string of schema findings;
an unflavoured run that meets a known server is told which flavour would check its dialect.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from harness.checks.registry import CheckContext, check
from harness.findings import Finding, Severity


def _listed(body: Any) -> list[dict[str, Any]]:
    data = body.get("data") if isinstance(body, dict) else None
    return [m for m in data if isinstance(m, dict)] if isinstance(data, list) else []


def _flavour_hint(ctx: CheckContext, owners: set[str]) -> str | None:
    """What the owners say about the flavour the run expects, or None when they agree."""
    met = sorted(f.name for f in ctx.profile.flavours.values() if f.owned_by in owners)
    if not met:
        return None
    named = ", ".join(repr(o) for o in sorted(owners))
    expected = ctx.profile.flavour
    if expected is None:
        return (f"the server names itself {named} in /models owned_by: --local-flavour "
                f"{' or '.join(met)} checks its dialect")
    if expected in met:
        return None
    return (f"the run expects the {expected} flavour (--local-flavour) but /models owned_by "
            f"is {named}, the {' or '.join(met)} flavour's: its dialect checks judge the wrong "
            "program")


@check(capability="models", protocols=("openai-chat",))
def model_list(ctx: CheckContext) -> Iterator[Finding]:
    """GET /models answers 200 with a non-empty list that names the model the requests use."""
    ex = ctx.probe.call("models")
    if ex.status != 200:
        yield ctx.finding(f"GET /models answered HTTP {ex.status}, expected 200", exchange=ex)
        return
    listed = _listed(ex.json())
    if not listed:
        yield ctx.finding("GET /models lists no model: a client picking from it has nothing to "
                          "ask for", exchange=ex, instance_pointer="/data")
        return
    # --model aliases are mapped back on the way in, so the list reads in documented names
    asked = ctx.api.default_model()
    ids = [m.get("id") for m in listed]
    if asked not in ids:
        shown = ", ".join(repr(i) for i in ids[:5]) + (", ..." if len(ids) > 5 else "")
        yield ctx.finding(f"requests name the model {asked!r}, which GET /models does not list "
                          f"({shown}); name the served one ({ctx.api.model_env or '--model'})",
                          severity=Severity.WARNING, exchange=ex, instance_pointer="/data")
    hint = _flavour_hint(ctx, {str(m["owned_by"]) for m in listed if m.get("owned_by")})
    if hint is not None:
        mismatch = ctx.profile.flavour is not None
        yield ctx.finding(hint, severity=Severity.WARNING if mismatch else Severity.INFO,
                          exchange=ex, instance_pointer="/data/0/owned_by")
