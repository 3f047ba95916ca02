"""The reader's language: looked up once per user, also under a burst."""

from __future__ import annotations

import asyncio

from bot.slack.app import web_client
from bot.slack.locale import ReaderLanguages


async def test_a_burst_from_one_user_makes_one_lookup(slack) -> None:
    languages = ReaderLanguages(web_client("xoxb-test", base_url=slack.url))
    answers = await asyncio.gather(*(languages.of("U0AGENT") for _ in range(50)))
    assert answers == ["nl"] * 50
    assert len(slack.calls("users.info")) == 1
    assert await languages.of("U0AGENT") == "nl" and len(slack.calls("users.info")) == 1


async def test_an_unknown_user_is_english_and_asked_again_next_time(slack) -> None:
    languages = ReaderLanguages(web_client("xoxb-test", base_url=slack.url))
    first = await asyncio.gather(*(languages.of("U0NOBODY") for _ in range(10)))
    assert first == ["en"] * 10 and len(slack.calls("users.info")) == 1
    assert await languages.of("U0NOBODY") == "en"
    assert len(slack.calls("users.info")) == 2  # a failure is not cached


async def test_a_cancelled_waiter_does_not_cancel_the_others(slack) -> None:
    languages = ReaderLanguages(web_client("xoxb-test", base_url=slack.url))
    first = asyncio.ensure_future(languages.of("U0GUEST"))
    second = asyncio.ensure_future(languages.of("U0GUEST"))
    await asyncio.sleep(0)
    first.cancel()
    assert await second == "en"  # U0GUEST's locale is en-US
    assert len(slack.calls("users.info")) == 1
