"""Fixtures for the report tests (builders live in report_fixtures.py)."""

from __future__ import annotations

import secrets

import pytest
from report_fixtures import newest_run, older_run

from harness.report.results import RunResult


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> str:
    key = f"sk-planted-{secrets.token_hex(12)}"
    monkeypatch.setenv("MIMO_API_KEY", key)
    return key


@pytest.fixture
def newest(planted: str) -> RunResult:
    return newest_run(planted)


@pytest.fixture
def runs(newest: RunResult) -> list[RunResult]:
    return [newest, older_run()]  # deliberately not in time order
