"""Built-in checks, one module per family; importing this package registers them all."""

from __future__ import annotations

from harness.checks.registry import CheckContext, CheckSpec, Skip, check, registered, select

__all__ = ["CheckContext", "CheckSpec", "Skip", "check", "registered", "select"]
