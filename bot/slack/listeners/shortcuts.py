"""The global shortcut "Register an AFAS org": the same registration form as ``/afas register``
and the Home tab's Register button, for helpdesk agents. A shortcut has no response URL: a
refusal is shown in a modal opened with the shortcut's trigger id."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.register import register_modal
from bot.errors import Role
from bot.slack.errors import answering_errors
from bot.slack.home_refresh import HomeBoard
from bot.slack.listeners import SlackDeps
from bot.slack.listeners.home import HomeSurface, answering_on_home

REGISTER_SHORTCUT = "register_org_shortcut"
#: The shortcut's name in the app manifest (Slack allows 24 characters).
REGISTER_SHORTCUT_NAME = "Register an AFAS org"


async def register_shortcut(
    ack: AsyncAck,
    body: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
    board: HomeBoard,
) -> None:
    await ack()
    user = (body.get("user") or {}).get("id", "")
    language = await deps.languages.of(user)
    surface = HomeSurface(
        client=client,
        board=board,
        roles=deps.roles,
        user=user,
        language=language,
        trigger_id=body.get("trigger_id", ""),
    )
    await answering_on_home(_open_form(surface, deps), surface)


async def _open_form(surface: HomeSurface, deps: SlackDeps) -> None:
    await deps.roles.require(surface.user, Role.AGENT, action="action.register")
    await surface.show(register_modal(language=surface.language))  # the trigger lives 3 s


def register(app: AsyncApp, deps: SlackDeps, board: HomeBoard) -> None:
    @app.shortcut(REGISTER_SHORTCUT)
    async def _register(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await answering_errors(
            register_shortcut(ack, body, client, deps, board), deps.languages, body, ack, client
        )
