"""The one exception hierarchy of the harness.

Everything the harness raises on purpose derives from :class:`HarnessError`, so a CLI or a
pytest hook can catch one type and print a clean message. Usage errors (a bad flag, an unknown
provider, a file that does not parse) are separate from *findings*: a finding is a fact about a
provider or a document that the harness reports, never an exception.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import IntEnum


class ExitCode(IntEnum):
    """What every command's exit status means (README and ``--help`` document these)."""

    OK = 0  # every selected check ran and passed
    FINDINGS = 1  # at least one error-level (unwaived) finding
    USAGE = 2  # a bad flag, file or name
    NOTHING_CHECKED = 3  # every case skipped or not offered, no key, nothing ran (see --allow-empty)
    UNREACHABLE = 4  # the target did not answer the preflight request


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


class TargetUnreachable(HarnessError):
    """The target did not answer the preflight request (or every documented route is a 404):
    nothing can be checked, so the run stops with :attr:`ExitCode.UNREACHABLE` and one message
    naming the URL and the cause."""

    exit_code = ExitCode.UNREACHABLE
