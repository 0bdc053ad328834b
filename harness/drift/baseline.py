"""Baselines: what each provider looked like when last accepted, and comparison against them.

An :class:`Observation` is one provider seen by one drift run: for each probe (an endpoint and a
named request against it) the status code, content type, body or stream shape and latency
samples. Baselines are observations saved as ``reports/baselines/<provider>.json`` (sorted,
indented and scrubbed so they diff well in review); :func:`compare_to_baseline` turns the
difference into :class:`~harness.drift.classify.Change` values, including a latency regression
when p50 or p95 worsens by more than 50% *and* more than 100 ms, so jitter alone never alarms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from harness.drift.classify import Change, Kind, compare
from harness.drift.shape import BodyShape, StreamShape, infer, infer_stream, shape_from_dict
from harness.errors import UsageError

BASELINE_DIR = Path("reports/baselines")
FORMAT = "vlm-harness-baseline/1"
LATENCY_RATIO = 0.5
LATENCY_FLOOR_MS = 100.0


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0..100) by linear interpolation; 0.0 for no values."""
    data = sorted(values)
    if not data:
        return 0.0
    pos = (len(data) - 1) * q / 100.0
    lo, hi = math.floor(pos), math.ceil(pos)
    return data[lo] + (data[hi] - data[lo]) * (pos - lo)


@dataclass(frozen=True, slots=True)
class ProbeObservation:
    """One probe of one endpoint as observed: status, content type, shape and latencies."""

    endpoint: str
    probe: str
    status: int
    content_type: str = ""
    body: BodyShape | None = None
    stream: StreamShape | None = None
    latencies_ms: tuple[float, ...] = ()

    @property
    def key(self) -> tuple[str, str]:
        return (self.endpoint, self.probe)

    @classmethod
    def observe(cls, endpoint: str, probe: str, status: int, content_type: str = "", *,
                bodies: Iterable[Any] = (), streams: Iterable[Sequence[Any]] = (),
                latencies_ms: Iterable[float] = ()) -> ProbeObservation:
        """Infer shapes from raw decoded bodies and/or stream sessions."""
        bodies, streams = list(bodies), list(streams)
        return cls(endpoint, probe, status, content_type,
                   infer(bodies) if bodies else None,
                   infer_stream(streams) if streams else None, tuple(latencies_ms))

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "probe": self.probe, "status": self.status,
                "content_type": self.content_type,
                "body": self.body.to_dict() if self.body else None,
                "stream": self.stream.to_dict() if self.stream else None,
                "latencies_ms": [round(v, 3) for v in self.latencies_ms]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeObservation:
        body, stream = data.get("body"), data.get("stream")
        return cls(data["endpoint"], data["probe"], int(data["status"]),
                   data.get("content_type", ""),
                   shape_from_dict(body) if body else None,  # type: ignore[arg-type]
                   shape_from_dict(stream) if stream else None,  # type: ignore[arg-type]
                   tuple(float(v) for v in data.get("latencies_ms", ())))


@dataclass(frozen=True, slots=True)
class Observation:
    """A provider as seen by one run (and, once accepted, its baseline)."""

    provider: str
    probes: tuple[ProbeObservation, ...]
    taken_at: str = ""
    target: str = ""

    def __post_init__(self) -> None:
        # Canonical probe order, so an observation equals itself read back from disk.
        object.__setattr__(self, "probes", tuple(sorted(self.probes, key=lambda p: p.key)))

    def probe(self, endpoint: str, probe: str) -> ProbeObservation | None:
        return next((p for p in self.probes if p.key == (endpoint, probe)), None)

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "provider": self.provider, "taken_at": self.taken_at,
                "target": self.target,
                "probes": [p.to_dict() for p in self.probes]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Observation:
        return cls(data["provider"], tuple(ProbeObservation.from_dict(p) for p in data["probes"]),
                   data.get("taken_at", ""), data.get("target", ""))


def baseline_path(provider: str, root: Path = BASELINE_DIR) -> Path:
    return root / f"{provider}.json"


def load_baseline(provider: str, root: Path = BASELINE_DIR) -> Observation | None:
    """The saved baseline of ``provider``, or None when there is none yet."""
    path = baseline_path(provider, root)
    if not path.is_file():
        return None
    try:
        return Observation.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"{path}: not a baseline file ({exc}); delete it to start afresh") from exc


def save_baseline(observation: Observation, root: Path = BASELINE_DIR) -> Path:
    from harness.secrets import Scrubber  # local: profiles load only when something is written

    path = baseline_path(observation.provider, root)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(observation.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
    path.write_text(Scrubber.from_env().text(text) + "\n", encoding="utf-8")
    return path


def update_baseline(observation: Observation, root: Path = BASELINE_DIR) -> Observation:
    """Accept ``observation``: its probes replace the baseline's, probes not re-run are kept."""
    old = load_baseline(observation.provider, root)
    fresh = {p.key: p for p in observation.probes}
    kept = tuple(p for p in (old.probes if old else ()) if p.key not in fresh)
    merged = replace(observation, probes=kept + observation.probes)
    save_baseline(merged, root)
    return merged


def latency_changes(old: Sequence[float], new: Sequence[float]) -> list[Change]:
    """A LATENCY change per percentile that got worse by > 50% and > 100 ms."""
    out: list[Change] = []
    if not old or not new:
        return out
    for q in (50, 95):
        before, after = percentile(old, q), percentile(new, q)
        if after - before > max(LATENCY_RATIO * before, LATENCY_FLOOR_MS):
            out.append(Change(Kind.LATENCY, f"/latency/p{q}",
                              f"p{q} latency regressed by {after - before:.0f} ms "
                              f"({(after / before - 1) * 100 if before else math.inf:.0f}%)",
                              round(before, 1), round(after, 1)))
    return out


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def compare_probe(old: ProbeObservation, new: ProbeObservation) -> list[Change]:
    out: list[Change] = []
    if old.status != new.status:
        # A different status means a different document: comparing shapes would only add noise.
        out.append(Change(Kind.BREAKING, "/status", "status code changed", old.status, new.status))
    else:
        if _media_type(old.content_type) != _media_type(new.content_type):
            out.append(Change(Kind.BREAKING, "/content-type", "content type changed",
                              old.content_type, new.content_type))
        for was, now, label in ((old.body, new.body, "body"), (old.stream, new.stream, "stream")):
            if was is not None and now is not None:
                out.extend(compare(was, now))
            elif was is not None:
                out.append(Change(Kind.BREAKING, f"/{label}", f"no {label} any more", label, None))
            elif now is not None:
                out.append(Change(Kind.ADDITIVE, f"/{label}", f"now sends a {label}", None, label))
    out.extend(latency_changes(old.latencies_ms, new.latencies_ms))
    return out


def compare_to_baseline(observation: Observation, baseline: Observation) -> list[Change]:
    """Changes of ``observation`` against ``baseline``, placed under provider and endpoint.

    Probes only one side has are not compared: a probe absent from this run was not measured,
    and a new probe has nothing to be compared with until it is accepted into the baseline.
    """
    if observation.provider != baseline.provider:
        raise UsageError(f"cannot compare provider {observation.provider!r} with the baseline "
                         f"of {baseline.provider!r}")
    out: list[Change] = []
    for new in sorted(observation.probes, key=lambda p: p.key):
        old = baseline.probe(*new.key)
        if old is None:
            continue
        out.extend(c.at(observation.provider, new.endpoint, prefix=f"{new.probe}#")
                   for c in compare_probe(old, new))
    return sorted(out, key=lambda c: -c.kind.rank)
