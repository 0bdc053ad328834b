"""The live target: documented base URLs, keys from the environment, skips without them.

Nothing here sends a request: assertions are on the clients' base URLs and headers.
"""

from __future__ import annotations

import pytest

from harness import providers
from harness.targets.base import TargetKind, TargetOptions
from harness.targets.live import LiveTarget

PLANTED = "sk-planted-0123456789abcdef"


@pytest.fixture
def target() -> LiveTarget:
    return LiveTarget(TargetOptions(kind=TargetKind.LIVE, timeout_s=7.0))


def test_skips_with_the_variable_name_when_the_key_is_unset(
        target: LiveTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MODELBEST_API_KEY", raising=False)
    profile = providers.get("modelbest")
    assert target.skip_reason(profile, profile.apis[0]) == "MODELBEST_API_KEY is not set"
    assert target.key(profile, profile.apis[0]) is None


def test_local_provider_is_left_to_the_local_target(target: LiveTarget) -> None:
    profile = providers.get("local")
    assert "local target" in (target.skip_reason(profile, profile.apis[0]) or "")


def test_documented_base_url_and_auth_headers_when_the_key_is_set(
        target: LiveTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIMO_API_KEY", PLANTED)
    mimo = providers.get("mimo")
    chat, messages = mimo.api("openai-chat"), mimo.api("anthropic-messages")
    assert target.skip_reason(mimo, chat) is None
    with target.client(mimo, chat) as client:
        assert str(client.base_url) == "https://api.shubiaobiao.com/v1/"
        assert client.headers["api-key"] == PLANTED
        assert client.timeout.read == 7.0
    with target.client(mimo, messages, auth=False, headers={"x-extra": "1"}) as client:
        assert str(client.base_url) == "https://api.shubiaobiao.com/anthropic/"
        assert "x-api-key" not in client.headers
        assert client.headers["anthropic-version"] == "2023-06-01"
        assert client.headers["x-extra"] == "1"


def test_other_hosts_use_their_documented_urls(target: LiveTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAL_KEY", PLANTED)
    fal = providers.get("fal")
    with target.client(fal, fal.apis[0], "queue") as client:
        assert str(client.base_url) == "https://queue.fal.run"
        assert client.headers["authorization"] == f"Key {PLANTED}"


def test_planted_key_is_not_in_repr(target: LiveTarget, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MIMO_API_KEY", PLANTED)
    mimo = providers.get("mimo")
    target.client(mimo, mimo.apis[0]).close()
    assert PLANTED not in repr(target)
    assert PLANTED not in repr(target.budget("mimo"))
