"""Canonical requests: the one place that knows how to ask each protocol for a capability.

Scenario checks and drift probes never build bodies themselves: :func:`sample` returns the
smallest honest request that exercises a capability (text, one image, several images of
different formats, a video, a stream) on one provider API, :func:`media_sample` the same shape
around caller-chosen media (the limit probes), and :func:`invalid_samples` the documented ways
to get a request wrong (bad JSON, a missing or mistyped field, an unknown model or enum value,
undecodable or mislabelled media). :func:`answer_of` says where each protocol puts the answer
text. Media is made in-process with the standard library only (Pillow is a test dependency).
A protocol that cannot express a capability raises :class:`Unsupported`, which the engine
reports as a skip.
The code lives in four modules, re-exported here so callers keep one import:
:mod:`~harness.checks.request_media` (media bytes), :mod:`~harness.checks.request_samples`
(per-protocol samples), :mod:`~harness.checks.request_invalid` (invalid samples) and
:mod:`~harness.checks.request_sessions` (queued jobs and realtime turns).
"""

from __future__ import annotations

from harness.checks.request_invalid import ANY_4XX, InvalidSample, invalid_samples  # noqa: F401
from harness.checks.request_media import (  # noqa: F401
    GIF,
    JPEG,
    MP4,
    images,
    pcm_tone,
    png,
    png_of_size,
)
from harness.checks.request_samples import (  # noqa: F401
    ANSWER_AT,
    CAPABILITIES,
    MAX_TOKENS,
    PROMPT,
    TEXT_PROMPT,
    Sample,
    Unsupported,
    answer_of,
    any_sample,
    call,
    media_sample,
    model_for,
    sample,
)
from harness.checks.request_sessions import async_sample, realtime_turn  # noqa: F401
