"""Wire details real clients depend on: Codex's deflate offer and OpenAI-Beta header, /v1/models."""

from __future__ import annotations

import json

import httpx
from websockets.asyncio.client import connect

from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.run import BackgroundServer


async def test_permessage_deflate_and_unknown_beta_header() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server:
        headers = {"OpenAI-Beta": "responses_websockets=2026-02-06, something_else=1"}
        async with connect(server.ws_url, compression="deflate", additional_headers=headers) as ws:
            assert ws.response is not None
            assert "permessage-deflate" in ws.response.headers["Sec-WebSocket-Extensions"]
            frame = {"type": "response.create", "model": "m", "input": "hi", "stream": True}
            await ws.send(json.dumps(frame))
            events = []
            while not events or events[-1]["type"] != "response.completed":
                events.append(json.loads(await ws.recv()))
        assert events[-1]["response"]["output"][0]["content"][0]["text"] == "echo: hi"

        async with httpx.AsyncClient() as http:
            models = (await http.get(server.base_url + "/models")).json()
        assert models["object"] == "list"
        assert models["data"][0]["id"] == "codeagent-echo"


async def test_non_streaming_http_returns_the_response_object() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server:
        async with httpx.AsyncClient() as http:
            reply = await http.post(
                server.base_url + "/responses",
                json={"model": "m", "input": "plain", "max_output_tokens": 2},
            )
            failed = await http.post(
                server.base_url + "/responses", json={"model": "m", "input": "/fail"}
            )
    body = reply.json()
    assert body["object"] == "response"
    assert body["status"] == "incomplete"
    assert body["incomplete_details"] == {"reason": "max_output_tokens"}
    assert body["usage"]["output_tokens"] == 2
    assert failed.status_code == 500
    assert failed.json()["status"] == "failed"


async def test_stream_id_tags_every_event_of_its_response() -> None:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as server:
        async with connect(server.ws_url) as ws:
            frame = {"type": "response.create", "model": "m", "input": "a", "stream_id": "lane-1"}
            await ws.send(json.dumps(frame))
            events = []
            while not events or events[-1]["type"] != "response.completed":
                events.append(json.loads(await ws.recv()))
            assert {e["stream_id"] for e in events} == {"lane-1"}
            bad = {"type": "response.create", "model": "m", "previous_response_id": "resp_x",
                   "stream_id": "lane-2"}  # fmt: skip
            await ws.send(json.dumps(bad))
            error = json.loads(await ws.recv())
            assert error["type"] == "error"
            assert error["stream_id"] == "lane-2"
            await ws.send(json.dumps({"type": "response.create", "model": "m", "input": "b"}))
            assert "stream_id" not in json.loads(await ws.recv())
