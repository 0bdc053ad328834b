"""Gateway options: API=URL base URLs, [API:]Name=Value headers, MODEL=ALIAS aliases."""

from __future__ import annotations

import pytest

from harness import providers
from harness.errors import UsageError
from harness.targets import endpoints
from harness.targets.url import UrlTarget


def test_a_bare_url_keeps_its_meaning_and_api_urls_are_per_protocol() -> None:
    default, per_api = endpoints.base_urls(["http://gw:4000/v1?x=1",
                                            "anthropic-messages=http://gw:4000"])
    assert default == "http://gw:4000/v1?x=1"  # '=' in a query is not API=URL
    assert dict(per_api) == {"anthropic-messages": "http://gw:4000"}
    assert endpoints.base_urls("http://gw") == ("http://gw", {})


@pytest.mark.parametrize("specs, message", [
    (["open-chat=http://gw"], "unknown API in --base-url 'open-chat=http://gw' 'open-chat'; "
                              "known: anthropic-messages, fal-queue"),
    (["http://a", "http://b"], "two bare URLs"),
    (["openai-chat=http://a", "openai-chat=http://b"], "openai-chat is given twice"),
    (["openai-chat="], "no URL after '='"),
])
def test_bad_base_urls_are_usage_errors(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match="--base-url") as info:
        endpoints.base_urls(specs)
    assert message in str(info.value)


def test_headers_keep_order_and_scope() -> None:
    assert endpoints.headers(["x-gw=a=b", "anthropic-messages:x-route=mimo"]) == (
        (None, "x-gw", "a=b"), ("anthropic-messages", "x-route", "mimo"))
    with pytest.raises(UsageError, match="--vlm-header 'x gw=1'"):
        endpoints.headers("x gw=1", "--vlm-header")
    with pytest.raises(UsageError, match="unknown API in --header"):
        endpoints.headers("nope:x-a=1")
    with pytest.raises(UsageError, match="expected"):
        endpoints.headers("x-a")


def test_model_aliases_name_documented_models_and_map_one_to_one() -> None:
    assert dict(endpoints.model_aliases(["MiniCPM-V-4.6-Instruct=minicpm"])) == {
        "MiniCPM-V-4.6-Instruct": "minicpm"}
    with pytest.raises(UsageError, match=r"unknown model in --model 'gpt=x' 'gpt'; known: .*mimo-v2-omni"):
        endpoints.model_aliases("gpt=x")
    with pytest.raises(UsageError, match="one alias stands for two models"):
        endpoints.model_aliases(["MiniCPM-o-4.5=m", "MiniCPM-V-4.6-Instruct=m"])
    with pytest.raises(UsageError, match="PROVIDER_MODEL=ALIAS"):
        endpoints.model_aliases("minicpm")


def test_the_url_target_serves_each_named_api_at_its_own_base() -> None:
    mimo = providers.get("mimo")
    chat, messages = mimo.api("openai-chat"), mimo.api("anthropic-messages")
    both = UrlTarget(endpoints.target_options(
        kind="url", base_url=["http://gw:4000/v1", "anthropic-messages=http://gw:4000/"]))
    assert both.api_base(mimo, chat) == "http://gw:4000/v1"
    assert both.api_base(mimo, messages) == "http://gw:4000"
    assert both.skip_reason(mimo, chat) is None and both.skip_reason(mimo, messages) is None
    only = UrlTarget(endpoints.target_options(kind="url", base_url="openai-chat=http://gw:4000/v1"))
    assert only.skip_reason(mimo, chat) is None
    assert "add --base-url anthropic-messages=URL" in (only.skip_reason(mimo, messages) or "")
    path = UrlTarget(endpoints.target_options(kind="url", base_url="http://gw:4000/v1"))
    assert "add --base-url anthropic-messages=URL" in (path.skip_reason(mimo, messages) or "")
    with pytest.raises(UsageError, match="http\\(s\\) URL with a host, not 'gw:4000'"):
        UrlTarget(endpoints.target_options(kind="url", base_url="openai-chat=gw:4000"))
