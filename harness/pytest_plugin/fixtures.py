"""The plugin's fixtures: settings, the mock (in process or served), targets, clients, runs.

``vlm_config`` is the overridable project layer and ``vlm_settings`` the resolved value every
other fixture uses (:mod:`harness.pytest_plugin.settings`); ``vlm_case`` runs one contract case
item that ``pytest_generate_tests`` parametrized. A harness error becomes a test failure that
names the CLI's exit status for it. The harness is imported inside each fixture, so a test
suite that never uses them pays nothing.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness.pytest_plugin.settings import (
    cli_layer,
    collection_settings,
    file_layer,
    ini_layer,
    mock_config,
    project_layer,
    resolve,
)

if TYPE_CHECKING:
    import httpx
    from starlette.applications import Starlette

    from harness.cases import CaseRun
    from harness.mock.serve import ServedMock
    from harness.report.results import RunResult
    from harness.suite import VlmConfig
    from harness.targets.base import Target


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

    settings = collection_settings(request.config, request.node)
    key = settings.replace(reports_dir=None)
    if key not in _vlm_case_targets:
        try:
            _vlm_case_targets[key] = settings.make_target()
        except HarnessError as exc:
            pytest.fail(f"vlm-harness: {exc}", pytrace=False)
    return CaseRun(request.param, settings, _vlm_case_targets[key], request.node)


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
