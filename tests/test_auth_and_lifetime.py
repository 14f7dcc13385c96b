"""The API key guards every route; connections end at their lifetime with the exact error."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from codeagent.errors import UpgradeRefused
from codeagent.protocol.session import SessionLimits
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer
from codeagent.testing.workload import config
from codeagent.transport.client import ResponsesClient
from codeagent.transport.websocket import websocket_connector
from tests.conftest import start_serve

KEY = "sk-test-not-a-real-key"


async def test_api_key_required_on_http_and_websocket() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0, api_key=KEY)) as server:
        async with httpx.AsyncClient() as http:
            body = {"model": "m", "input": "hi"}
            refused = await http.post(server.base_url + "/responses", json=body)
            assert refused.status_code == 401
            assert refused.json()["error"]["code"] == "invalid_api_key"
            wrong = await http.post(
                server.base_url + "/responses", json=body, headers={"Authorization": "Bearer x"}
            )
            assert wrong.status_code == 401
            ok = await http.post(
                server.base_url + "/responses",
                json=body,
                headers={"Authorization": f"Bearer {KEY}"},
            )
            assert ok.status_code == 200
            assert (await http.get(server.base_url + "/models")).status_code == 401

        with pytest.raises(InvalidStatus) as refused_upgrade:
            await connect(server.ws_url)
        assert refused_upgrade.value.response.status_code == 401

        with pytest.raises(UpgradeRefused):
            await ResponsesClient(websocket_connector(server.ws_url), config()).turn([])

        async with connect(
            server.ws_url, additional_headers={"Authorization": f"Bearer {KEY}"}
        ) as ws:
            await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi"}))
            assert json.loads(await ws.recv())["type"] == "response.created"


def test_api_key_from_the_environment_never_printed(tmp_path: object) -> None:
    served = start_serve("--backend", "echo", "--api-key", KEY)
    try:
        with httpx.Client() as http:
            assert http.get(served.base_url + "/models").status_code == 401
            headers = {"Authorization": f"Bearer {KEY}"}
            models = http.get(served.base_url + "/models", headers=headers).json()
            assert models["data"][0]["id"] == "codeagent-echo"
    finally:
        served.process.terminate()
        output, _ = served.process.communicate(timeout=10)
    assert KEY not in output


async def test_connection_ends_at_its_lifetime_limit() -> None:
    limits = SessionLimits(lifetime_s=0.5)
    with BackgroundServer(EchoBackend(), ServerConfig(port=0, limits=limits)) as server:
        async with connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "hi"}))
            while json.loads(await ws.recv())["type"] != "response.completed":
                pass
            event = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert event["type"] == "error"
            assert event["status"] == 400
            assert event["error"]["code"] == "websocket_connection_limit_reached"
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
