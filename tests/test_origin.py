"""Browser pages cannot drive the server: the ``Origin`` and ``Host`` checks (policy and sockets).

A page the user visits may open ``ws://127.0.0.1:PORT/v1/responses`` (browsers send its
``Origin``), and a DNS-rebinding page reaches the server under its own name (its ``Host``).
Non-browser clients send no ``Origin`` and name the address they dial, so they are unaffected.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus
from websockets.typing import Origin

from codeagent.errors import ConfigError
from codeagent.protocol.items import user_message
from codeagent.server.app import OriginGuard
from codeagent.server.config import ServerConfig
from codeagent.server.echo import EchoBackend
from codeagent.server.origin import OriginPolicy, normalise_origins, parse_host
from codeagent.server.run import BackgroundServer
from codeagent.transport.client import ClientConfig, ResponsesClient
from codeagent.transport.sse import http_connector
from codeagent.transport.websocket import websocket_connector
from tests.conftest import start_serve

HOST = "127.0.0.1:8765"
LOOPBACK = OriginPolicy.for_server("127.0.0.1")
APP = "https://app.example"


def verdict(
    policy: OriginPolicy, hosts: list[str], origins: list[str], version: str = "1.1"
) -> str:
    refusal = policy.refusal(hosts, origins, version)
    return "ok" if refusal is None else f"{refusal.status} {refusal.code}"


# --- the policy ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origins", "expected"),
    [
        ([], "ok"),  # our client, the openai SDK, curl
        (["http://localhost"], "ok"),
        (["http://localhost:3000"], "ok"),
        (["HTTP://LocalHost:3000"], "ok"),
        (["https://127.0.0.1:8443"], "ok"),
        (["http://127.1.2.3"], "ok"),
        (["http://[::1]:5173"], "ok"),
        (["http://[::ffff:127.0.0.1]"], "ok"),
        (["http://app.localhost:3000"], "ok"),
        (["http://0.0.0.0:3000"], "ok"),  # a dev server's page: only this machine serves it
        (["null"], "403 origin_not_allowed"),
        (["https://evil.example"], "403 origin_not_allowed"),
        (["http://localhost.evil.example"], "403 origin_not_allowed"),
        (["http://127.0.0.1.nip.io"], "403 origin_not_allowed"),
        (["http://192.168.1.5:8765"], "403 origin_not_allowed"),
        (["http://evil.example@127.0.0.1"], "403 origin_not_allowed"),
        (["http://localhost/path"], "403 origin_not_allowed"),
        (["ftp://localhost"], "403 origin_not_allowed"),
        (["vscode-webview://abcdef"], "403 origin_not_allowed"),
        (["http://localhost:99999"], "403 origin_not_allowed"),
        (["http://localhost", "https://evil.example"], "403 origin_not_allowed"),
        ([""], "403 origin_not_allowed"),
    ],
)
def test_origins_on_a_loopback_server(origins: list[str], expected: str) -> None:
    assert verdict(LOOPBACK, [HOST], origins) == expected


@pytest.mark.parametrize(
    ("allowed", "origin", "expected"),
    [
        ([APP], APP, "ok"),
        ([APP], "https://APP.example:443", "ok"),
        ([APP], "http://app.example", "403 origin_not_allowed"),
        ([APP], "https://app.example:8443", "403 origin_not_allowed"),
        ([APP], "https://sub.app.example", "403 origin_not_allowed"),
        ([APP], "null", "403 origin_not_allowed"),
        ([APP], "http://localhost:3000", "ok"),  # local origins stay allowed
        (["vscode-webview://abcdef"], "vscode-webview://abcdef", "ok"),
        (["*"], "https://evil.example", "ok"),
        (["*"], "null", "ok"),
    ],
)
def test_allowed_origins(allowed: list[str], origin: str, expected: str) -> None:
    policy = OriginPolicy.for_server("127.0.0.1", allowed)
    assert verdict(policy, [HOST], [origin]) == expected


@pytest.mark.parametrize(
    ("hosts", "version", "expected"),
    [
        (["127.0.0.1:8765"], "1.1", "ok"),
        (["127.0.0.2"], "1.1", "ok"),
        (["localhost:8765"], "1.1", "ok"),
        (["LOCALHOST"], "1.1", "ok"),
        (["app.localhost:1"], "1.1", "ok"),
        (["[::1]:8765"], "1.1", "ok"),
        (["[0:0::1]"], "1.1", "ok"),
        (["[::ffff:127.0.0.1]:8765"], "1.1", "ok"),
        (["localhost:"], "1.1", "ok"),  # RFC 9110: the port may be empty
        (["evil.example:8765"], "1.1", "403 host_not_allowed"),  # DNS rebinding
        (["localhost.evil.example"], "1.1", "403 host_not_allowed"),
        (["192.168.1.5:8765"], "1.1", "403 host_not_allowed"),
        (["myhost.local:8765"], "1.1", "403 host_not_allowed"),
        (["0.0.0.0:8765"], "1.1", "ok"),  # browsers dial it as this machine
        ([], "1.1", "400 invalid_host"),
        ([], "1.0", "ok"),
        (["127.0.0.1", "evil.example"], "1.1", "400 invalid_host"),
        ([""], "1.1", "400 invalid_host"),
        (["evil.example:8765:1"], "1.1", "400 invalid_host"),
        (["127.0.0.1:99999"], "1.1", "400 invalid_host"),
        (["[::1"], "1.1", "400 invalid_host"),
        (["[evil.example]"], "1.1", "400 invalid_host"),
        (["user@127.0.0.1"], "1.1", "400 invalid_host"),
    ],
)
def test_hosts_on_a_loopback_server(hosts: list[str], version: str, expected: str) -> None:
    assert verdict(LOOPBACK, hosts, [], version) == expected


@pytest.mark.parametrize(
    ("bind", "checks_host"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("localhost", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("192.168.1.5", False),
        ("myhost", False),  # a name other than localhost is not resolved: taken as remote
    ],
)
def test_host_is_checked_only_on_a_loopback_bind(bind: str, checks_host: bool) -> None:
    policy = OriginPolicy.for_server(bind)
    assert policy.check_host is checks_host
    expected = "403 host_not_allowed" if checks_host else "ok"
    assert verdict(policy, ["evil.example:8765"], []) == expected


@pytest.mark.parametrize(
    ("host", "origin", "expected"),
    [
        ("evil.example:8765", "http://evil.example:8765", "403 origin_not_allowed"),  # rebinding
        ("myhost.lan:8765", "http://myhost.lan:8765", "403 origin_not_allowed"),
        # A client that names the address it dialled (websocket-client does by default).
        ("192.168.1.5:8765", "http://192.168.1.5:8765", "ok"),
        ("[fe80::1]:8765", "http://[FE80:0::1]:8765", "ok"),
        ("192.168.1.5:8765", "http://192.168.1.5:9999", "403 origin_not_allowed"),
        ("192.168.1.5:8765", "http://192.168.1.6:8765", "403 origin_not_allowed"),
        ("192.168.1.5:8765", "http://localhost:3000", "ok"),
    ],
)
def test_origins_on_a_server_bound_to_every_interface(
    host: str, origin: str, expected: str
) -> None:
    assert verdict(OriginPolicy.for_server("0.0.0.0"), [host], [origin]) == expected


def test_refusals_name_the_header_and_the_way_to_allow_it() -> None:
    origin = LOOPBACK.refusal([HOST], ["https://Evil.example:443"])
    assert origin is not None
    assert origin.type == "invalid_request_error"
    assert "Origin header 'https://Evil.example:443'" in origin.message
    assert "--allowed-origins https://evil.example " in origin.message
    null = LOOPBACK.refusal([HOST], ["null"])
    assert null is not None
    assert "sandboxed" in null.message
    assert "--allowed-origins '*'" in null.message
    host = LOOPBACK.refusal(["evil.example:8765"], [])
    assert host is not None
    assert "Host header 'evil.example:8765'" in host.message
    assert "--host" in host.message


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        (["HTTPS://App.Example/"], ("https://app.example",)),
        (["https://app.example:443", "https://app.example"], ("https://app.example",)),
        (["http://app.example:8080"], ("http://app.example:8080",)),
        (["http://[0:0::1]:80"], ("http://[::1]",)),
        (["https://bücher.example"], ("https://xn--bcher-kva.example",)),
        ([" * ", APP], ("*", APP)),
    ],
)
def test_allowed_origins_are_written_as_browsers_send_them(
    entries: list[str], expected: tuple[str, ...]
) -> None:
    assert normalise_origins(entries) == expected


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("null", "only '\\*' admits it"),
        ("app.example", "not an origin"),
        ("https://app.example/path", "not an origin"),
        ("https://user@app.example", "not an origin"),
        ("https://*.app.example", "the only wildcard is '\\*'"),
    ],
)
def test_bad_allowed_origins_are_config_errors(entry: str, message: str) -> None:
    with pytest.raises(ConfigError, match=f"allowed origin '.*'.*{message}"):
        OriginPolicy.for_server("127.0.0.1", [entry])


def test_host_values_parse_to_host_and_port() -> None:
    parsed = parse_host("[::1]:8765")
    assert parsed is not None
    assert (parsed.host, parsed.port, parsed.is_ip) == ("::1", 8765, True)
    name = parse_host("LocalHost")
    assert name is not None
    assert (name.host, name.port, name.is_ip) == ("localhost", None, False)


# --- the server, over real sockets -----------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[BackgroundServer]:
    with BackgroundServer(EchoBackend(), ServerConfig(port=0)) as running:
        yield running


CREATE = json.dumps({"type": "response.create", "model": "m", "input": "hi"})


async def completes_a_turn(ws: ClientConnection) -> None:
    await ws.send(CREATE)
    while (event := json.loads(await ws.recv()))["type"] != "response.completed":
        assert event["type"] != "error", event
    assert event["response"]["output"][0]["content"][0]["text"] == "echo: hi"


def refused_body(exc: InvalidStatus, status: int) -> dict[str, str]:
    assert exc.response.status_code == status
    assert exc.response.headers["Content-Type"] == "application/json"
    error: dict[str, str] = json.loads(exc.response.body or b"")["error"]
    assert error["type"] == "invalid_request_error"
    return error


async def test_a_foreign_page_cannot_open_the_websocket(server: BackgroundServer) -> None:
    with pytest.raises(InvalidStatus) as refused:
        await connect(server.ws_url, origin=Origin("https://evil.example"))
    error = refused_body(refused.value, 403)
    assert error["code"] == "origin_not_allowed"
    assert "Origin" in error["message"]
    assert "--allowed-origins https://evil.example" in error["message"]
    with pytest.raises(InvalidStatus) as null:
        await connect(server.ws_url, origin=Origin("null"))
    assert refused_body(null.value, 403)["code"] == "origin_not_allowed"


@pytest.mark.parametrize("origin", [None, "http://localhost:3000", "http://127.0.0.1"])
async def test_local_pages_and_plain_clients_complete_a_turn(
    server: BackgroundServer, origin: str | None
) -> None:
    async with connect(server.ws_url, origin=Origin(origin) if origin else None) as ws:
        await completes_a_turn(ws)


async def test_a_foreign_page_is_refused_over_http(server: BackgroundServer) -> None:
    evil = {"Origin": "https://evil.example"}
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        body = {"model": "m", "input": "hi"}
        created = await http.post("/responses", json=body, headers=evil)
        assert created.status_code == 403
        assert created.json()["error"]["code"] == "origin_not_allowed"
        listed = await http.get("/models", headers=evil)
        assert listed.status_code == 403
        assert listed.json()["error"]["code"] == "origin_not_allowed"
        health = await http.get(server.base_url.removesuffix("/v1") + "/health", headers=evil)
        assert health.status_code == 200  # open to any page: it tells nothing
        local = await http.post("/responses", json=body, headers={"Origin": "http://localhost"})
        assert local.status_code == 200


async def test_dns_rebinding_is_refused_over_http_and_websocket(server: BackgroundServer) -> None:
    name = f"evil.example:{server.port}"
    # What a rebinding page sends: its own name as Host, and as Origin where browsers send one.
    async with httpx.AsyncClient(base_url=server.base_url, headers={"Host": name}) as http:
        body = {"model": "m", "input": "hi"}
        created = await http.post("/responses", json=body, headers={"Origin": f"http://{name}"})
        assert created.status_code == 403
        assert created.json()["error"]["code"] == "host_not_allowed"
        root = server.base_url.removesuffix("/v1")
        for url in (server.base_url + "/models", root + "/health"):  # same-origin GETs
            listed = await http.get(url)
            assert listed.status_code == 403, url
            assert listed.json()["error"]["code"] == "host_not_allowed"

    # The name resolves to the server: dial its address, name evil.example in the request.
    dialled = socket.create_connection(("127.0.0.1", server.port))
    with pytest.raises(InvalidStatus) as refused:
        await connect(f"ws://{name}/v1/responses", sock=dialled, origin=Origin(f"http://{name}"))
    error = refused_body(refused.value, 403)
    assert error["code"] == "host_not_allowed"
    assert f"Host header '{name}'" in error["message"]

    local = socket.create_connection(("127.0.0.1", server.port))
    async with connect(f"ws://localhost:{server.port}/v1/responses", sock=local) as ws:
        await completes_a_turn(ws)


async def test_allowed_origins_let_that_page_in() -> None:
    config = ServerConfig(port=0, allowed_origins=(APP,))
    with BackgroundServer(EchoBackend(), config) as server:
        async with connect(server.ws_url, origin=Origin(APP)) as ws:
            await completes_a_turn(ws)
        with pytest.raises(InvalidStatus) as refused:
            await connect(server.ws_url, origin=Origin("https://other.example"))
        assert refused_body(refused.value, 403)["code"] == "origin_not_allowed"
        async with httpx.AsyncClient() as http:
            body = {"model": "m", "input": "hi"}
            created = await http.post(
                server.base_url + "/responses", json=body, headers={"Origin": APP}
            )
            assert created.status_code == 200


async def test_our_clients_are_unaffected(server: BackgroundServer) -> None:
    config = ClientConfig(model="m")
    for connector in (websocket_connector(server.ws_url), http_connector(server.base_url)):
        async with ResponsesClient(connector, config) as client:
            first = await client.turn([user_message("hi")])
            second = await client.turn([user_message("again")])
        assert first.response.output_text == "echo: hi"
        assert second.response.output_text == "echo: again"


async def test_the_serve_command_takes_allowed_origins() -> None:
    served = start_serve("--backend", "echo", "--allowed-origins", f"{APP},https://b.example")
    try:
        for origin in (APP, "https://b.example"):
            async with connect(served.ws_url, origin=Origin(origin)) as ws:
                await completes_a_turn(ws)
        with pytest.raises(InvalidStatus) as refused:
            await connect(served.ws_url, origin=Origin("https://evil.example"))
        assert refused_body(refused.value, 403)["code"] == "origin_not_allowed"
    finally:
        served.process.terminate()
        served.process.wait(10)


async def test_an_upgrade_is_closed_where_the_server_cannot_send_a_denial_response() -> None:
    reached: list[str] = []
    sent: list[MutableMapping[str, Any]] = []

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        reached.append(scope["type"])

    async def receive() -> MutableMapping[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    guard = OriginGuard(app, LOOPBACK, open_paths=("/health",))
    headers = [(b"host", b"127.0.0.1:8765"), (b"origin", b"https://evil.example")]
    upgrade = {"type": "websocket", "path": "/v1/responses", "headers": headers}
    await guard(upgrade, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": "origin_not_allowed"}]
    assert reached == []
    await guard({"type": "lifespan"}, receive, send)
    await guard({"type": "http", "path": "/health", "headers": headers}, receive, send)
    assert reached == ["lifespan", "http"]
