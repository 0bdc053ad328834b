"""Fixtures shared by every test folder: the reference mock in process and served on loopback.

``mock_app`` is a fresh in-process app per test (hand it to a transport from
:mod:`harness.mock.transport`); ``served_mock`` and ``served_mock_tls`` are one uvicorn server
each for the whole session on 127.0.0.1 and a free port (``.url``, ``.base_url(provider,
label)``, ``.app`` for the request log, ``.ca_path`` with TLS), for SDKs that need a socket.
Both servers use a short job clock so job lifecycles finish in a fraction of a second.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.applications import Starlette

from harness.mock.app import build_app
from harness.mock.config import MockConfig
from harness.mock.serve import ServedMock

SERVED_CONFIG = MockConfig(job_step_s=0.02)


@pytest.fixture
def mock_app() -> Starlette:
    return build_app()


@pytest.fixture(scope="session")
def served_mock() -> Iterator[ServedMock]:
    with ServedMock(SERVED_CONFIG) as served:
        yield served


@pytest.fixture(scope="session")
def served_mock_tls() -> Iterator[ServedMock]:
    with ServedMock(SERVED_CONFIG, tls=True) as served:
        yield served
