"""Named Hypothesis settings: ``dev``, ``ci`` and ``live``, chosen by environment or target.

``dev`` is quick and random (a developer re-running a property test sees new inputs); ``ci`` is
derandomized with no example database, so a CI failure reproduces bit for bit from the same
commit and nothing is written next to the checkout; ``live`` sends only a handful of examples
and never shrinks, because every shrink step against a paid API is another billed request.
All three drop the deadline: answers from a mock on a loaded 2-core runner, or from a provider,
take as long as they take. :func:`chosen` reads ``HYPOTHESIS_PROFILE`` first, then the target
kind (``live``/``local`` pick ``live``), then ``CI`` (set by every CI service), else ``dev``.
"""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, Phase, settings

from harness.errors import UnknownNameError

_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]
PROFILES: dict[str, dict[str, Any]] = {
    "dev": {"max_examples": 20, "deadline": None, "suppress_health_check": _SLOW_OK},
    "ci": {"max_examples": 25, "deadline": None, "derandomize": True, "database": None,
           "print_blob": True, "suppress_health_check": _SLOW_OK},
    "live": {"max_examples": 5, "deadline": None, "derandomize": True, "database": None,
             "phases": [Phase.explicit, Phase.generate], "suppress_health_check": _SLOW_OK},
}
TARGET_PROFILE = {"live": "live", "local": "live"}


def register() -> None:
    """Register the profiles with Hypothesis (idempotent; registering again replaces)."""
    for name, values in PROFILES.items():
        settings.register_profile(name, **values)


def chosen(target: str | None = None) -> str:
    """The profile to use: ``HYPOTHESIS_PROFILE``, the target's, ``ci`` under CI, else ``dev``."""
    env = os.environ.get("HYPOTHESIS_PROFILE")
    if env:
        if env not in PROFILES:
            raise UnknownNameError("hypothesis profile (HYPOTHESIS_PROFILE)", env, PROFILES)
        return env
    if target in TARGET_PROFILE:
        return TARGET_PROFILE[target]
    return "ci" if os.environ.get("CI") else "dev"


def settings_for(name: str | None = None, *, target: str | None = None,
                 **overrides: Any) -> settings:
    """The settings of profile ``name`` (default :func:`chosen`), with ``overrides``; usable as
    a decorator on a property test without changing the process-wide default profile."""
    name = name or chosen(target)
    if name not in PROFILES:
        raise UnknownNameError("hypothesis profile", name, PROFILES)
    return settings(**{**PROFILES[name], **overrides})


def load(name: str | None = None, *, target: str | None = None) -> str:
    """Make profile ``name`` (default :func:`chosen`) the process-wide default; returns it."""
    register()
    name = name or chosen(target)
    settings.load_profile(name)
    return name
