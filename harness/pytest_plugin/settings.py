"""The plugin's settings and the layers they resolve through, for hooks and fixtures alike.

Every setting is an option ``--vlm-<name>`` with an ini twin ``vlm_<name>`` (:data:`SETTINGS`,
:data:`REPEATED`); :func:`resolve` stacks the layers: command line > ``@pytest.mark.vlm(...)``
> the ``vlm_config`` fixture (or, at collection, :func:`project_layer`: the ini file over the
project config file over the defaults). A bad value is a ``pytest.UsageError`` naming the
option, ini key or file. Imports only pytest and the standard library at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from harness.mock.config import MockConfig
    from harness.suite import VlmConfig


def _boolean(raw: str) -> bool:
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError(raw)


# setting -> (metavar, help, converter); the option is --vlm-<setting, dashed>, the ini key vlm_<setting>
SETTINGS: dict[str, tuple[str, str, Callable[[str], Any]]] = {
    "target": ("KIND", "mock (default), url, gateway, cassette, live or local", str),
    "provider": ("NAMES", "all (default) or a comma list of providers", str),
    "record_mode": ("MODE", "vcrpy record mode for cassette targets: none (default), once, all",
                    str),
    "cassette_dir": ("DIR", "where cassette targets keep their recordings", str),
    "checks": ("NAMES", "comma list of contract checks for vlm_contract (default: all)", str),
    "seed": ("N", "seed of generated requests and of the mock's answers (default 0)", int),
    "max_requests": ("N", "live budget: requests per provider", int),
    "max_cost": ("USD", "live budget: estimated USD per provider", float),
    "reports_dir": ("DIR", "vlm_contract also writes results.json, junit.xml, index.html here",
                    str),
    "concurrency": ("N", "cases in flight at once within one contract run (default 1)", int),
    "allow_empty": ("BOOL", "true: a contract run that checks nothing counts as clean (exit 0, "
                    "not 3)", _boolean),
    "timeout": ("S", "seconds for one whole request, stream included (default 30, local 120)",
                float),
    "check_timeout": ("S", "seconds for one check and its requests (default 60, local 180)",
                      float),
    "run_timeout": ("S", "seconds for the whole contract run (default 900, local 1800)", float),
    "upstream": ("URL", "gateway target: a running `vlm-harness serve` as the gateway's upstream "
                 "(default: one served in process)", str),
    "capabilities": ("NAMES", "url/local: capabilities the server offers (text,image,...) "
                     "instead of discovering them", str),
    "local_flavour": ("NAME", "local: the server program behind it (vllm, sglang, llama.cpp, "
                      "llama-cpp-python), whose dialect the checks expect", str),
}

# Repeatable settings (option given several times; ini: one value per line) -> (metavar, help)
REPEATED: dict[str, tuple[str, str]] = {
    "base_url": ("[API=]URL", "url/local targets: a served mock or gateway root, or one API's "
                 "base; API=URL per API (openai-chat=http://gw:4000/v1)"),
    "header": ("[API:]NAME=VALUE", "a header sent with every request (routing headers)"),
    "model": ("MODEL=ALIAS", "the target serves PROVIDER_MODEL as ALIAS (mapped both ways)"),
}


def mock_config(config: pytest.Config, **values: Any) -> MockConfig:
    """The reference mock's config for fixtures: strict from the ini file (``vlm_mock_strict``)
    or the project config file (``strict``). Its clock stays the fast one of MockConfig."""
    from harness.mock.config import MockConfig

    strict = bool(config.getini("vlm_mock_strict")) or bool(project_config(config).get("strict"))
    return MockConfig(strict=strict, **values)


def _convert(name: str, raw: Any, where: str) -> Any:
    if raw is None or raw == "" or not isinstance(raw, str):
        return raw
    try:
        return SETTINGS[name][2](raw.strip())
    except ValueError:
        kind = {"float": "a number", "_boolean": "true or false"}.get(
            SETTINGS[name][2].__name__, "an integer")
        raise pytest.UsageError(f"{where}: expected {kind}, got {raw!r}") from None


def _given(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None and v != ""}


def _repeated(values: list[str] | None) -> tuple[str, ...] | None:
    kept = tuple(v.strip() for v in values or () if v.strip())
    return kept or None


def ini_layer(config: pytest.Config) -> dict[str, Any]:
    return _given({**{n: _convert(n, config.getini(f"vlm_{n}"), f"ini vlm_{n}") for n in SETTINGS},
                   **{n: _repeated(config.getini(f"vlm_{n}")) for n in REPEATED}})


def cli_layer(config: pytest.Config) -> dict[str, Any]:
    return _given({**{n: _convert(n, config.getoption(f"vlm_{n}"), f"--vlm-{n.replace('_', '-')}")
                      for n in SETTINGS},
                   **{n: _repeated(config.getoption(f"vlm_{n}")) for n in REPEATED}})


_PROJECT = pytest.StashKey[Any]()


def project_config(config: pytest.Config) -> Any:
    """The project config file (``--vlm-config``, else the nearest from the invocation folder
    upward), read once per session; a bad file is a usage error naming the file and key."""
    if _PROJECT not in config.stash:
        from harness import config as project
        from harness.errors import HarnessError

        try:
            config.stash[_PROJECT] = project.load(config.getoption("vlm_config_file"),
                                                  start=config.invocation_params.dir)
        except HarnessError as exc:
            raise pytest.UsageError(str(exc).replace("--config", "--vlm-config")) from None
    return config.stash[_PROJECT]


def project_layer(config: pytest.Config) -> VlmConfig:
    """Defaults, then the config file, then the ini file: the layers below markers and the CLI."""
    from harness.suite import VlmConfig

    return VlmConfig().replace(**file_layer(config)).replace(**ini_layer(config))


def file_layer(config: pytest.Config) -> dict[str, Any]:
    """The settings the project config file names (the layer under the ini file)."""
    from harness.suite import VlmConfig

    values = project_config(config).values
    return {name: values[name] for name in VlmConfig.names() if name in values}


def marker_layer(node: pytest.Item | pytest.Collector) -> dict[str, Any]:
    """``vlm`` markers from module to function, the closest winning."""
    out: dict[str, Any] = {}
    for marker in reversed(list(node.iter_markers("vlm"))):
        if marker.args:
            raise pytest.UsageError(f"{node.nodeid}: @pytest.mark.vlm takes keyword settings "
                                    f"only, e.g. vlm(provider='mimo'); got {marker.args!r}")
        out.update(marker.kwargs)
    return out


def resolve(config: pytest.Config, node: pytest.Item | pytest.Collector,
            base: VlmConfig) -> VlmConfig:
    """``base`` (the fixture layer) under the marker layer under the command line."""
    return base.replace(**marker_layer(node)).replace(**cli_layer(config))


def collection_settings(config: pytest.Config, node: pytest.Item | pytest.Collector) -> VlmConfig:
    """Settings known at collection: command line > vlm marker > ini > config file (the
    ``vlm_config`` fixture is not available before tests run)."""
    return resolve(config, node, project_layer(config))
