"""make_target and register_target: built-in kinds, unknown kinds, user kinds."""

from __future__ import annotations

import pytest

from harness import targets
from harness.errors import UnknownNameError, UsageError
from harness.targets import TargetKind, TargetOptions, make_target, register_target
from harness.targets.live import LiveTarget
from harness.targets.local import LocalTarget
from harness.targets.url import UrlTarget


def test_builtin_kinds_build_their_classes() -> None:
    assert isinstance(make_target(TargetOptions(kind=TargetKind.LIVE)), LiveTarget)
    assert isinstance(make_target(TargetOptions(kind="local")), LocalTarget)
    url = make_target(TargetOptions(kind=TargetKind.URL, base_url="http://127.0.0.1:9"))
    assert isinstance(url, UrlTarget)


def test_unknown_kind_lists_the_known_ones() -> None:
    with pytest.raises(UnknownNameError) as info:
        make_target(TargetOptions(kind="mokc"))
    assert str(info.value) == "unknown target kind 'mokc'; known: cassette, gateway, live, local, mock, url"


def test_a_registered_kind_is_built_and_duplicates_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(targets, "_REGISTRY", dict(targets._REGISTRY))
    built: list[TargetOptions] = []

    def factory(options: TargetOptions, *, mock_config: object = None) -> LiveTarget:
        built.append(options)
        return LiveTarget(options)

    register_target("company-gateway", factory)
    assert "company-gateway" in targets.known_targets()
    make_target(TargetOptions(kind="company-gateway"))
    assert [o.kind for o in built] == ["company-gateway"]
    with pytest.raises(UsageError, match="already registered"):
        register_target("company-gateway", factory)
    register_target(TargetKind.LIVE, "harness.targets.local:LocalTarget", replace=True)
    assert isinstance(make_target(TargetOptions(kind=TargetKind.LIVE)), LocalTarget)
