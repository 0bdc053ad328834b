"""Before the suite: is the server there, and what does it offer?

Against servers we do not control (the ``url`` and ``local`` targets) the run starts with a
*preflight*: for each HTTP API one request to a documented route (a side-effect-free GET
first). No answer at all stops the run with :class:`~harness.errors.TargetUnreachable` naming
the URL and the cause (exit 4); every documented route answering 404 means the base URL is
wrong, and says so, instead of letting checks pass on 404s from routes that do not exist.

Then *capability discovery* for chat APIs: one tiny text request, one tiny image request and
one streamed request (the canonical samples of :mod:`harness.checks.requests`). A capability
the server refuses (a 4xx answer) or never answers (its budget runs out) is marked *not
offered* with that evidence, so an image-less llama.cpp server yields one line of evidence
rather than every image check failing by timeout. A server error (5xx) is not evidence of
absence: those checks still run and report it. Discovery only concludes anything when the
text request succeeded. ``--capabilities`` replaces discovery with a given set.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

import httpx

from harness import deadlines
from harness.checks import requests
from harness.checks.exchange import Exchange, Probe
from harness.errors import TargetUnreachable, UnknownNameError
from harness.providers import Api, Profile
from harness.report.results import Outcome
from harness.targets.base import Target, TargetKind

if TYPE_CHECKING:
    from harness.engine import Case

# Targets whose server nobody vouches for; the mock and the cassettes answer by construction.
DISCOVERED = (TargetKind.URL, TargetKind.LOCAL)
PROBED = ("image", "stream")  # multi-image follows image
_DEPENDS = {"multi-image": "image"}


def _routes(api: Api) -> list[tuple[str, str, str | None]]:
    """(endpoint, path, model) per documented HTTP endpoint, parameter-free GETs first."""
    seen: dict[str, tuple[str, str, str | None]] = {}
    for op in api.operations():
        if op.endpoint.name not in seen:
            seen[op.endpoint.name] = (op.endpoint.name, op.path, op.model.id if op.model else None)
    def order(route: tuple[str, str, str | None]) -> int:
        ep = next(e for e in api.protocol.endpoints if e.name == route[0])
        return 0 if ep.method == "GET" and "{" not in route[1] else 1
    return sorted(seen.values(), key=order)


def preflight(target: Target, profile: Profile, api: Api) -> None:
    """Raise :class:`TargetUnreachable` unless some documented route of ``api`` answers."""
    routes = _routes(api)
    if not routes or api.base_urls.get("default", "").startswith("ws"):
        return  # a WebSocket API: the HTTP APIs beside it show whether the server is there
    probe = Probe(target, profile, api)
    answered: list[str] = []
    for endpoint, path, model in routes:
        params = {name: "preflight" for name in _placeholders(path)}
        try:
            ex = probe.call(endpoint, model=model, path_params=params or None,
                            json_body=None if path.endswith("models") else {})
        except (httpx.TransportError, deadlines.DeadlineExceeded) as exc:
            base = str(target.client(profile, api).base_url)
            raise TargetUnreachable(f"{profile.name} {api.protocol.name}: no answer from {base} "
                                    f"({type(exc).__name__}: {exc})") from None
        if ex.status != 404:
            return
        answered.append(f"{ex.method} {ex.url}")
    raise TargetUnreachable(
        f"{profile.name} {api.protocol.name}: every documented route answered 404 "
        f"({'; '.join(answered)}): the base URL is probably wrong (a missing or extra path "
        "such as /v1?)")


_NO_PROOF = "no proof"


def _placeholders(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]


def _verdict(ex: Exchange | None, waited: str) -> str | None:
    """Why a probe shows the capability is absent, or None when it does not show that."""
    if ex is None:
        return f"no answer within {waited}"
    if 400 <= ex.status < 500 and ex.status not in (401, 403, 429):
        detail = ex.body.decode("utf-8", "replace").strip().replace("\n", " ")[:160]
        return f"{ex.method} {httpx.URL(ex.url).path} answered HTTP {ex.status}: {detail}"
    return None


def discover(target: Target, profile: Profile, api: Api, budget_s: float) -> dict[str, str]:
    """Capability -> evidence that ``api`` on ``target`` does not offer it (empty: no proof)."""
    if api.protocol.name not in ("openai-chat", "anthropic-messages"):
        return {}
    probe = Probe(target, profile, api)

    def ask(capability: str) -> tuple[Exchange | None, str]:
        started = time.monotonic()
        with deadlines.scope(deadlines.Deadline.after(
                budget_s, f"the discovery budget ({budget_s:g} s, --check-timeout)")):
            try:
                return requests.call(probe, requests.sample(api, capability)), ""
            except deadlines.DeadlineExceeded as exc:
                return None, f"{time.monotonic() - started:.0f} s ({exc.budget})"
            except (requests.Unsupported, httpx.TransportError):
                # No sample to send, or a dropped connection: no proof either way; checks judge
                return None, _NO_PROOF

    text, _ = ask("text")
    if text is None or not 200 <= text.status < 300:
        return {}  # a server that cannot answer text proves nothing about images: checks judge
    missing: dict[str, str] = {}
    for capability in PROBED:
        ex, waited = ask(capability)
        if waited == _NO_PROOF:
            continue
        why = _verdict(ex, waited)
        if why:
            missing[capability] = f"capability discovery: a tiny {capability} request: {why}"
    for capability, base in _DEPENDS.items():
        if base in missing:
            missing[capability] = missing[base]
    return missing


def forced(spec: str | None, flag: str) -> frozenset[str] | None:
    """``--capabilities text,stream`` as a set; unknown names list the known ones."""
    if spec is None:
        return None
    names = frozenset(n.strip() for n in spec.split(",") if n.strip())
    for name in sorted(names):
        if name not in requests.CAPABILITIES:
            raise UnknownNameError(f"capability ({flag})", name, requests.CAPABILITIES)
    return names


def decide(cases: Iterable[Case], target: Target, forced: frozenset[str] | None,
           budget_s: float, concurrency: int = 1) -> list[Case]:
    """``cases`` with what the preflight and discovery decided (or ``forced`` capabilities);
    with ``concurrency`` > 1 the APIs are probed side by side (latency, not work, dominates)."""
    cases = list(cases)
    if target.kind not in DISCOVERED:
        return cases
    apis = {(c.profile.name, c.api.protocol.name): c for c in cases if c.outcome is None}

    def probe(case: Case) -> Mapping[str, str]:
        preflight(target, case.profile, case.api)
        return {} if forced is not None else discover(target, case.profile, case.api, budget_s)

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(apis) or 1))) as pool:
        # Each probe runs in a copy of this context, so the run's deadline scope still bounds it;
        # results (and a TargetUnreachable) come back in API order, as in a sequential run.
        futures = {key: pool.submit(contextvars.copy_context().run, probe, case)
                   for key, case in apis.items()}
        missing = {key: future.result() for key, future in futures.items()}
    out = []
    for case in cases:
        capability = case.spec.capability
        absent = missing.get((case.profile.name, case.api.protocol.name), {})
        if case.outcome is None and forced is not None and capability in requests.CAPABILITIES \
                and capability not in forced:
            case = replace(case, outcome=Outcome.NOT_OFFERED,
                           reason=f"not in --capabilities ({', '.join(sorted(forced))})")
        elif case.outcome is None and capability in absent:
            case = replace(case, outcome=Outcome.NOT_OFFERED, reason=absent[capability])
        out.append(case)
    return out
