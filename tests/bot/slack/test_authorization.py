"""The bot's token is checked with ``auth.test`` once, also under a burst of first requests."""

from __future__ import annotations

import asyncio

from tests.bot.slack.requests import command_body
from tests.bot.slack.test_afas_command import dispatch


async def test_a_burst_of_first_requests_makes_one_auth_test(bolt, slack) -> None:
    answers = await asyncio.gather(
        *(dispatch(bolt, command_body(slack, "register")) for _ in range(30))
    )
    assert [a.status for a in answers] == [200] * 30
    assert len(slack.calls("auth.test")) == 1
    # Each request's client carries the bot token: the modals were opened with it.
    opened = await slack.wait_for_async("views.open", count=30)
    assert {call.headers.get("authorization") for call in opened} == {"Bearer xoxb-test"}
    await dispatch(bolt, command_body(slack, "register"))
    assert len(slack.calls("auth.test")) == 1  # cached


async def test_a_failed_auth_test_is_not_cached(bolt, slack) -> None:
    slack.fail("auth.test", "internal_error", status=500)
    refused = await dispatch(bolt, command_body(slack, "register"))
    assert "views.open" not in slack.methods()
    answered = await dispatch(bolt, command_body(slack, "register"))
    assert answered.status == 200
    await slack.wait_for_async("views.open")
    assert len(slack.calls("auth.test")) == 2
    assert "SLACK_BOT_TOKEN" in refused.body and "Probeer het over een minuut" in refused.body
    assert "xoxb-test" not in refused.body
