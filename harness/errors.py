"""The one exception hierarchy of the harness.

Everything the harness raises on purpose derives from :class:`HarnessError`, so a CLI or a
pytest hook can catch one type and print a clean message. Usage errors (a bad flag, an unknown
provider, a file that does not parse) are separate from *findings*: a finding is a fact about a
provider or a document that the harness reports, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable


class HarnessError(Exception):
    """Base of every error the harness raises deliberately."""


class UsageError(HarnessError):
    """The caller asked for something that cannot be done as asked (flag, file, name)."""


class UnknownNameError(UsageError, KeyError):
    """A name (provider, check, target, schema...) that is not among the known ones."""

    def __init__(self, kind: str, name: str, known: Iterable[str]) -> None:
        self.kind, self.name, self.known = kind, name, sorted(known)
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(self.known) or '(none)'}")

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.args[0]


class SchemaError(HarnessError):
    """A schema file is missing, unreadable or not a valid JSON Schema."""


class ProfileError(HarnessError):
    """A provider profile does not load or does not match the profile schema."""
