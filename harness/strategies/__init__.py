"""Hypothesis strategies built from the request schemas, carrying real media.

``bodies`` turns a request schema (with a provider's dialect) into valid bodies and targeted
mutations; ``media`` makes image and video files by hand at exact sizes, data URLs at a
profile's limits, broken media and multi-image turns; ``profiles`` holds the ``dev``, ``ci``
and ``live`` settings. Property tests, the fuzz runner and users' own tests import from here.
See ``docs/generation.md`` for why generation is built the way it is.
"""

from __future__ import annotations

from harness.strategies.bodies import (
    MUTATION_KINDS,
    Mutation,
    mutation_plans,
    mutations,
    request_schema,
    requests,
)
from harness.strategies.media import (
    Boundary,
    InvalidMedia,
    allowed,
    boundary,
    data_urls,
    images,
    invalid_media,
    media_urls,
    multi_image_messages,
    of_size,
    videos,
)
from harness.strategies.profiles import PROFILES, chosen, load, register, settings_for

register()

__all__ = [
    "MUTATION_KINDS", "PROFILES", "Boundary", "InvalidMedia", "Mutation", "allowed", "boundary",
    "chosen",
    "data_urls", "images", "invalid_media", "load", "media_urls", "multi_image_messages",
    "mutation_plans", "mutations", "of_size", "request_schema", "requests", "settings_for",
    "videos",
]
