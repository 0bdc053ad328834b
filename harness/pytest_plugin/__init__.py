"""The pytest plugin (``pytest11`` entry point ``vlm_harness``): the contract suite in your tests.

Thin by design, after pytest-recording: options under one group (``--vlm-*``, each with an ini
twin ``vlm_*``), two markers, a handful of fixtures and one hookspec. Settings resolve per test
as **command line > ``@pytest.mark.vlm(...)`` > the ``vlm_config`` fixture > ini file > project
config file (:mod:`harness.config`) > defaults**: ``vlm_config`` is the overridable layer
(defaults, config file and ini; override it in a conftest to change a project's defaults) and
``vlm_settings`` the resolved value every other fixture uses. ``@pytest.mark.live`` skips a
test, naming the variable, unless the provider's key is set. Only ``pytest`` and the standard
library are imported at start-up; the harness itself is imported inside hooks and fixtures, so
installing it costs other test suites nothing. This module holds the hooks (options, markers,
the live skip, contract case items and their merged report); the settings and their layers
live in :mod:`~harness.pytest_plugin.settings`, the fixtures in
:mod:`~harness.pytest_plugin.fixtures` (imported here, where pytest looks for them)."""

from __future__ import annotations

import os
import shlex
from typing import Any

import pytest

from harness.pytest_plugin.fixtures import (  # the fixtures pytest finds in this plugin module
    _vlm_case_targets,
    _vlm_checks,
    vlm_case,
    vlm_client,
    vlm_config,
    vlm_contract,
    vlm_mock,
    vlm_mock_app,
    vlm_served_mock,
    vlm_settings,
    vlm_target,
)
from harness.pytest_plugin.settings import (
    REPEATED,
    SETTINGS,
    cli_layer,
    collection_settings,
    file_layer,
    ini_layer,
    project_config,
    project_layer,
    resolve,
)

__all__ = ["_vlm_case_targets", "_vlm_checks", "vlm_case", "vlm_client", "vlm_config",
           "vlm_contract", "vlm_mock", "vlm_mock_app", "vlm_served_mock", "vlm_settings",
           "vlm_target"]


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
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "vlm_case" not in metafunc.fixturenames:
        return
    from harness.cases import collect

    try:
        cases = collect(collection_settings(metafunc.config, metafunc.definition))
    except KeyError as exc:  # an unknown provider, check or setting: a usage error with choices
        raise pytest.UsageError(f"{metafunc.definition.nodeid}: {exc}") from None
    metafunc.parametrize("vlm_case", cases, ids=[c.id for c in cases], indirect=True)


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
