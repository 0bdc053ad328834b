"""The ``live`` marker: a test that needs a provider's key is skipped, naming the variable, until
the key is set; which provider comes from the marker or, failing that, the settings."""

from __future__ import annotations

import pytest

from harness.secrets import key_variables

pytest_plugins = ["pytester"]

LIVE = """
    import pytest

    @pytest.mark.live("wavespeed")
    def test_wavespeed():
        pass

    @pytest.mark.live
    def test_configured_provider():
        pass

    @pytest.mark.live("fal", "mimo")
    def test_two_providers():
        pass

    @pytest.mark.live("local")
    def test_local_server():
        pass
"""


@pytest.fixture
def no_keys(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in [*key_variables(), "VLM_HARNESS_LOCAL_URL"]:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_live_tests_skip_with_the_variable_name(pytester: pytest.Pytester,
                                                no_keys: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(LIVE)
    result = pytester.runpytest("-rs", "--vlm-provider", "modelbest")
    result.assert_outcomes(skipped=4)
    result.stdout.fnmatch_lines_random([
        "SKIPPED [[]1[]] *:3: WAVESPEED_API_KEY is not set",
        "SKIPPED [[]1[]] *:7: MODELBEST_API_KEY is not set",
        "SKIPPED [[]1[]] *:11: FAL_KEY, MIMO_API_KEY are not set",
        "SKIPPED [[]1[]] *:15: VLM_HARNESS_LOCAL_URL is not set",
    ])


def test_live_tests_run_once_the_keys_are_set(pytester: pytest.Pytester,
                                              no_keys: pytest.MonkeyPatch) -> None:
    for name in ("WAVESPEED_API_KEY", "MODELBEST_API_KEY", "FAL_KEY", "MIMO_API_KEY"):
        no_keys.setenv(name, f"dummy-{name.lower()}")
    no_keys.setenv("VLM_HARNESS_LOCAL_URL", "http://127.0.0.1:9/v1")
    pytester.makepyfile(LIVE)
    pytester.runpytest("--vlm-provider", "modelbest").assert_outcomes(passed=4)


def test_one_missing_key_of_two_is_named(pytester: pytest.Pytester,
                                         no_keys: pytest.MonkeyPatch) -> None:
    no_keys.setenv("MIMO_API_KEY", "dummy-mimo-key")
    pytester.makepyfile(LIVE)
    result = pytester.runpytest("-rs", "-k", "two_providers")
    result.stdout.fnmatch_lines(["SKIPPED * FAL_KEY is not set"])


def test_all_providers_need_any_one_key(pytester: pytest.Pytester,
                                        no_keys: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.live
        def test_any():
            pass
    """)
    result = pytester.runpytest("-rs")
    result.stdout.fnmatch_lines([
        "SKIPPED * none of FAL_KEY, MIMO_API_KEY, MODELBEST_API_KEY, WAVESPEED_API_KEY is set"])
    no_keys.setenv("FAL_KEY", "dummy-fal-key")
    pytester.runpytest().assert_outcomes(passed=1)


def test_the_vlm_marker_names_the_provider_of_a_bare_live_marker(
        pytester: pytest.Pytester, no_keys: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.live
        @pytest.mark.vlm(provider="fal")
        def test_fal():
            pass
    """)
    pytester.runpytest("-rs").stdout.fnmatch_lines(["SKIPPED * FAL_KEY is not set"])


def test_vlm_client_skips_when_the_live_target_has_no_key(
        pytester: pytest.Pytester, no_keys: pytest.MonkeyPatch) -> None:
    pytester.makepyfile("""
        def test_client(vlm_client):
            vlm_client("wavespeed")
            raise AssertionError("must have been skipped before any request")
    """)
    result = pytester.runpytest("-rs", "--vlm-target", "live")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["SKIPPED * WAVESPEED_API_KEY is not set"])


def test_an_unknown_provider_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
        import pytest

        @pytest.mark.live("wavespeeed")
        def test_typo():
            pass
    """)
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*test_typo: unknown provider 'wavespeeed'; known: fal, *"])
