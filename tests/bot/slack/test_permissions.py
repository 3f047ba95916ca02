"""Who is an agent and who an admin, asked of the Slack fake over real HTTP: one or more agent
user groups and listed ids, admins by id or by their own group; each group's members cached;
nobody counts as a member of a group Slack cannot tell about (fail closed); a refusal names
up to three admins configured by id."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bot.errors import PermissionRefused, Role
from bot.slack.app import roles_from_settings, web_client
from bot.slack.permissions import Roles, user_ids


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def client(slack):
    slack.usergroups.update(
        {"S0DAY": ["U0DAY"], "S0NIGHT": ["U0NIGHT"], "S0LEADS": ["U0LEAD"], "S0BOTH": ["U0DAY"]}
    )
    return web_client("xoxb-test", base_url=slack.url)


def group_calls(slack) -> list[str]:
    return [call.params["usergroup"] for call in slack.calls("usergroups.users.list")]


def test_ids_are_read_in_order_each_once() -> None:
    assert user_ids(" U2, U1 U2,,U3 ") == ("U2", "U1", "U3")
    assert user_ids("") == () and user_ids(None) == ()


async def test_agents_are_members_of_any_agent_group_or_listed(client) -> None:
    roles = Roles(client, usergroup="S0DAY, S0NIGHT", agents={"U0LISTED"})
    assert await roles.of("U0DAY") is Role.AGENT
    assert await roles.of("U0NIGHT") is Role.AGENT  # the second group counts as much
    assert await roles.of("U0LISTED") is Role.AGENT
    assert await roles.of("U0LEAD") is Role.EVERYONE  # in a group, but not an agents' one
    assert await roles.of("U0STRANGER") is Role.EVERYONE


async def test_admins_are_listed_or_members_of_the_admin_group(client) -> None:
    roles = Roles(client, usergroup="S0DAY", admins=("U0BOSS",), admin_usergroup="S0LEADS")
    assert await roles.of("U0BOSS") is Role.ADMIN
    assert await roles.of("U0LEAD") is Role.ADMIN
    assert await roles.of("U0DAY") is Role.AGENT
    # an admin may do everything an agent may
    assert await roles.require("U0LEAD", Role.AGENT, action="action.mute") is Role.ADMIN
    with pytest.raises(PermissionRefused) as refused:
        await roles.require("U0DAY", Role.ADMIN, action="action.export_live_production")
    assert refused.value.needed is Role.ADMIN
    assert refused.value.action == "action.export_live_production"


async def test_each_groups_members_are_cached_for_the_ttl(slack, client) -> None:
    clock = Clock()
    roles = Roles(client, usergroup="S0DAY S0NIGHT", ttl=300, clock=clock)
    assert await roles.of("U0NIGHT") is Role.AGENT
    assert await roles.of("U0DAY") is Role.AGENT
    assert await roles.of("U0NIGHT") is Role.AGENT
    assert group_calls(slack) == ["S0DAY", "S0NIGHT"]  # each asked once
    slack.usergroups["S0NIGHT"] = []  # removed from the group in Slack
    clock.now += 299
    assert await roles.of("U0NIGHT") is Role.AGENT  # still cached
    clock.now += 2
    assert await roles.of("U0NIGHT") is Role.EVERYONE  # asked again after the ttl
    assert group_calls(slack) == ["S0DAY", "S0NIGHT", "S0DAY", "S0NIGHT"]


async def test_a_burst_of_presses_asks_slack_once_per_group(slack, client) -> None:
    roles = Roles(client, usergroup="S0DAY,S0NIGHT")
    found = await asyncio.gather(*(roles.of("U0NIGHT") for _ in range(20)))
    assert set(found) == {Role.AGENT}
    assert sorted(group_calls(slack)) == ["S0DAY", "S0NIGHT"]


async def test_a_group_slack_cannot_tell_about_has_no_members_and_is_asked_again(
    slack, client, caplog
) -> None:
    roles = Roles(client, usergroup="S0GONE S0NIGHT")
    assert await roles.of("U0NIGHT") is Role.AGENT  # the other group still counts
    assert await roles.of("U0GONE") is Role.EVERYONE
    assert "cannot read user group S0GONE (no_such_subteam)" in caplog.text
    slack.fail("usergroups.users.list", "ratelimited", times=1)
    roles = Roles(client, usergroup="S0DAY")
    assert await roles.of("U0DAY") is Role.EVERYONE  # fail closed
    assert await roles.of("U0DAY") is Role.AGENT  # and asked again, not cached
    with pytest.raises(PermissionRefused):
        await Roles(client, usergroup="S0GONE").require("U0DAY", Role.AGENT, action="action.mute")


async def test_slack_out_of_reach_counts_nobody_as_a_member(caplog) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = web_client("xoxb-test", base_url=f"http://127.0.0.1:{port}/api/")
    roles = Roles(client, usergroup="S0DAY", agents={"U0LISTED"}, admins={"U0BOSS"})
    assert await roles.of("U0DAY") is Role.EVERYONE
    assert await roles.of("U0LISTED") is Role.AGENT  # listed ids need no Slack
    assert await roles.of("U0BOSS") is Role.ADMIN
    assert "cannot reach Slack for user group S0DAY" in caplog.text
    assert "xoxb-test" not in caplog.text


async def test_a_refusal_names_up_to_three_admins_in_the_order_configured(client) -> None:
    roles = Roles(client, usergroup="S0DAY", admins=("U0C", "U0A", "U0D", "U0B"))
    with pytest.raises(PermissionRefused) as refused:
        await roles.require("U0STRANGER", Role.AGENT, action="action.mute")
    assert refused.value.values == {"action": "action.mute", "admins": "<@U0C>, <@U0A>, <@U0D>"}
    by_group = Roles(client, usergroup="S0DAY", admin_usergroup="S0LEADS")
    with pytest.raises(PermissionRefused) as refused:
        await by_group.require("U0DAY", Role.ADMIN, action="action.export_live_production")
    assert "admins" not in refused.value.values  # nobody to name: the generic text


def test_roles_come_from_the_settings(make_runtime, sandbox, slack, client) -> None:
    runtime = make_runtime(
        sandbox.url_template,
        slack_agent_usergroup="S0DAY, S0NIGHT",
        slack_agent_user_ids="U0LISTED",
        slack_admin_user_ids="U0BOSS U0CHIEF",
        slack_admin_usergroup="S0LEADS",
    )
    roles = roles_from_settings(runtime, client)

    async def all_roles() -> list[Role]:
        users = ("U0DAY", "U0NIGHT", "U0LISTED", "U0BOSS", "U0LEAD", "U0STRANGER")
        return [await roles.of(user) for user in users]

    assert asyncio.run(all_roles()) == [
        Role.AGENT,
        Role.AGENT,
        Role.AGENT,
        Role.ADMIN,
        Role.ADMIN,
        Role.EVERYONE,
    ]
    assert roles.named_admins() == "<@U0BOSS>, <@U0CHIEF>"
