"""Fixtures shared by the SDK tests: fal-clients pointed at a served mock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import fal_client
import httpx
import pytest
from fal_client import client as fal_module

from harness.mock.config import MOCK_KEY

# anything with ServedMock's base_url(provider, label): a ServedMock, or a served URL's stand-in
Connect = Callable[[Any], fal_client.SyncClient]


@pytest.fixture
def connect(monkeypatch: pytest.MonkeyPatch) -> Iterator[Connect]:
    """Makes fresh fal-clients whose four hosts are a mock's, keyed from FAL_KEY; closes
    their HTTP clients afterwards (the SDK never closes the one it makes per upload)."""
    clients: list[fal_client.SyncClient] = []
    cdn_clients: list[httpx.Client] = []
    real_cdn_client = fal_client.SyncClient._get_cdn_client

    def tracked_cdn_client(self: fal_client.SyncClient) -> httpx.Client:
        cdn_clients.append(real_cdn_client(self))
        return cdn_clients[-1]

    monkeypatch.setattr(fal_client.SyncClient, "_get_cdn_client", tracked_cdn_client)
    monkeypatch.setenv("FAL_KEY", MOCK_KEY)

    def connect(served: Any) -> fal_client.SyncClient:
        url = {h: served.base_url("fal", f"fal-queue:{h}") for h in ("run", "queue", "rest", "cdn")}
        monkeypatch.setattr(fal_module, "RUN_URL_FORMAT", url["run"] + "/")
        monkeypatch.setattr(fal_module, "QUEUE_URL_FORMAT", url["queue"] + "/")
        monkeypatch.setattr(fal_module, "REST_URL", url["rest"])
        monkeypatch.setattr(fal_module, "CDN_URL", url["cdn"])
        clients.append(fal_client.SyncClient())
        return clients[-1]

    yield connect
    for client in clients:
        if "_client" in vars(client):  # a cached_property, made on first use
            client._client.close()
    for http in cdn_clients:
        http.close()
