from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from bot.slack.app import create_slack_app, web_client
from bot.slack.permissions import Roles
from tests.fakes.slack import SlackWebApiFake

SIGNING_SECRET = "test-signing-secret"


@pytest.fixture
def slack() -> Iterator[SlackWebApiFake]:
    with SlackWebApiFake() as fake:
        fake.users["U0AGENT"] = {"id": "U0AGENT", "name": "sanne", "locale": "nl-NL"}
        fake.users["U0GUEST"] = {"id": "U0GUEST", "name": "guest", "locale": "en-US"}
        fake.usergroups["S0AGENTS"] = ["U0AGENT"]  # the helpdesk agents
        yield fake


@pytest.fixture
async def bolt(runtime, slack) -> AsyncIterator:
    """The real Bolt app, talking to the Slack fake and (through the runtime) the sandbox."""
    client = web_client("xoxb-test", base_url=slack.url)
    async with runtime.afas_client() as afas:
        yield create_slack_app(
            runtime,
            afas,
            client=client,
            signing_secret=SIGNING_SECRET,
            roles=Roles(client, usergroup="S0AGENTS"),
        )
