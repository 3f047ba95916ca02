"""``/afas status`` paged, end to end: signed commands and button presses into the real Bolt
app, answers through the Slack Web API fake's response URLs, the orgs in the database.

Each press answers in place of the ephemeral message it came from (``replace_original``); a
value that is not ours, or a page that no longer exists, is answered with a page and a line
that says so; nobody needs a role."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlencode

import pytest
from slack_sdk.models.blocks import Block

from bot.blocks.common import MESSAGE_TEXT_BUDGET
from bot.blocks.status import FILTER_ACTION, NEXT_ACTION, PAGE_SIZE, PREVIOUS_ACTION
from bot.i18n import t
from bot.slack.commands import StatusCommand, parse_command
from storage.dashboard import NEVER_CHECKED, STATE_ORDER
from tests.bot.blocks.helpers import all_text, assert_within_slack_limits
from tests.bot.slack.requests import action_body, command_body
from tests.bot.slack.test_afas_command import dispatch, wait_async
from tests.storage.test_dashboard import bulk_state, insert_orgs

_ORG_LINE = re.compile(r"^:[a-z_]+: \*([a-z0-9-]+)\*")


async def press_status(world: Any, action_id: str, value: str, user: str) -> Any:
    """Previous / Next under a status page, for the permission matrix's ``World``."""
    return await dispatch(world.bolt, action_body(world.slack, action_id, value, user=user))


async def choose_status(world: Any, value: str, user: str) -> Any:
    """The status page's filter, for the permission matrix's ``World``."""
    return await dispatch(world.bolt, select_body(world.slack, FILTER_ACTION, value, user))


def select_body(slack, action_id: str, value: str, user: str = "U0GUEST") -> str:
    """A static select's choice in an ephemeral message, as Slack sends it."""
    (payload,) = parse_qs(action_body(slack, action_id, value, user=user))["payload"]
    data = json.loads(payload)
    data["actions"] = [
        {
            "action_id": action_id,
            "block_id": "status_paging",
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "x"}, "value": value},
            "action_ts": "1700000000.000100",
        }
    ]
    return urlencode({"payload": json.dumps(data)})


@pytest.fixture
async def app(bolt, runtime):
    return bolt


def seed(runtime, count: int) -> list[str]:
    with runtime.session() as session:
        return insert_orgs(session, runtime.require_cipher(), count, now=datetime.now(UTC))


def valid(answer: dict) -> dict:
    """A message Slack takes: its limits, slack_sdk's checks, ephemeral."""
    blocks = answer["blocks"]
    assert_within_slack_limits(blocks)
    assert all_text(blocks) <= MESSAGE_TEXT_BUDGET
    for block in blocks:
        Block.parse(block).validate_json()
    assert answer["response_type"] == "ephemeral" and answer["text"]
    return answer


def org_keys(answer: dict) -> list[str]:
    lines = [
        line
        for block in answer["blocks"]
        if block["type"] == "section"
        for line in block["text"]["text"].splitlines()
    ]
    return [match.group(1) for line in lines if (match := _ORG_LINE.match(line))]


def element(answer: dict, action_id: str) -> dict | None:
    for block in answer["blocks"]:
        for candidate in block.get("elements", []):
            if candidate.get("action_id") == action_id:
                return candidate
    return None


def dumped(answer: dict) -> str:
    return json.dumps(answer, ensure_ascii=False)


class Reader:
    """One person looking at the status: each answer is the next response URL post."""

    def __init__(self, app, slack, user: str = "U0GUEST") -> None:
        self.app, self.slack, self.user = app, slack, user

    async def _next_answer(self, body: str) -> dict:
        before = len(self.slack.responses)
        response = await dispatch(self.app, body)
        assert response.status == 200
        return valid((await wait_async(self.slack, before + 1))[before])

    async def command(self, text: str) -> dict:
        return await self._next_answer(command_body(self.slack, text, user=self.user))

    async def press(self, action_id: str, value: str) -> dict:
        answer = await self._next_answer(action_body(self.slack, action_id, value, user=self.user))
        assert answer["replace_original"] is True  # in place of the message pressed in
        return answer

    async def choose(self, value: str) -> dict:
        answer = await self._next_answer(select_body(self.slack, FILTER_ACTION, value, self.user))
        assert answer["replace_original"] is True
        return answer


def worst_first(keys: list[str]) -> list[str]:
    def rank(key: str) -> tuple[int, str]:
        state = bulk_state(int(key.removeprefix("org-")))
        return STATE_ORDER.index(state if state in STATE_ORDER else NEVER_CHECKED), key

    return sorted(keys, key=rank)


