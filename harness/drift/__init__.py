"""Drift: notice when a provider's API, or a published contract, changes under our feet.

Two sources of truth can move. Live providers change what they *send* (a field disappears, an
event is renamed, latency doubles): :mod:`~harness.drift.shape` infers a value-free shape from
observed bodies and streams, :mod:`~harness.drift.baseline` stores one per provider and
compares a new observation with it. Documents change what they *promise*:
:mod:`~harness.drift.schema_diff` classifies the field changes between two flattened schemas
(:mod:`harness.specs` builds whole-document diffs on it). Both report
:class:`~harness.drift.classify.Change` values classified by
:class:`~harness.drift.classify.Kind` from the client's point of view, and
:mod:`~harness.drift.guide` prints them as a migration guide.
"""

from __future__ import annotations

from harness.drift.classify import Change, Kind, compare

__all__ = ["Change", "Kind", "compare"]
