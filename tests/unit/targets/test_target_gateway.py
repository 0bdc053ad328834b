"""The gateway target: client side like ``url``, upstream side from the mock's journal."""

from __future__ import annotations

import httpx
import pytest

from harness import journal, providers
from harness.checks import requests
from harness.checks.exchange import Probe
from harness.errors import TargetUnreachable, UsageError
from harness.mock.config import MOCK_KEY
from harness.mock.serve import ServedMock
from harness.targets import TargetOptions, make_target
from harness.targets.gateway import GatewayTarget


def test_it_serves_its_own_upstream_and_correlates_by_header(served_mock: ServedMock) -> None:
    # The served mock stands in for a gateway that forwards x- headers; the target's own mock
    # is then the upstream nobody calls, so nothing may be attributed to the exchange.
    target = make_target(TargetOptions(kind="gateway", base_url=served_mock.url))
    try:
        assert isinstance(target, GatewayTarget) and target.upstream_url != served_mock.url
        profile = providers.get("modelbest")
        ex = requests.call(Probe(target, profile, profile.apis[0]),
                           requests.sample(profile.apis[0], "text"))
        assert ex.status == 200 and ex.upstream == ()
        with httpx.Client(base_url=target.upstream_url) as c:
            assert c.get("/_harness/health").is_success
    finally:
        target.close()


def test_with_upstream_the_journal_is_read_over_http_and_matched_by_correlation(
        served_mock: ServedMock) -> None:
    target = make_target(TargetOptions(kind="gateway", base_url=served_mock.url,
                                       upstream=served_mock.url))
    try:
        profile = providers.get("mimo")
        api = profile.api("anthropic-messages")
        probe = Probe(target, profile, api)
        first = requests.call(probe, requests.sample(api, "image"))
        second = requests.call(probe, requests.sample(api, "image"))
        (a,), (b,) = first.upstream, second.upstream
        assert a.seq < b.seq and a.correlation != b.correlation and a.correlation
        assert a.request.media == journal.request_facts(first.request_json).media
        assert a.key == journal.key_digest(MOCK_KEY)
    finally:
        target.close()


def test_without_the_header_the_content_fingerprint_picks_the_request(served_mock: ServedMock) -> None:
    target = make_target(TargetOptions(kind="gateway", base_url=served_mock.url,
                                       upstream=served_mock.url))
    assert isinstance(target, GatewayTarget)
    try:
        mark = target.upstream_mark()
        body = {"model": "MiniCPM-V-4.6-Instruct", "messages": [{"role": "user", "content": "fp"}]}
        headers = {"authorization": f"Bearer {MOCK_KEY}"}
        with httpx.Client(base_url=f"{served_mock.url}/modelbest/v1", headers=headers) as c:
            c.post("/chat/completions", json={**body, "messages": [{"role": "user", "content": "other"}]})
            c.post("/chat/completions", json=body)
        request = httpx.Request("POST", "http://gw.invalid/v1/chat/completions", json=body)
        (entry,) = target.upstream_of(request, mark)
        assert entry.request.texts == ("fp",)
    finally:
        target.close()


def test_an_odd_upstream_is_a_usage_error_naming_the_flag() -> None:
    with pytest.raises(UsageError, match="--upstream"):
        make_target(TargetOptions(kind="gateway", base_url="http://127.0.0.1:9", upstream="ftp://x"))


def test_an_upstream_that_is_not_a_mock_is_unreachable() -> None:
    with pytest.raises(TargetUnreachable, match="--upstream"):
        make_target(TargetOptions(kind="gateway", base_url="http://127.0.0.1:9",
                                  upstream="http://127.0.0.1:9"))
