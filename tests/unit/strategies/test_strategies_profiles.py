"""Unit tests of harness.strategies.profiles: which Hypothesis profile runs where."""

from __future__ import annotations

import pytest
from hypothesis import Phase, settings

from harness.errors import UnknownNameError
from harness.strategies import PROFILES, chosen, load, settings_for


def test_profiles_are_registered_with_hypothesis() -> None:
    for name in ("dev", "ci", "live"):
        assert settings.get_profile(name).deadline is None
    assert settings.get_profile("ci").derandomize and settings.get_profile("ci").database is None
    live = settings.get_profile("live")
    assert live.max_examples <= 5 and Phase.shrink not in live.phases  # a shrink step is a request
    assert PROFILES["dev"]["max_examples"] > PROFILES["live"]["max_examples"]


def test_environment_then_target_then_ci_then_dev(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    monkeypatch.delenv("CI", raising=False)
    assert chosen() == "dev" and chosen("mock") == "dev"
    assert chosen("live") == "live" and chosen("local") == "live"
    monkeypatch.setenv("CI", "true")
    assert chosen("mock") == "ci" and chosen("live") == "live"
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "dev")
    assert chosen("live") == "dev"
    monkeypatch.setenv("HYPOTHESIS_PROFILE", "nightly")
    with pytest.raises(UnknownNameError, match="known: ci, dev, live"):
        chosen()


def test_settings_for_overrides_without_touching_the_default() -> None:
    before = settings.default
    made = settings_for("ci", max_examples=3)
    assert made.max_examples == 3 and made.derandomize
    assert settings.default is before
    with pytest.raises(UnknownNameError):
        settings_for("nightly")


def test_load_makes_a_profile_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HYPOTHESIS_PROFILE", raising=False)
    settings.register_profile("vlm-test-previous", parent=settings.default)  # to restore it
    try:
        assert load(target="live") == "live"
        assert settings.default.max_examples == PROFILES["live"]["max_examples"]
    finally:
        settings.load_profile("vlm-test-previous")
