"""``/afas help`` shows each reader the commands they may use, and no others."""

from __future__ import annotations

import pytest

from bot.blocks.help import help_blocks, help_text
from tests.bot.blocks.helpers import assert_within_slack_limits, contexts, dump, header

EVERYONE = ["check &lt;org&gt;`", "check &lt;org&gt; deep`", "/afas status`", "/afas help`"]
AGENTS = [
    "/afas register`",
    "rotate &lt;org&gt;`",
    "edit &lt;org&gt;`",
    "mute &lt;org&gt; 2h`",
    "unmute &lt;org&gt;`",
    "watch &lt;org&gt;`",
    "handover &lt;org&gt;`",
]
ADMINS = ["remove &lt;org&gt;`"]


def shown(blocks: list[dict], commands: list[str]) -> list[bool]:
    text = dump(blocks)
    return [command in text for command in commands]


@pytest.mark.parametrize(
    ("roles", "agents", "admins"),
    [
        ({}, False, False),
        ({"is_agent": True}, True, False),
        ({"is_admin": True}, True, True),
        ({"is_agent": True, "is_admin": True}, True, True),
    ],
)
def test_only_the_commands_the_reader_may_use(roles, agents, admins) -> None:
    blocks = help_blocks(language="en", **roles)
    assert_within_slack_limits(blocks)
    assert all(shown(blocks, EVERYONE))
    assert shown(blocks, AGENTS) == [agents] * len(AGENTS)
    assert shown(blocks, ADMINS) == [admins] * len(ADMINS)
    assert ("For helpdesk agents" in dump(blocks)) is agents
    assert ("For admins" in dump(blocks)) is admins
    assert ("Never paste a token" in dump(blocks)) is agents


def test_help_in_dutch_and_english() -> None:
    english = help_blocks(language="en", is_agent=True)
    dutch = help_blocks(language="nl", is_agent=True)
    assert header(english) == "The /afas commands" and header(dutch) == "De /afas-opdrachten"
    assert "`/afas check &lt;org&gt;`: check an org's setup" in dump(english)
    assert "`/afas check &lt;org&gt;`: controleer de inrichting van een organisatie" in dump(dutch)
    assert "Plak een token nooit" in contexts(dutch)[0]
    assert help_text(language="nl") == "De /afas-opdrachten"


def test_command_syntax_is_escaped_so_slack_shows_the_angle_brackets() -> None:
    text = dump(help_blocks(language="en", is_admin=True))
    assert "<org>" not in text
