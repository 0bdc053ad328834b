"""Settings precedence, as documented: command line > vlm marker > vlm_config fixture > ini >
defaults, each layer overriding only the settings it names."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

LAYERED = """
    import os

    import pytest

    CLI = os.environ.get("EXPECT_CLI")

    def test_fixture_layer_over_ini(vlm_settings):
        assert vlm_settings.provider == (CLI or "mimo")  # conftest beats ini (fal)
        assert vlm_settings.seed == 7                    # from ini, kept by the fixture layer
        assert vlm_settings.target == "mock"             # default

    @pytest.mark.vlm(provider="local", checks="text")
    def test_marker_over_fixture(vlm_settings, vlm_config):
        assert vlm_settings.provider == (CLI or "local")
        assert vlm_settings.checks == "text"
        assert vlm_config.provider == "mimo"  # the fixture layer itself is untouched

    @pytest.mark.vlm(provider="wavespeed", seed=1)
    class TestNested:
        @pytest.mark.vlm(provider="modelbest")
        def test_closest_marker_wins(self, vlm_settings):
            assert vlm_settings.provider == (CLI or "modelbest")
            assert vlm_settings.seed == 1
"""


@pytest.fixture
def layered(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeini("[pytest]\nvlm_provider = fal\nvlm_seed = 7\n")
    pytester.makeconftest("""
        import pytest

        @pytest.fixture
        def vlm_config(vlm_config):
            return vlm_config.replace(provider="mimo")
    """)
    pytester.makepyfile(LAYERED)
    return pytester


def test_marker_over_fixture_over_ini_over_defaults(layered: pytest.Pytester,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EXPECT_CLI", raising=False)
    layered.runpytest().assert_outcomes(passed=3)


def test_command_line_wins_over_every_layer(layered: pytest.Pytester,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXPECT_CLI", "fal,local")
    layered.runpytest("--vlm-provider", "fal,local").assert_outcomes(passed=3)


def test_ini_over_defaults_without_a_fixture_override(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nvlm_target = url\nvlm_base_url = http://127.0.0.1:9/\n"
                     "vlm_max_cost = 0.5\n")
    pytester.makepyfile("""
        def test_ini(vlm_settings):
            assert (vlm_settings.target, vlm_settings.base_url) == ("url", "http://127.0.0.1:9/")
            assert vlm_settings.max_cost == 0.5 and vlm_settings.provider == "all"
    """)
    pytester.runpytest().assert_outcomes(passed=1)


def test_an_unknown_marker_setting_names_the_known_ones(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.vlm(providr="mimo")
        def test_typo(vlm_settings):
            pass
    """)
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*unknown vlm setting 'providr'; known: *provider*"])


def test_time_budgets_from_ini_and_command_line_reach_the_target(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nvlm_target = local\nvlm_check_timeout = 7\n")
    pytester.makepyfile("""
        def test_budgets(vlm_settings, vlm_target):
            assert (vlm_settings.check_timeout, vlm_settings.run_timeout) == (7.0, 90.0)
            assert vlm_target.options.timeout_s == 2.5

        def test_local_default(vlm_config):
            assert vlm_config.target_options().timeout_s == 120.0  # a GPU server loads a model
    """)
    pytester.runpytest("--vlm-timeout", "2.5", "--vlm-run-timeout", "90").assert_outcomes(passed=2)
