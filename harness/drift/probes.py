"""The drift probe set: a handful of cheap requests per provider API, built from the canonical ones.

A drift run cannot afford the whole contract suite against a paid API every night, so each
provider API gets one :class:`DriftProbe` per capability it documents (text, one image, several
images, a video, a stream; whatever :func:`harness.checks.requests.sample` can express for its
models) and one per error class that costs nothing to provoke: an invalid body (a required field
left out, so a 4xx) and, where the key is not optional, a request without it (401). Requests
come from :mod:`harness.checks.requests` only, so a probe asks exactly what the checks ask.
Capability probes go first and the key-less probe last: a rejected key then shows on the first
request, before the budget is spent on anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.checks import requests
from harness.checks.exchange import Exchange, Probe
from harness.checks.requests import InvalidSample, Sample, Unsupported

NO_AUTH = "no-auth"
INVALID_BODY = "invalid-body"
# The invalid request to prefer: a schema-level mistake gives the provider's richest error body.
PREFERRED_INVALID = ("missing-field", "wrong-type", "invalid-json")


@dataclass(frozen=True, slots=True)
class DriftProbe:
    """One named request against one endpoint; ``name`` and ``endpoint`` key the baseline."""

    name: str
    capability: str  # the report's matrix column: text..stream, "errors" or "auth"
    endpoint: str  # the operation key, e.g. ``chat`` or ``run:fal-ai/mini-cpm``
    request: Sample | InvalidSample
    auth: bool = True  # False: sent without the key on purpose

    def send(self, probe: Probe) -> Exchange:
        if isinstance(self.request, InvalidSample):
            return self.request.send(probe)
        return requests.call(probe, self.request, auth=self.auth)


def _invalid(probe: Probe) -> InvalidSample | None:
    try:
        invalid = {s.name: s for s in requests.invalid_samples(probe.api)}
    except Unsupported:  # no image model to base the broken request on
        return None
    return next((invalid[n] for n in PREFERRED_INVALID if n in invalid),
                next(iter(invalid.values()), None))


def probes_for(probe: Probe, *, seed: int = 0) -> list[DriftProbe]:
    """The drift probes of ``probe``'s provider API, in sending order (empty: nothing to ask)."""
    api = probe.api
    out: list[DriftProbe] = []
    for capability in requests.CAPABILITIES:
        try:
            sample = requests.sample(api, capability, seed=seed)
        except Unsupported:  # not documented for this API's models, or not a request/response API
            continue
        out.append(DriftProbe(capability, capability,
                              probe.operation(sample.endpoint, sample.model).key, sample))
    if not out:
        return out
    invalid = _invalid(probe)
    if invalid is not None:
        out.append(DriftProbe(INVALID_BODY, "errors",
                              probe.operation(invalid.endpoint, invalid.model).key, invalid))
    if not api.auth.optional:
        cheapest = requests.any_sample(api, seed=seed)
        out.append(DriftProbe(NO_AUTH, "auth",
                              probe.operation(cheapest.endpoint, cheapest.model).key, cheapest,
                              auth=False))
    return out
