"""The Slack objects the fake's workspace starts with and how they look: users, channels,
user groups and DMs, in the shapes ``users.info`` and ``conversations.info`` return."""

from __future__ import annotations

from typing import Any

BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
TEAM_ID = "T0TEST"
APP_ID = "A0TEST"
TEAM_DOMAIN = "afas-test"
SCOPES = (
    "chat:write,commands,users:read,users:read.email,usergroups:read,im:write,files:write,"
    "channels:history,groups:history"
)


def default_identity() -> dict[str, Any]:
    """What ``auth.test`` answers for the bot token."""
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": "AFAS Test",
        "user": "afasbot",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def default_users() -> dict[str, dict[str, Any]]:
    return {
        "U0ALICE": make_user(
            "U0ALICE", "alice", "Alice Jansen", locale="nl-NL", email="alice@example.com"
        ),
        "U0BOB": make_user("U0BOB", "bob", "Bob Smith", locale="en-US", email="bob@example.com"),
        BOT_USER_ID: make_user(BOT_USER_ID, "afasbot", "AFAS bot", locale="en-US", is_bot=True),
    }


def default_channels() -> dict[str, dict[str, Any]]:
    return {
        "C0ALERTS": make_channel("C0ALERTS", "afas-alerts"),
        "C0HELPDESK": make_channel("C0HELPDESK", "helpdesk"),
        "C0GENERAL": make_channel("C0GENERAL", "general"),
    }


def default_usergroups() -> dict[str, list[str]]:
    return {"S0HELPDESK": ["U0ALICE", "U0BOB"], "S0EMPTY": []}


def make_user(
    user_id: str,
    name: str,
    real_name: str | None = None,
    *,
    locale: str = "en-US",
    tz: str = "Europe/Amsterdam",
    tz_offset: int = 3600,
    is_bot: bool = False,
    email: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A ``users.info`` user object (``locale`` is stripped unless ``include_locale``)."""
    real = real_name if real_name is not None else name
    profile: dict[str, Any] = {"real_name": real, "display_name": name}
    if email is not None:
        profile["email"] = email
    user = {
        "id": user_id,
        "team_id": TEAM_ID,
        "name": name,
        "real_name": real,
        "deleted": False,
        "locale": locale,
        "tz": tz,
        "tz_offset": tz_offset,
        "is_bot": is_bot,
        "is_admin": False,
        "profile": profile,
    }
    user.update(extra)
    return user


def make_channel(channel_id: str, name: str, **extra: Any) -> dict[str, Any]:
    """A ``conversations.info`` channel object; ``is_member=False`` → ``not_in_channel`` on post,
    ``is_archived=True`` → ``is_archived``."""
    channel = {
        "id": channel_id,
        "name": name,
        "is_channel": True,
        "is_group": False,
        "is_im": False,
        "is_private": False,
        "is_archived": False,
        "is_member": True,
    }
    channel.update(extra)
    return channel


def dm_channel_id(user_id: str) -> str:
    """The fake's DM channel id with a user: ``U0ALICE`` → ``D0ALICE``."""
    return "D" + user_id[1:]
