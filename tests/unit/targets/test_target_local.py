"""The local target: only the local provider, URL from the option or the environment."""

from __future__ import annotations

import pytest

from harness import providers
from harness.errors import UsageError
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.local import LocalTarget

LOCAL = providers.get("local")
API = LOCAL.apis[0]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("VLM_HARNESS_LOCAL_URL", "VLM_HARNESS_LOCAL_KEY", "VLM_HARNESS_LOCAL_MODEL"):
        monkeypatch.delenv(name, raising=False)


def local(base_url: str | None = None) -> LocalTarget:
    return LocalTarget(TargetOptions(kind=TargetKind.LOCAL, base_url=base_url))


def test_other_providers_are_skipped() -> None:
    modelbest = providers.get("modelbest")
    assert local("http://gpu:8000/v1").skip_reason(modelbest, modelbest.apis[0]) == (
        "the local target serves only the 'local' provider")


def test_without_a_url_it_says_what_to_set() -> None:
    target = local()
    assert target.skip_reason(LOCAL, API) == (
        "set VLM_HARNESS_LOCAL_URL or --base-url (--vlm-base-url under pytest)")
    with pytest.raises(UsageError, match="VLM_HARNESS_LOCAL_URL"):
        target.client(LOCAL, API)


def test_url_from_the_environment_and_the_served_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLM_HARNESS_LOCAL_URL", "http://gpu.lan:30000/v1/")
    monkeypatch.setenv("VLM_HARNESS_LOCAL_MODEL", "openbmb/MiniCPM-V-4")
    target = local()
    assert target.skip_reason(LOCAL, API) is None
    with target.client(LOCAL, API) as client:
        assert str(client.base_url) == "http://gpu.lan:30000/v1/"
        assert "authorization" not in client.headers  # the key is optional
    assert API.default_model() == "openbmb/MiniCPM-V-4"


def test_option_wins_and_a_bare_root_gets_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VLM_HARNESS_LOCAL_URL", "http://elsewhere:1/v1")
    monkeypatch.setenv("VLM_HARNESS_LOCAL_KEY", "local-secret-key")
    with local("http://127.0.0.1:8080").client(LOCAL, API) as client:
        assert str(client.base_url) == "http://127.0.0.1:8080/v1/"
        assert client.headers["authorization"] == "Bearer local-secret-key"
