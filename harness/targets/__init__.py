"""Targets by kind: :func:`make_target` builds one from :class:`TargetOptions`.

The built-in kinds (``mock``, ``url``, ``cassette``, ``live``, ``local``, ``gateway``) are named by module
path and imported only when asked for, so importing this package (the pytest plugin does, at startup) pulls in
neither Starlette nor ``websockets``. A project adds its own kind (a company gateway with its
own auth, say) with :func:`register_target`; a name is registered once, as check names are, so
two plugins cannot silently replace each other's target.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Protocol

from harness.errors import UnknownNameError, UsageError
from harness.targets.base import Target, TargetKind, TargetOptions

if TYPE_CHECKING:
    from harness.mock.config import MockConfig

__all__ = ["Target", "TargetFactory", "TargetKind", "TargetOptions", "known_targets",
           "make_target", "register_target"]


class TargetFactory(Protocol):
    """Anything that builds a target; the target classes themselves are factories."""

    def __call__(self, options: TargetOptions, *,
                 mock_config: MockConfig | None = None) -> Target: ...


_REGISTRY: dict[str, TargetFactory | str] = {
    TargetKind.MOCK.value: "harness.targets.mock:MockTarget",
    TargetKind.URL.value: "harness.targets.url:UrlTarget",
    TargetKind.CASSETTE.value: "harness.targets.cassette:CassetteTarget",
    TargetKind.LIVE.value: "harness.targets.live:LiveTarget",
    TargetKind.LOCAL.value: "harness.targets.local:LocalTarget",
    TargetKind.GATEWAY.value: "harness.targets.gateway:GatewayTarget",
}


def _name(kind: TargetKind | str) -> str:
    return kind.value if isinstance(kind, TargetKind) else kind


def register_target(kind: TargetKind | str, factory: TargetFactory | str, *,
                    replace: bool = False) -> None:
    """Make ``kind`` buildable by ``factory`` (or a ``"module:attr"`` path to one)."""
    name = _name(kind)
    if name in _REGISTRY and not replace:
        raise UsageError(f"target kind {name!r} is already registered; pass replace=True to "
                         "override it on purpose")
    _REGISTRY[name] = factory


def known_targets() -> list[str]:
    return sorted(_REGISTRY)


def _resolve(entry: TargetFactory | str) -> TargetFactory:
    if not isinstance(entry, str):
        return entry
    module, _, attr = entry.partition(":")
    factory: TargetFactory = getattr(import_module(module), attr)
    return factory


def make_target(options: TargetOptions, *, mock_config: MockConfig | None = None) -> Target:
    """Build the target ``options.kind`` names; an unknown kind lists the known ones."""
    name = _name(options.kind)
    if name not in _REGISTRY:
        raise UnknownNameError("target kind", name, _REGISTRY)
    return _resolve(_REGISTRY[name])(options, mock_config=mock_config)
