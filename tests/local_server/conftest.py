"""A real local server for the local-target tests: llama-cpp-python's OpenAI server.

``llama_server`` uses the ``local-server`` extra's interpreter (``.venv-local/bin/python``,
made by ``.ci/run``; ``VLM_HARNESS_LOCAL_PYTHON`` names another), writes the tiny random-weight
model of ``tiny_gguf.py`` with that interpreter's ``gguf`` and serves it with
``python -m llama_cpp.server`` on a free loopback port, waiting for ``/v1/models`` under a
deadline. Without the extra the tests skip, saying how to install it; under
``VLM_HARNESS_REQUIRE_EXTRAS=1`` (CI) they fail instead.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from extra_servers import ROOT, require, spawned

HERE = Path(__file__).resolve().parent
STARTUP_S = 120  # the server imports FastAPI and loads the model: seconds on a loaded runner
CONTEXT = 2048  # room for the suite's multi-image request, whose parts it renders as text
BUILD = ('CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" .venv-local/bin/pip install '
         "'llama-cpp-python[server]==0.3.36' gguf")


@dataclass(frozen=True)
class LlamaServer:
    url: str  # base URL without /v1
    model: Path
    log: Path
    startup_s: float


def local_python() -> str | None:
    given = os.environ.get("VLM_HARNESS_LOCAL_PYTHON")
    local = ROOT / ".venv-local" / "bin" / "python"
    if given:
        return given
    if not local.exists():
        return None
    probe = subprocess.run([str(local), "-c", "import llama_cpp.server, gguf"],
                           capture_output=True, timeout=120)
    return str(local) if probe.returncode == 0 else None


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LlamaServer]:
    python = require(local_python(),
                     "llama-cpp-python's server is not installed: python3 -m venv .venv-local && "
                     f"{BUILD} (the local-server extra; .ci/run does this, a 5-8 minute build)")
    folder = tmp_path_factory.mktemp("llama")
    model, log = folder / "tiny.gguf", folder / "llama-server.log"
    subprocess.run([python, str(HERE / "tiny_gguf.py"), str(model)], check=True, timeout=120)
    with spawned(lambda port: [python, "-m", "llama_cpp.server", "--model", str(model),
                               "--host", "127.0.0.1", "--port", str(port),
                               "--n_ctx", str(CONTEXT), "--n_threads", "1", "--seed", "7"],
                 "/v1/models", log, STARTUP_S, "llama-cpp-python's server") as (url, took):
        yield LlamaServer(url, model, log, took)
