"""The plugin's hookspec: another plugin (here a conftest) registers a contract check through
``pytest_vlm_configure_checks``; it runs in ``vlm_contract`` and is gone after the session."""

from __future__ import annotations

import pytest

from harness.checks.registry import registered

pytest_plugins = ["pytester"]


def test_a_plugin_registers_a_check_that_runs_and_can_fail(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("""
        def pytest_vlm_configure_checks(registry, config):
            @registry.check(capability="text", protocols=["openai-chat"])
            def house_rule(ctx):
                \"\"\"Our gateway must answer in under a minute (always fails here).\"\"\"
                yield ctx.finding("house rule broken on purpose")
    """)
    pytester.makepyfile("""
        def test_house_rule(vlm_contract):
            (case,) = [c for c in vlm_contract.cases if c.check == "house-rule"]
            assert case.outcome.value == "fail"
            assert case.findings[0].message == "house rule broken on purpose"
            assert vlm_contract.exit_code == 1
    """)
    args = ("--vlm-provider", "local", "--vlm-checks", "house-rule")
    pytester.runpytest(*args).assert_outcomes(passed=1)
    assert "house-rule" not in registered()  # unregistered at the end of the session
    pytester.runpytest(*args).assert_outcomes(passed=1)  # so a second session may register it


def test_the_hookspec_is_known_to_pytest(pytester: pytest.Pytester) -> None:
    pytester.makeconftest("def pytest_vlm_configure_checks(registry):\n    pass\n")
    pytester.makepyfile("def test_x(): pass")
    pytester.runpytest().assert_outcomes(passed=1)
    pytester.makeconftest("def pytest_vlm_configure_chekcs(registry):\n    pass\n")
    result = pytester.runpytest()
    result.stdout.fnmatch_lines(["*unknown hook 'pytest_vlm_configure_chekcs'*"])
