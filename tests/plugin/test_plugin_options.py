"""The plugin as a user meets it: options, ini keys and markers, loaded from the entry point."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]


def test_options_and_ini_keys_appear_in_help(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines([
        "VLM contract harness:",
        "  --vlm-target=KIND*mock (default), url, gateway, cassette, live or local",
        "  --vlm-provider=NAMES*",
        "  --vlm-record-mode=MODE*",
        "  --vlm-seed=N*",
        "  --vlm-upstream=URL*",
        "  --vlm-base-url=*API=*URL*",
        "  --vlm-header=*API:*NAME=VALUE*",
        "  --vlm-model=MODEL=ALIAS*",
        "  --vlm-config=FILE*",
    ])
    result.stdout.fnmatch_lines(["  vlm_target (string)*", "  vlm_base_url (linelist)*"])


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.vlm(provider="local")
        def test_marked(vlm_settings):
            assert vlm_settings.provider == "local"

        @pytest.mark.live("local")
        def test_live():
            pass
    """)
    result = pytester.runpytest("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    pytester.runpytest("--markers").stdout.fnmatch_lines([
        "@pytest.mark.live(*providers): *", "@pytest.mark.vlm(**settings): *"])


def test_plugin_works_where_the_package_is_merely_installed(pytester: pytest.Pytester) -> None:
    # The temp project is outside this repository and has no conftest: only the pytest11 entry
    # point of the installed package can provide these fixtures, in a fresh interpreter.
    assert REPO not in pytester.path.parents
    pytester.makepyfile("""
        def test_fixtures_exist(vlm_settings, vlm_target):
            assert vlm_settings.target == "mock"
            assert vlm_target.kind.value == "mock"
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["plugins:*vlm-contract-harness*"])


def test_plugin_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(vlm_settings): pass")
    result = pytester.runpytest("-p", "no:vlm_harness")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'vlm_settings' not found*"])


def test_settings_are_shown_in_the_header(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nvlm_provider = local\n")
    result = pytester.runpytest("--vlm-target", "mock", "--co")
    result.stdout.fnmatch_lines(["vlm-harness: provider=local, target=mock"])


def test_a_bad_number_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(vlm_settings): pass")
    result = pytester.runpytest("--vlm-seed", "abc")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--vlm-seed: expected an integer, got 'abc'*"])


def test_an_unknown_target_fails_the_test_with_the_known_kinds(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(vlm_target): pass")
    result = pytester.runpytest("--vlm-target", "gatewey")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*vlm-harness: unknown target kind 'gatewey'; known: *"])
