"""The pytest plugin (``pytest11`` entry point ``vlm_harness``): the contract suite in your tests.

Thin by design, after pytest-recording: options under one group (``--vlm-*``, each with an ini
twin ``vlm_*``), two markers, a handful of fixtures and one hookspec. Settings resolve per test
as **command line > ``@pytest.mark.vlm(...)`` > the ``vlm_config`` fixture > ini file > project
config file (:mod:`harness.config`) > defaults**: ``vlm_config`` is the overridable layer
(defaults, config file and ini; override it in a conftest to change a project's defaults) and
``vlm_settings`` the resolved value every other fixture uses. ``@pytest.mark.live`` skips a
test, naming the variable, unless the provider's key is set. Only ``pytest`` and the standard
library are imported at start-up; the harness itself is imported inside hooks and fixtures, so
installing it costs other test suites nothing."""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from harness.cases import CaseRun
    from harness.mock.config import MockConfig
    from harness.mock.serve import ServedMock
    from harness.report.results import RunResult
    from harness.suite import VlmConfig
    from harness.targets.base import Target

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


class VlmHookspecs:
    """Hooks other plugins (or a conftest) may implement."""

    @pytest.hookspec
    def pytest_vlm_configure_checks(self, registry: Any, config: pytest.Config) -> None:
        """Register extra contract checks before the first ``vlm_contract`` run of a session.

        ``registry`` is :mod:`harness.checks.registry`: decorate with
        ``registry.check(capability=..., protocols=..., kind=...)``. Checks registered here are
        unregistered when the session ends, so each session (and each pytester run) starts clean.
        """


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(VlmHookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("vlm-harness", "VLM contract harness")
    for name, (metavar, text, _) in SETTINGS.items():
        group.addoption(f"--vlm-{name.replace('_', '-')}", dest=f"vlm_{name}", default=None,
                        metavar=metavar, help=text)
        parser.addini(f"vlm_{name}", f"vlm-harness: {text}", type="string", default=None)
    for name, (metavar, text) in REPEATED.items():
        group.addoption(f"--vlm-{name.replace('_', '-')}", dest=f"vlm_{name}", action="append",
                        default=None, metavar=metavar, help=f"{text} (repeatable)")
        parser.addini(f"vlm_{name}", f"vlm-harness: {text} (one per line)", type="linelist",
                      default=[])
    group.addoption("--vlm-config", dest="vlm_config_file", default=None, metavar="FILE",
                    help="the project config file (default: vlm-harness.toml or pyproject.toml "
                    "[tool.vlm-harness], nearest from the current folder upward)")
    parser.addini("vlm_mock_strict", "vlm-harness: the mock refuses requests past advisory "
                  "limits (ones no document states) instead of reporting them", type="bool",
                  default=False)


def mock_config(config: pytest.Config, **values: Any) -> MockConfig:
    """The reference mock's config for fixtures: strict from the ini file (``vlm_mock_strict``)
    or the project config file (``strict``). Its clock stays the fast one of MockConfig."""
    from harness.mock.config import MockConfig

    strict = bool(config.getini("vlm_mock_strict")) or bool(project_config(config).get("strict"))
    return MockConfig(strict=strict, **values)


def pytest_configure(config: pytest.Config) -> None:
    file_layer(config), ini_layer(config), cli_layer(config)  # bad values stop pytest at once
    if not hasattr(config, "workerinput"):  # xdist workers send their reports to the controller
        config.pluginmanager.register(CaseReport(config), "vlm-case-report")
    config.addinivalue_line(
        "markers", "live(*providers): talks to a live provider; skipped, naming the variable, "
        "unless each named provider's key (default: --vlm-provider) is set")
    config.addinivalue_line(
        "markers", "vlm(**settings): vlm-harness settings for this test (target=, provider=, "
        "base_url=, checks=, seed=...); the command line still wins")


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


# --- the live marker --------------------------------------------------------------------

def live_skip_reason(spec: str | tuple[str, ...]) -> str | None:
    """Why a ``live`` test cannot run now (the unset variables), or None."""
    from harness import providers

    names = spec if isinstance(spec, tuple) else tuple(n.strip() for n in spec.split(",") if n.strip())
    everyone = not names or names == ("all",)
    profiles = [p for p in providers.all_profiles() if p.name != "local"] if everyone else [
        providers.get(n) for n in names]
    needed: dict[str, list[str]] = {}
    for profile in profiles:
        for api in profile.apis:
            # A local server is reached by its URL; its key is optional.
            var = api.base_url_env if profile.name == "local" else (
                None if api.auth.optional else api.auth.env)
            if var:
                needed.setdefault(profile.name, []).append(var)
    missing = {name: sorted({v for v in vs if not os.environ.get(v)}) for name, vs in needed.items()}
    if everyone:  # "all": runs when any provider can
        if needed and all(missing.values()):
            unset = sorted({v for vs in missing.values() for v in vs})
            return f"none of {', '.join(unset)} is set"
        return None
    unset = sorted({v for vs in missing.values() for v in vs})
    if not unset:
        return None
    return f"{unset[0]} is not set" if len(unset) == 1 else f"{', '.join(unset)} are not set"


def _live_reason(config: pytest.Config, item: pytest.Item, marker: pytest.Mark) -> str | None:
    names = tuple(marker.args) or tuple(filter(None, [marker.kwargs.get("provider")]))
    if not names:  # the provider setting, without the fixture layer (fixtures come later)

        names = (resolve(config, item, project_layer(config)).provider,)
    return live_skip_reason(names if len(names) > 1 else names[0])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # A skip marker (rather than pytest.skip in a hook) so the report points at the test.
    for item in items:
        marker = item.get_closest_marker("live")
        if marker is None:
            continue
        try:
            reason = _live_reason(config, item, marker)
        except KeyError as exc:  # an unknown provider or setting: a usage error, with choices
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
        if reason:
            item.add_marker(pytest.mark.skip(reason=reason))


# --- one item per contract case (harness.contract(...).parametrize()) --------------------

def _collection_settings(config: pytest.Config, node: pytest.Item | pytest.Collector) -> VlmConfig:
    """Settings known at collection: command line > vlm marker > ini > config file (the
    ``vlm_config`` fixture is not available before tests run)."""
    return resolve(config, node, project_layer(config))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vlm_case" not in metafunc.fixturenames:
        return
    from harness.cases import collect

    try:
        cases = collect(_collection_settings(metafunc.config, metafunc.definition))
    except KeyError as exc:  # an unknown provider, check or setting: a usage error with choices
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: {exc}") from None
    metafunc.parametrize("vlm_case", cases, ids=[c.id for c in cases], indirect=True)


@pytest.fixture(scope="session")
def _vlm_case_targets() -> Iterator[dict[Any, Target]]:
    """One target per distinct settings for the session (per xdist worker): an in-process mock
    each, or clients of the one served mock or gateway the settings name."""
    targets: dict[Any, Target] = {}
    yield targets
    for target in targets.values():
        target.close()


@pytest.fixture
def vlm_case(request: pytest.FixtureRequest, _vlm_case_targets: dict[Any, Target],
             _vlm_checks: None) -> CaseRun:
    """The contract case this item runs (parametrized by the plugin): ``vlm_case.check()``."""
    from harness.cases import CaseRun
    from harness.errors import HarnessError

    settings = _collection_settings(request.config, request.node)
    key = settings.replace(reports_dir=None)
    if key not in _vlm_case_targets:
        try:
            _vlm_case_targets[key] = settings.make_target()
        except HarnessError as exc:
            pytest.fail(f"vlm-harness: {exc}", pytrace=False)
    return CaseRun(request.param, settings, _vlm_case_targets[key], request.node)


class CaseReport:
    """Collects the rows of every ``vlm_case`` item, the workers' too under xdist (their
    reports reach the controller's ``pytest_runtest_logreport``), and writes one merged
    results.json / junit.xml / index.html at session end when a reports folder is set."""

    def __init__(self, config: pytest.Config) -> None:
        from datetime import UTC, datetime

        self.config = config
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.payloads: list[dict[str, Any]] = []

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call":
            from harness.cases import rows_of

            self.payloads.extend(rows_of(report.user_properties))

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        reports_dir = {**file_layer(self.config), **ini_layer(self.config),
                       **cli_layer(self.config)}.get("reports_dir")
        if not (self.payloads and reports_dir):
            return
        from pathlib import Path

        from harness import waivers
        from harness.cases import merged_result
        from harness.runner_cli import write_reports

        args = shlex.join(["pytest", *self.config.invocation_params.args])
        merged = merged_result(self.payloads, started=self.started, command=args)
        write_reports(waivers.apply(merged, project_layer(self.config).waiver), Path(reports_dir))


def _show(value: Any) -> str:
    if isinstance(value, tuple):  # repeated specs, or waivers (shown by count)
        return ",".join(value) if all(isinstance(v, str) for v in value) else f"{len(value)} entries"
    return str(value)


def pytest_report_header(config: pytest.Config) -> str | None:
    given = {**file_layer(config), **ini_layer(config), **cli_layer(config)}
    path = project_config(config).path
    if not given and path is None:
        return None
    shown = ", ".join(f"{k}={_show(v)}" for k, v in sorted(given.items()))
    return f"vlm-harness: {shown}" + (f" (config: {path})" if path else "")


# --- fixtures ---------------------------------------------------------------------------

@pytest.fixture
def vlm_config(pytestconfig: pytest.Config) -> VlmConfig:
    """The project layer: defaults, the config file, then the ini file. Override it in a conftest
    to change a project's defaults, deriving from the parent:
    ``return vlm_config.replace(provider="mimo")``."""

    return project_layer(pytestconfig)


@pytest.fixture
def vlm_settings(request: pytest.FixtureRequest, vlm_config: VlmConfig) -> VlmConfig:
    """The resolved settings of this test: command line > vlm marker > vlm_config."""
    return resolve(request.config, request.node, vlm_config)


@pytest.fixture
def vlm_mock_app(request: pytest.FixtureRequest, vlm_settings: VlmConfig) -> Starlette:
    """A fresh reference mock app (ASGI), seeded like the run."""
    from harness.mock.app import build_app

    return build_app(mock_config(request.config, seed=vlm_settings.seed))


@pytest.fixture
def vlm_mock(vlm_settings: VlmConfig) -> Iterator[Target]:
    """The in-process mock target, whatever ``--vlm-target`` says."""
    from harness.targets import make_target

    target = make_target(vlm_settings.replace(target="mock").target_options())
    yield target
    target.close()


@pytest.fixture(scope="session")
def vlm_served_mock(pytestconfig: pytest.Config) -> Iterator[ServedMock]:
    """The mock on a loopback port for the whole session (``.url``, ``.base_url(provider,
    label)``); seeded by ``--vlm-seed``/``vlm_seed``."""
    from harness.mock.serve import ServedMock

    seed = {**file_layer(pytestconfig), **ini_layer(pytestconfig),
            **cli_layer(pytestconfig)}.get("seed", 0)
    with ServedMock(mock_config(pytestconfig, seed=seed, job_step_s=0.02)) as served:
        yield served


def failure_message(exc: Exception) -> str:
    """A harness error as a test failure: the message and the CLI's exit status for it."""
    from harness.errors import ExitCode

    code = int(getattr(exc, "exit_code", ExitCode.USAGE))
    return f"vlm-harness: {exc} (exit status {code}: {ExitCode(code).name.lower()})"


@pytest.fixture
def vlm_target(vlm_settings: VlmConfig) -> Iterator[Target]:
    """The target the settings name: mock, url, cassette, live or local (closed afterwards)."""
    from harness.errors import HarnessError

    try:
        target = vlm_settings.make_target()
    except HarnessError as exc:
        pytest.fail(failure_message(exc), pytrace=False)
    yield target
    target.close()


@pytest.fixture
def vlm_client(vlm_target: Target) -> Iterator[Callable[..., httpx.Client]]:
    """``vlm_client(provider, protocol=None, host="default", auth=True, headers=None)``: an
    httpx client whose base URL is that API's base on the configured target, key attached. A
    target that cannot reach the API (no key for live...) skips the test with its reason."""
    from harness import providers

    made: list[httpx.Client] = []

    def make(provider: str, protocol: str | None = None, host: str = "default", *,
             auth: bool = True, headers: dict[str, str] | None = None) -> httpx.Client:
        profile = providers.get(provider)
        api = profile.api(protocol) if protocol else profile.apis[0]
        reason = vlm_target.skip_reason(profile, api)
        if reason:
            pytest.skip(reason)
        client = vlm_target.client(profile, api, host, auth=auth, headers=headers)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


@pytest.fixture(scope="session")
def _vlm_checks(pytestconfig: pytest.Config) -> Iterator[None]:
    """Lets plugins register checks once per session, and takes them away afterwards."""
    from harness.checks import registry

    before = set(registry.registered())
    pytestconfig.hook.pytest_vlm_configure_checks(registry=registry, config=pytestconfig)
    yield
    for name in set(registry.registered()) - before:
        registry.unregister(name)


@pytest.fixture
def vlm_contract(request: pytest.FixtureRequest, vlm_settings: VlmConfig, vlm_target: Target,
                 _vlm_checks: None) -> RunResult:
    """The contract suite run on the configured target: ``assert vlm_contract.exit_code == 0``
    (3 when nothing was checked, unless ``allow_empty``)."""
    from harness.errors import HarnessError
    from harness.suite import run_contract

    args = shlex.join(["pytest", *request.config.invocation_params.args])
    try:
        return run_contract(vlm_settings, target=vlm_target, command=args)
    except HarnessError as exc:  # e.g. the target is unreachable (exit status 4 on the CLI)
        pytest.fail(failure_message(exc), pytrace=False)
