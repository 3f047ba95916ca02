"""Requests Slack would never send, over real HTTP to the aiohttp app built as bot/serving.py
builds it (Bolt's ``AsyncSlackAppServer``) with the guard added: a signature that cannot be
checked is a 401, a malformed body a 400, nothing is done for either and nothing is logged at
ERROR; what Slack does send still works."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from slack_bolt.app.async_server import AsyncSlackAppServer

from bot.serving import SLACK_EVENTS_PATH
from bot.slack.request_guard import guard_slack_requests
from tests.bot.slack.conftest import SIGNING_SECRET
from tests.bot.slack.requests import action_body, command_body, signed
from tests.bot.slack.test_afas_command import wait_async


class Endpoint:
    """``POST /slack/events`` of the guarded app, served on loopback."""

    def __init__(self, url: str, http: aiohttp.ClientSession) -> None:
        self.url, self.http = url, http

    async def post(
        self, body: str | bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, str]:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        if headers is None:
            headers = signed(raw.decode("utf-8", "replace"))
        async with self.http.post(self.url, data=raw, headers=headers) as response:
            return response.status, await response.text()


@pytest.fixture
async def endpoint(bolt) -> AsyncIterator[Endpoint]:
    application = AsyncSlackAppServer(port=0, path=SLACK_EVENTS_PATH, app=bolt).web_app
    guard_slack_requests(application, bolt, path=SLACK_EVENTS_PATH)
    async with TestServer(application) as server, aiohttp.ClientSession() as http:
        yield Endpoint(str(server.make_url(SLACK_EVENTS_PATH)), http)


@pytest.fixture
def errors(caplog):
    """What was logged at ERROR or above, by anyone (aiohttp's "Error handling request",
    Bolt, our listeners)."""
    caplog.set_level(logging.DEBUG)
    return lambda: [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


def with_timestamp(body: str, timestamp: str) -> dict[str, str]:
    """Signed as Slack signs, over a timestamp that is not a number of seconds."""
    from slack_sdk.signature import SignatureVerifier

    signature = SignatureVerifier(SIGNING_SECRET).generate_signature(timestamp=timestamp, body=body)
    return {
        "content-type": "application/x-www-form-urlencoded",
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


@pytest.mark.parametrize("timestamp", ["abc", "12a", "", "1e9", " 17", "١٧٠٠٠٠٠٠٠٠", "9" * 40])
async def test_a_timestamp_that_is_no_number_is_a_401_and_does_nothing(
    endpoint, slack, errors, timestamp
) -> None:
    body = command_body(slack, "help")
    status, _ = await endpoint.post(body, with_timestamp(body, timestamp))
    assert status == 401
    assert errors() == []
    await _nothing_was_done(endpoint, slack)


def _payload(value: object) -> str:
    return urlencode({"payload": json.dumps(value)})


MALFORMED = {
    "not form-encoded": "hello world",
    "a form without a field": "&&&",
    "payload not JSON": urlencode({"payload": "{nope"}),
    "payload a JSON list": _payload([1, 2]),
    "payload a JSON string": _payload("block_actions"),
    "payload a JSON number": urlencode({"payload": "2"}),
    "two payloads": "payload=%7B%7D&payload=%7B%7D",
    "payload without a type": _payload({"user": {"id": "U0AGENT"}}),
    "payload whose user is text": _payload({"type": "block_actions", "user": "U0AGENT"}),
    "payload whose actions are text": _payload(
        {"type": "block_actions", "user": {"id": "U0AGENT"}, "actions": "x"}
    ),
    "payload whose view state is text": _payload(
        {"type": "view_submission", "user": {"id": "U0AGENT"}, "view": {"state": "x"}}
    ),
    "JSON body not an object": "[1, 2]",
    "JSON body not JSON": "{nope",
    "JSON body deeply nested": "{" + '"a":[' * 100_000,
    "event that is text": json.dumps({"type": "event_callback", "event": "x"}),
    "event without a type": json.dumps({"type": "event_callback", "event": {}}),
    "authorizations that are text": json.dumps(
        {"type": "event_callback", "event": {"type": "app_home_opened"}, "authorizations": "x"}
    ),
    "command without a response URL": urlencode(
        {"command": "/afas", "text": "help", "user_id": "U0AGENT", "team_id": "T0TEAM"}
    ),
    "command whose response URL is no URL": None,  # filled in below (needs the fake)
    "empty body": "",
}


@pytest.mark.parametrize("case", list(MALFORMED))
async def test_a_malformed_signed_body_is_a_400_and_does_nothing(
    endpoint, slack, errors, case
) -> None:
    body = MALFORMED[case]
    if body is None:
        body = command_body(slack, "help").replace("response_url=http", "response_url=nope")
    status, _ = await endpoint.post(body)
    assert status == 400
    assert errors() == []
    await _nothing_was_done(endpoint, slack)


async def test_a_body_that_is_not_utf8_or_too_large_is_a_400(endpoint, slack, errors) -> None:
    binary = b"payload=\xff\xfe"
    headers = signed(binary.decode("latin-1"))
    assert (await endpoint.post(binary, headers))[0] == 400
    huge = "text=" + "x" * (2 * 1024 * 1024)
    assert (await endpoint.post(huge))[0] == 400
    assert errors() == []
    await _nothing_was_done(endpoint, slack)


async def test_a_malformed_body_with_a_wrong_signature_is_a_401(endpoint, slack, errors) -> None:
    body = urlencode({"payload": "{nope"})
    status, _ = await endpoint.post(body, signed(body, secret="not-the-signing-secret"))
    assert status == 401  # the signature first: nothing is told to whoever cannot sign
    stale = command_body(slack, "help")
    assert (await endpoint.post(stale, signed(stale, age=600)))[0] == 401
    assert errors() == []


async def test_what_slack_sends_still_works_through_the_guard(endpoint, slack, errors) -> None:
    challenge = json.dumps({"type": "url_verification", "challenge": "abc123", "token": "t"})
    status, text = await endpoint.post(
        challenge, {**signed(challenge), "content-type": "application/json"}
    )
    assert status == 200 and "abc123" in text
    assert (await endpoint.post("ssl_check=1&token=legacy"))[0] == 200
    status, _ = await endpoint.post(command_body(slack, "help"))
    assert status == 200
    (answer,) = await wait_async(slack, 1)
    assert "/afas" in json.dumps(answer)
    clicked = action_body(slack, "no_such_action", "x")
    assert (await endpoint.post(clicked))[0] in (200, 404)  # Bolt's own answer to an unknown
    assert errors() == []


async def _nothing_was_done(endpoint: Endpoint, slack) -> None:
    """After a refused request, a good one is answered, and its answer is the only one."""
    before = len(slack.responses)
    status, _ = await endpoint.post(command_body(slack, "help"))
    assert status == 200
    await wait_async(slack, before + 1)
    assert len(slack.responses) == before + 1
    assert not slack.calls("chat.postMessage") and not slack.calls("views.open")
