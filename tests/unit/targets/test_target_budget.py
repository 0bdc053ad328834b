"""The budget wrapper: request and cost limits per provider, Retry-After, no key in messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from types import MappingProxyType

import httpx
import pytest

from harness import providers
from harness.targets import clients
from harness.targets.budget import (
    DEFAULT_USD_PER_REQUEST,
    NO_RETRY,
    Budget,
    BudgetExceeded,
    BudgetTransport,
    RetryPolicy,
    price,
)
from harness.targets.clients import RedirectRefused

PLANTED = "sk-planted-0123456789abcdef"
MIMO = providers.get("mimo")
CHAT = MIMO.api("openai-chat")


def client(handler: Callable[[httpx.Request], httpx.Response], budget: Budget,
           retry: RetryPolicy = NO_RETRY) -> httpx.Client:
    transport = BudgetTransport(httpx.MockTransport(handler), budget, CHAT, retry)
    return clients.build_client("https://gw.example/v1", transport,
                                clients.auth_headers(CHAT, PLANTED), 5.0)


def ok(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"ok": True})


def test_stops_after_max_requests_without_sending_or_leaking_the_key() -> None:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return ok(request)

    budget = Budget("mimo", max_requests=2)
    with client(handler, budget) as c:
        c.get("/models")
        c.post("/chat/completions", json={"model": "mimo-v2-omni"})
        with pytest.raises(BudgetExceeded) as info:
            c.get("/models", params={"key": PLANTED})
    assert len(sent) == 2 and budget.requests == 2
    message = str(info.value)
    assert "'mimo'" in message and "2 of 2" in message and "GET /v1/models" in message
    assert PLANTED not in message and PLANTED not in repr(info.value)


def test_honours_retry_after_once_then_returns_the_answer() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "0.01"}), httpx.Response(200)])
    slept: list[float] = []
    budget = Budget("mimo")
    retry = RetryPolicy(retries=1, cap_s=1.0, sleep=slept.append)
    with client(lambda request: next(answers), budget, retry) as c:
        assert c.get("/models").status_code == 200
    assert slept == [0.01] and budget.requests == 2  # the retry is charged too


def test_retry_really_sleeps_with_the_default_sleep() -> None:
    answers = iter([httpx.Response(503, headers={"Retry-After": "0.01"}), httpx.Response(200)])
    with client(lambda request: next(answers), Budget("mimo"), RetryPolicy(cap_s=1.0)) as c:
        assert c.get("/models").status_code == 200


@pytest.mark.parametrize("headers", [{"Retry-After": "120"}, {"Retry-After": "soon"}, {}])
def test_no_retry_past_the_cap_or_without_a_usable_header(headers: dict[str, str]) -> None:
    slept: list[float] = []
    retry = RetryPolicy(cap_s=30.0, sleep=slept.append)
    with client(lambda request: httpx.Response(429, headers=headers), Budget("mimo"), retry) as c:
        assert c.get("/models").status_code == 429
    assert slept == []


def test_a_retry_that_would_pass_the_budget_is_refused() -> None:
    retry = RetryPolicy(sleep=lambda s: None)
    throttled = httpx.Response(429, headers={"Retry-After": "0"})
    with client(lambda request: throttled, Budget("mimo", max_requests=1), retry) as c:
        with pytest.raises(BudgetExceeded):
            c.get("/models")


def test_cost_uses_the_profile_price_table_else_the_conservative_default() -> None:
    priced = replace(CHAT, limits=MappingProxyType(
        {"usd_per_request": {"mimo-v2-omni": 0.01, "default": 0.002}}))
    chat = httpx.Request("POST", "https://gw.example/v1/chat/completions",
                         json={"model": "mimo-v2-omni"})
    assert price(priced, chat) == 0.01
    assert price(priced, httpx.Request("GET", "https://gw.example/v1/models")) == 0.002
    assert price(CHAT, chat) == DEFAULT_USD_PER_REQUEST
    wavespeed = providers.get("wavespeed").apis[0]
    per_model = replace(wavespeed, limits=MappingProxyType(
        {"usd_per_request": {"wavespeed-ai/minicpm-v/video": 0.2}}))
    submit = httpx.Request("POST", "https://api.wavespeed.ai/api/v3/wavespeed-ai/minicpm-v/video")
    assert price(per_model, submit) == 0.2


def test_max_cost_refuses_the_request_that_would_pass_it() -> None:
    budget = Budget("mimo", max_cost=DEFAULT_USD_PER_REQUEST * 1.5)
    with client(ok, budget) as c:
        c.get("/models")
        with pytest.raises(BudgetExceeded, match="cost budget for 'mimo'"):
            c.get("/models")


def test_redirect_to_another_host_is_refused_same_host_followed() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v1/away":
            return httpx.Response(307, headers={"Location": "https://evil.example/steal"})
        if request.url.path == "/v1/moved":
            return httpx.Response(307, headers={"Location": "/v1/models"})
        return ok(request)

    with client(handler, Budget("mimo")) as c:
        assert c.get("/moved").status_code == 200
        with pytest.raises(RedirectRefused, match=r"evil\.example") as info:
            c.get("/away")
    assert PLANTED not in str(info.value)
