"""Real local servers for the local-target tests: llama.cpp's ``llama-server`` and
llama-cpp-python's OpenAI server, both on one llama.cpp build.

``tools/llama.cpp/build`` compiles the llama.cpp that the pinned llama-cpp-python vendors into
``.venv-local/llama.cpp/bin``: the C++ ``llama-server`` and the shared libraries, which
llama-cpp-python (installed from the ``local-server`` extra without its own build) loads
through ``LLAMA_CPP_LIB_PATH``. ``tiny_model`` writes the random-weight model of
``tiny_gguf.py`` with that venv's ``gguf``; each server fixture serves it on a free loopback
port, waiting for ``/v1/models`` under a deadline. Without the extra or the build the tests
skip, saying how to install them; under ``VLM_HARNESS_REQUIRE_EXTRAS=1`` (CI) they fail.
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
LLAMA_CPP = ROOT / ".venv-local" / "llama.cpp" / "bin"
STARTUP_S = 120  # imports and model loading: seconds on a loaded runner
CONTEXT = 2048  # room for the suite's multi-image request, whose parts it renders as text
INSTALL = ("python3 -m venv .venv-local && tools/llama.cpp/build && CMAKE_ARGS=-DLLAMA_BUILD=OFF "
           ".venv-local/bin/pip install 'llama-cpp-python[server]==0.3.36' gguf (the "
           "local-server extra and a ~7-minute llama.cpp build; .ci/run does this)")


@dataclass(frozen=True)
class LocalServer:
    name: str  # the --local-flavour it is
    url: str  # base URL without /v1
    model: Path
    log: Path
    startup_s: float


def lib_env() -> dict[str, str]:
    """llama-cpp-python's libraries from the shared build, where it has been built."""
    return {"LLAMA_CPP_LIB_PATH": str(LLAMA_CPP)} if (LLAMA_CPP / "libllama.so").exists() else {}


def local_python() -> str | None:
    given = os.environ.get("VLM_HARNESS_LOCAL_PYTHON")
    local = ROOT / ".venv-local" / "bin" / "python"
    if given:
        return given
    if not local.exists():
        return None
    probe = subprocess.run([str(local), "-c", "import llama_cpp.server, gguf"],
                           capture_output=True, timeout=120, env={**os.environ, **lib_env()})
    return str(local) if probe.returncode == 0 else None


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    python = require(local_python(), f"llama-cpp-python's server is not installed: {INSTALL}")
    model = tmp_path_factory.mktemp("model") / "tiny.gguf"
    subprocess.run([python, str(HERE / "tiny_gguf.py"), str(model)], check=True, timeout=120)
    return model


def _serve(name: str, argv: list[str], model: Path, folder: Path,
           env: dict[str, str] | None = None) -> Iterator[LocalServer]:
    log = folder / f"{name}.log"
    with spawned(lambda port: [*argv, "--host", "127.0.0.1", "--port", str(port)],
                 "/v1/models", log, STARTUP_S, name, env) as (url, took):
        yield LocalServer(name, url, model, log, took)


@pytest.fixture(scope="session")
def llama_cpp_python(tiny_model: Path,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    python = require(local_python(), f"llama-cpp-python's server is not installed: {INSTALL}")
    yield from _serve("llama-cpp-python", [
        python, "-m", "llama_cpp.server", "--model", str(tiny_model), "--n_ctx", str(CONTEXT),
        "--n_threads", "1", "--seed", "7"], tiny_model, tmp_path_factory.mktemp("lcp"), lib_env())


@pytest.fixture(scope="session")
def llama_cpp(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    binary = LLAMA_CPP / "llama-server"
    require(str(binary) if binary.exists() else None,
            f"llama.cpp's llama-server is not built: {INSTALL}")
    yield from _serve("llama.cpp", [
        str(binary), "--model", str(tiny_model), "-c", str(CONTEXT), "-t", "1", "--seed", "7"],
        tiny_model, tmp_path_factory.mktemp("llama-server"))
