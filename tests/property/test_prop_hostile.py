"""No hostile value in any field crashes any API of the mock, over HTTP or WebSocket.

Every HTTP operation gets valid generated bodies with one hostile value planted somewhere
(:mod:`harness.strategies.hostile`: lone surrogates, NaN and Infinity, overflowing and
4300-digit numbers, control characters, deep nesting), sent as raw bytes. The answer must
never be a 5xx and must keep the contract (documented status, the provider's error shape).
Realtime sessions get the same values in their client frames: each frame is answered by
events that validate, and the socket either lives on (the next valid frame is answered) or
closes with a documented code, never 1006 (dropped) or 1011 (internal error).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.testclient import TestClient

from harness import providers, schemas
from harness.checks.exchange import Probe
from harness.mock.app import build_app
from harness.mock.config import MOCK_KEY, MockConfig
from harness.mock.realtime_wire import is_terminal
from harness.secrets import Scrubber
from harness.strategies import requests, settings_for
from harness.strategies.hostile import HostileBody, hostile_bodies
from harness.targets.mock import MockTarget

ContractErrors = Any  # the contract_errors fixture (conftest.py)
OPERATIONS = [pytest.param(p.name, a.protocol.name, o.key, id=f"{p.name}-{o.key}")
              for p in providers.all_profiles() for a in p.apis for o in a.operations()
              if o.request]


@pytest.mark.parametrize(("provider", "protocol", "key"), OPERATIONS)
def test_no_hostile_value_crashes_an_http_api(prop_target: MockTarget,
                                              contract_errors: ContractErrors, provider: str,
                                              protocol: str, key: str) -> None:
    profile = providers.get(provider)
    api = profile.api(protocol)
    op = next(o for o in api.operations() if o.key == key)

    @settings_for("ci", max_examples=12)
    @given(hostile_bodies(requests(profile, api, op)))
    def check(planted: HostileBody) -> None:
        probe = Probe(prop_target, profile, api)
        ex = probe.call(op.endpoint.name, model=op.model.id if op.model else None,
                        content=planted.body, headers={"content-type": "application/json"})
        where = (planted.hostile.name, planted.pointer, ex.excerpt(Scrubber(())))
        assert ex.status < 500, where
        assert not contract_errors(prop_target, probe, ex), where

    check()


# Frames of the current revision's chat mode that the mock answers, each the seed of mutants.
INIT = {"type": "session.init", "payload": {"system_prompt": "be brief", "config": {
    "length_penalty": 1.1}}}
CHAT = {"type": "input.append", "input": {"messages": [{"type": "text", "text": "hi"}],
                                          "streaming": True,
                                          "generation": {"max_new_tokens": 4}}}
DOCUMENTED_CLOSES = {1000, 1003, 1009, 1013}


class _Session:
    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.validator = schemas.validator("minicpm-o-realtime/current/server-event")
        self.closed: int | None = None

    def answer(self, until: str | None = None) -> list[dict[str, Any]]:
        """Events up to the terminal one (or one of type ``until``), or up to the close."""
        events: list[dict[str, Any]] = []
        while self.closed is None and not (events and (
                is_terminal(events[-1]) or events[-1]["type"] == until)):
            async def get() -> Any:
                with anyio.fail_after(5):
                    return await self.ws._send_rx.receive()

            message = self.ws.portal.call(get)
            if message["type"] == "websocket.close":
                self.closed = message.get("code", 1000)
                break
            event = json.loads(message["text"])
            assert not list(self.validator.iter_errors(event)), event
            events.append(event)
        return events


@pytest.fixture(scope="module")
def rt_client() -> Iterator[TestClient]:
    with TestClient(build_app(MockConfig(job_step_s=0.0)), base_url="http://m") as client:
        yield client


@pytest.mark.parametrize("frame", ["init", "chat"])
def test_no_hostile_value_crashes_a_realtime_session(rt_client: TestClient, frame: str) -> None:
    seed = INIT if frame == "init" else CHAT

    @settings_for("ci", max_examples=25)
    @given(hostile_bodies(st.just(seed)))
    def check(planted: HostileBody) -> None:
        url = "/modelbest/v1/realtime?mode=chat"
        with rt_client.websocket_connect(url, headers={"Authorization": f"Bearer {MOCK_KEY}"}) as ws:
            session = _Session(ws)
            assert session.answer("session.queue_done")[-1]["type"] == "session.queue_done"
            if frame == "chat":
                ws.send_text(json.dumps(INIT))
                assert session.answer()[-1]["type"] == "session.created"
            ws.send_text(planted.body.decode())
            session.answer()
            where = (planted.hostile.name, planted.pointer, session.closed)
            assert session.closed in (None, *DOCUMENTED_CLOSES), where
            if session.closed is None:  # the session lives on: a valid frame is still answered
                ws.send_text(json.dumps(CHAT if frame == "chat" else INIT))
                events = session.answer()
                assert events and session.closed is None, where

    check()


def test_every_api_is_covered() -> None:
    protocols = {api.protocol.name for p in providers.all_profiles() for api in p.apis}
    covered = {protocol for _, protocol, _ in (p.values for p in OPERATIONS)}
    assert protocols - covered == {"minicpm-o-realtime"}  # the WebSocket test above covers it
