"""The pytest plugin (``pytest11`` entry point ``vlm_harness``).

Thin by design: it registers the options and markers, and exposes fixtures whose heavy imports
happen only when a test asks for them, so installing the harness costs other test suites
nothing.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vlm-harness", "VLM contract harness")
    group.addoption("--vlm-target", default=None,
                    help="mock (default), url, cassette, live or local")
    group.addoption("--vlm-provider", default=None, help="all (default) or a comma list")
    group.addoption("--vlm-base-url", default=None, help="base URL for the url/local targets")
    group.addoption("--vlm-record-mode", default=None,
                    help="vcrpy record mode for cassette targets: none (default), once, all")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "live: talks to a live provider; skipped unless its key variable is set")
