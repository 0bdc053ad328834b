"""Built-in checks, one module per family; importing this package registers them all."""

from __future__ import annotations

from harness.checks import (
    capabilities,  # noqa: F401
    conformance,  # noqa: F401
    errors,  # noqa: F401
    gateway,  # noqa: F401
    gateway_faults,  # noqa: F401
    lifecycle,  # noqa: F401
    media_limits,  # noqa: F401
    models,  # noqa: F401
    realtime,  # noqa: F401
    streaming,  # noqa: F401
)
from harness.checks.registry import CheckContext, CheckSpec, Skip, check, registered, select

__all__ = ["CheckContext", "CheckSpec", "Skip", "check", "registered", "select"]