async def test_next_pages_through_every_org_worst_first_and_previous_comes_back(
    app, slack, runtime
) -> None:
    keys = seed(runtime, 2 * PAGE_SIZE + 10)
    reader = Reader(app, slack)
    first = await reader.command("status")
    assert first.get("replace_original") in (None, False)  # the command's own, new message
    assert ":x: Failing: 9" in dumped(first) and ":white_check_mark: In" not in dumped(first)
    assert "Orgs 1–25 of 60 · page 1 of 3" in dumped(first)
    assert element(first, PREVIOUS_ACTION) is None
    pages, answer = [org_keys(first)], first
    while (button := element(answer, NEXT_ACTION)) is not None:
        answer = await reader.press(NEXT_ACTION, button["value"])
        pages.append(org_keys(answer))
    assert [len(page) for page in pages] == [25, 25, 10]
    assert [key for page in pages for key in page] == worst_first(keys)  # each once, in order
    assert "Orgs 51–60 of 60 · page 3 of 3" in dumped(answer)
    back = await reader.press(PREVIOUS_ACTION, element(answer, PREVIOUS_ACTION)["value"])
    assert org_keys(back) == pages[1]


async def test_the_filter_and_forged_or_stale_values_are_answered_with_a_page(
    app, slack, runtime
) -> None:
    seed(runtime, 100)
    reader = Reader(app, slack)
    failing = await reader.choose("failing")
    assert len(org_keys(failing)) == 15 and "*Failing* · Orgs 1–15 of 15" in dumped(failing)
    assert element(failing, FILTER_ACTION)["initial_option"]["value"] == "failing"
    never = await reader.choose("never")
    assert "*Never checked* · Orgs 1–25 of 28 · page 1 of 2" in dumped(never)  # None, "weird"
    assert len(org_keys(never)) == 25
    everyone = await reader.choose("all")
    assert "Orgs 1–25 of 100 · page 1 of 4" in dumped(everyone)
    cases = [
        (NEXT_ACTION, "not json", "home.bad_page", "Orgs 1–25 of 100"),
        (NEXT_ACTION, '{"page": "2"}', "home.bad_page", "Orgs 1–25 of 100"),
        (PREVIOUS_ACTION, '{"page": 1, "state": "hacked"}', "home.bad_filter", "page 1 of 4"),
        (NEXT_ACTION, '{"page": 99999999, "state": null}', None, "Orgs 76–100 of 100"),
        (PREVIOUS_ACTION, '{"page": -5, "state": "healthy"}', None, "*Healthy* · Orgs 1–25"),
        (NEXT_ACTION, "", "home.bad_page", "Orgs 1–25 of 100"),
    ]
    for action_id, value, problem, shown in cases:
        answer = await reader.press(action_id, value)
        if problem is not None:
            assert t(problem, "en") in dumped(answer), value
        assert shown in dumped(answer), value
    moved = t("home.page_moved", "en", page=4, pages=4)
    assert moved in dumped(await reader.press(NEXT_ACTION, '{"page": 7, "state": null}'))
    forged_filter = await reader.choose("'; drop table orgs")
    assert t("home.bad_filter", "en") in dumped(forged_filter)
    assert "Orgs 1–25 of 100" in dumped(forged_filter)


async def test_no_orgs_yet_says_how_to_register_one(app, slack) -> None:
    answer = await Reader(app, slack).command("status")
    assert "No orgs are registered yet" in dumped(answer)
    again = await Reader(app, slack).press(NEXT_ACTION, '{"page": 3, "state": null}')
    assert "No orgs are registered yet" in dumped(again)


@pytest.mark.parametrize(
    ("typed", "state"),
    [
        ("failing", "failing"),
        ("fout", "failing"),
        ("Onbereikbaar", "unreachable"),
        ("bijna in orde", "degraded"),
        ("ok", "healthy"),
        ("in orde", "healthy"),
        ("never", NEVER_CHECKED),
        ("nooit gecontroleerd", NEVER_CHECKED),
        ("alle", None),
    ],
)
def test_the_parser_reads_the_state_words(typed: str, state: str | None) -> None:
    assert parse_command(f"status {typed}") == StatusCommand(state)


def test_the_parsers_state_words_are_the_dashboards_states() -> None:
    from bot.slack import commands

    assert set(commands._STATES.values()) == set(STATE_ORDER)


async def test_a_typed_state_filters_and_an_unknown_one_says_which_there_are(
    app, slack, runtime
) -> None:
    seed(runtime, 100)
    dutch = Reader(app, slack, user="U0AGENT")
    failing = await dutch.command("status fout")
    assert "*Fout* · Organisaties 1–15 van 15" in dumped(failing)
    assert len(org_keys(failing)) == 15
    following = await dutch.press(NEXT_ACTION, '{"page": 1, "state": "failing"}')
    assert "pagina 1 van 1" in dumped(following)  # one page: the nearest one
    before = len(slack.responses)
    await dispatch(app, command_body(slack, "status kapot", user="U0GUEST"))
    (refused,) = (await wait_async(slack, before + 1))[before:]
    assert t("usage.status_state", "en") in dumped(refused)
    assert "kapot" not in dumped(refused)  # what was typed is not repeated
