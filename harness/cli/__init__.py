"""The ``vlm-harness`` command line: a thin typer layer over the engine.

Each command parses its flags, then hands over to the module that owns the work (``lint``,
``openapi``, ``mock.serve``, ``engine``, ``recording``, ``drift``, ``report``); heavy imports
happen inside the commands so ``--help`` stays fast. Every usage problem surfaces as a
:class:`~harness.errors.HarnessError` and is printed as one line naming the flag, file or
field at fault, with exit status 2 (or the error's own ``exit_code``: 4 for an unreachable
target). The exit statuses are :class:`~harness.errors.ExitCode`, listed in ``--help``.
:mod:`~harness.cli.app` holds the typer app and what the commands share; the commands
register themselves on it from :mod:`~harness.cli.suite_commands` (run, record, report,
fuzz), :mod:`~harness.cli.spec_commands` (lint, openapi, drift, diff, import) and
:mod:`~harness.cli.serve_command` (serve), imported here in the order ``--help`` lists them.
"""

from importlib import import_module

from harness.cli.app import app, main

for _module in ("suite_commands", "spec_commands", "serve_command"):
    import_module(f"harness.cli.{_module}")

__all__ = ["app", "main"]
