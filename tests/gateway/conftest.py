"""A real gateway for the gateway tests: the LiteLLM proxy in front of the served reference mock.

``litellm`` starts the proxy of the ``gateway`` extra (``.venv-gateway/bin/litellm``, made by
``.ci/run``; ``VLM_HARNESS_LITELLM`` names another binary) on a free loopback port with a
generated ``config.yaml``: ModelBest's three models on the mock's OpenAI API, MiMo's model on
the mock's OpenAI API (``mimo-v2-omni``) and on its Anthropic API (``mimo-v2-omni-anthropic``),
the master key as the key clients present, the mock's key as the upstream key. It waits for
``/health/liveliness`` under a deadline, keeps the proxy's log (shown when it fails to start)
and stops it at teardown (``extra_servers``: without the binary the tests skip, saying how to
install it; with ``VLM_HARNESS_REQUIRE_EXTRAS=1``, as in CI, they fail instead).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from extra_servers import ROOT, require, spawned

from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.serve import ServedMock

MASTER_KEY = "sk-litellm-master-for-the-harness-0001"
STARTUP_S = 300  # LiteLLM imports for a long while on a loaded 2-core runner
MODELBEST = ("MiniCPM-V-4.6-Instruct", "MiniCPM-V-4.6-Thinking", "MiniCPM-o-4.5")


def litellm_binary() -> str | None:
    given = os.environ.get("VLM_HARNESS_LITELLM")
    local = ROOT / ".venv-gateway" / "bin" / "litellm"
    return given or (str(local) if local.exists() else shutil.which("litellm"))


def require_litellm() -> str:
    return require(litellm_binary(),
                   "the LiteLLM proxy is not installed: python3 -m venv .venv-gateway && "
                   ".venv-gateway/bin/pip install 'litellm[proxy]==1.108.7' (the gateway extra; "
                   ".ci/run does this)")


def config(upstream: str) -> dict[str, object]:
    def deployment(name: str, model: str, base: str) -> dict[str, object]:
        return {"model_name": name, "litellm_params": {
            "model": model, "api_base": f"{upstream}{base}", "api_key": MOCK_KEY}}

    return {
        "model_list": [*(deployment(m, f"openai/{m}", "/modelbest/v1") for m in MODELBEST),
                       deployment("mimo-v2-omni", "openai/mimo-v2-omni", "/mimo/v1"),
                       deployment("mimo-v2-omni-anthropic", "anthropic/mimo-v2-omni",
                                  "/mimo/anthropic")],
        "general_settings": {"master_key": MASTER_KEY},
        # Anthropic clients of an OpenAI deployment are bridged to the Responses API unless
        # this is set; an OpenAI-compatible provider serves only Chat Completions.
        # OpenAI clients bridged to Anthropic send `seed`, which Anthropic lacks: LiteLLM answers
        # 400 UnsupportedParamsError unless told to drop what the upstream cannot take.
        "litellm_settings": {"use_chat_completions_url_for_anthropic_messages": True,
                             "drop_params": True},
        # One deployment per model: a cooldown after an injected fault would refuse the next
        # check's requests with "No deployments available" (a gateway policy, not a mapping).
        "router_settings": {"disable_cooldowns": True},
    }


@dataclass(frozen=True)
class Gateway:
    url: str
    upstream: ServedMock
    log: Path
    key: str = MASTER_KEY  # what LiteLLM's clients present

    @property
    def base_urls(self) -> tuple[str, ...]:
        return (f"openai-chat={self.url}/v1", f"anthropic-messages={self.url}")


@pytest.fixture(scope="session")
def litellm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    binary = require_litellm()
    folder = tmp_path_factory.mktemp("litellm")
    with ServedMock(MockConfig()) as upstream:
        cfg, log = folder / "config.yaml", folder / "litellm.log"
        cfg.write_text(yaml.safe_dump(config(upstream.url)))
        env = {"LITELLM_LOCAL_MODEL_COST_MAP": "True"}  # no fetch from GitHub
        with spawned(lambda port: [binary, "--config", str(cfg), "--host", "127.0.0.1",
                                   "--port", str(port)],
                     "/health/liveliness", log, STARTUP_S, "LiteLLM", env) as (url, took):
            print(f"LiteLLM up in {took:.1f} s on {url}")  # shown with -s; the report keeps it
            yield Gateway(url, upstream, log)
