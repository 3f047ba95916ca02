"""The Socket Mode fake and ``apps.connections.open``, driven by slack_sdk's own aiohttp
Socket Mode client (the one Bolt's ``AsyncSocketModeHandler`` uses): the fake must speak the
protocol that client expects, or the bot's tests prove nothing."""

from __future__ import annotations

import asyncio

import aiohttp
import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import SlackWebApiFake
from tests.fakes.slack.socket_mode import SocketModeFake

BOT_TOKEN, APP_TOKEN = "xoxb-test", "xapp-1-A0TEST-1-secret"


@pytest.fixture
async def fakes():
    async with (
        SlackWebApiFake(valid_tokens=(BOT_TOKEN, APP_TOKEN)) as slack,
        SocketModeFake() as socket,
    ):
        slack.socket_mode = socket
        yield slack, socket


async def test_apps_connections_open_takes_only_a_valid_app_level_token(fakes) -> None:
    slack, socket = fakes
    client = AsyncWebClient(base_url=slack.url)
    answer = await client.apps_connections_open(app_token=APP_TOKEN)
    assert answer["url"].startswith(f"ws://127.0.0.1:{socket.port}/link/?ticket=")
    assert slack.calls("apps.connections.open")[0].headers["authorization"] == (
        f"Bearer {APP_TOKEN}"
    )
    for token, error in [
        (BOT_TOKEN, "not_allowed_token_type"),
        ("xapp-1-A0TEST-1-revoked", "invalid_auth"),
    ]:
        with pytest.raises(SlackApiError) as refused:
            await client.apps_connections_open(app_token=token)
        assert refused.value.response["error"] == error
    async with httpx.AsyncClient() as http:  # no Authorization at all
        untokened = await http.post(f"{slack.url}apps.connections.open")
    assert untokened.json() == {"ok": False, "error": "not_authed"}
    with pytest.raises(SlackApiError) as wrong_type:
        await AsyncWebClient(token=APP_TOKEN, base_url=slack.url).chat_postMessage(
            channel="C0ALERTS", text="hi"
        )
    assert wrong_type.value.response["error"] == "not_allowed_token_type"


async def test_a_url_opens_one_connection_only(fakes) -> None:
    slack, socket = fakes
    url = (await AsyncWebClient(base_url=slack.url).apps_connections_open(app_token=APP_TOKEN))[
        "url"
    ]
    async with aiohttp.ClientSession() as http, http.ws_connect(url) as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "hello"
        assert hello["connection_info"] == {"app_id": "A0TEST"}
        assert hello["num_connections"] == 1
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 401
    assert socket.refused == 1


async def _client(slack: SlackWebApiFake) -> tuple[SocketModeClient, list[SocketModeRequest]]:
    """slack_sdk's client, acknowledging every envelope as Bolt's handler does."""
    client = SocketModeClient(
        app_token=APP_TOKEN, web_client=AsyncWebClient(token=BOT_TOKEN, base_url=slack.url)
    )
    seen: list[SocketModeRequest] = []

    async def ack(client: SocketModeClient, request: SocketModeRequest) -> None:
        seen.append(request)
        response = SocketModeResponse(envelope_id=request.envelope_id, payload={"text": "ok"})
        await client.send_socket_mode_response(response)

    client.socket_mode_request_listeners.append(ack)
    return client, seen


async def test_hello_an_envelope_its_ack_a_disconnect_and_the_reconnect(fakes) -> None:
    slack, socket = fakes
    client, seen = await _client(slack)
    try:
        await client.connect()
        first = await socket.wait_for_connection_async(1)
        assert socket.sent[0].data["type"] == "hello"
        envelope_id = socket.send_slash_command("check acme", response_url=slack.response_url())
        ack = await socket.wait_for_ack_async(envelope_id)
        assert ack.data == {"envelope_id": envelope_id, "payload": {"text": "ok"}}
        assert ack.connection == first.number
        assert seen[0].type == "slash_commands" and seen[0].payload["text"] == "check acme"
        assert seen[0].payload["command"] == "/afas"

        socket.disconnect("refresh_requested")
        second = await socket.wait_for_connection_async(2)
        await socket.wait_for_close_async(1)
        assert first.closed_by in ("app", "fake")
        assert len(slack.calls("apps.connections.open")) == 2  # a new URL, not the old one
        assert [f.data["type"] for f in socket.sent if f.connection == 2] == ["hello"]
        again = socket.send_slash_command("status", response_url=slack.response_url())
        assert (await socket.wait_for_ack_async(again)).connection == second.number
        assert await client.is_connected()
    finally:
        await client.close()
    await socket.wait_for_close_async(2)
    assert socket.connections[1].closed_by == "app"


async def test_a_dropped_connection_is_seen_by_the_client(fakes) -> None:
    slack, socket = fakes
    client, _seen = await _client(slack)
    client.auto_reconnect_enabled = client.default_auto_reconnect_enabled = False
    try:
        await client.connect()
        await socket.wait_for_connection_async(1)
        assert await client.is_connected()
        socket.drop()
        await socket.wait_for_close_async(1)
        for _ in range(200):
            if not await client.is_connected():
                break
            await asyncio.sleep(0.01)
        assert not await client.is_connected()
        assert socket.connections[0].closed_by == "dropped"
    finally:
        await client.close()


async def test_refused_connections_are_counted(fakes) -> None:
    slack, socket = fakes
    socket.refuse()
    url = (await AsyncWebClient(base_url=slack.url).apps_connections_open(app_token=APP_TOKEN))[
        "url"
    ]
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(url)
        assert refused.value.status == 503
        socket.refuse(False)
        async with http.ws_connect(url) as ws:  # a refused attempt does not use the ticket up
            assert (await ws.receive_json(timeout=5))["type"] == "hello"
    assert socket.refused == 1
