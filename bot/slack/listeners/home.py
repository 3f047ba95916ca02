"""The App Home tab as the helpdesk's dashboard: opening it, Previous / Next, the filter by
state, the Register button, and each org's menu (Check, Deep check, History for everyone;
Handover, Mute, Edit for agents).

Everything a Home interaction sends is untrusted (anyone can forge a request): a page number
or filter is parsed again (a page past the end shows the last one, saying so), a menu choice
must be one of ours with a well-formed org key, and the role is asked again on every press.

A Home interaction has no response URL, so the app's error handler has nowhere to answer it:
the ``HomeSurface`` here does. An answer goes to the modal the interaction opened (updated), or
to a new modal on its trigger id, or, when that id is spent, to a notice on the Home tab.
Modals open with the trigger id before anything slow (Slack's 3 seconds): "checking…" first,
then the check, then the report in its place.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.home import (
    ALL_ORGS,
    CHOICES,
    FILTER_ACTION,
    FILTERS,
    NEXT_ACTION,
    ORG_MENU_ACTION,
    PREVIOUS_ACTION,
    REGISTER_ACTION,
    HomePosition,
    checking_modal,
    error_modal,
    history_modal,
    notice_modal,
    report_modal,
)
from bot.blocks.register import register_modal
from bot.errors import InternalError, Role, UserError, as_bot_error
from bot.i18n import t
from bot.services.checks import check_org
from bot.slack.errors import answering_errors, friendly_blocks, message_for
from bot.slack.home_refresh import HomeBoard
from bot.slack.listeners import SlackDeps, handover, mute, org_admin
from bot.slack.listeners.commands import history_rows
from bot.slack.permissions import Roles
from storage.dashboard import STATE_ORDER
from storage.models import CheckTrigger
from storage.repository import normalize_org_key

log = logging.getLogger(__name__)

#: No dashboard has more pages than this; a larger number is a forgery (or a typo in a test).
MAX_PAGE = 100_000


# -- reading what a Home interaction sends ---------------------------------------------------


def parse_position(value: object) -> tuple[HomePosition, str | None]:
    """A Previous / Next button's value. Returns the position to show and, when the value was
    not ours, the catalogue key of what to tell the reader (then the first page is shown)."""
    try:
        data = json.loads(value) if isinstance(value, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or type(data.get("page")) is not int:
        return HomePosition(), "home.bad_page"
    state = data.get("state")
    if state is not None and state not in STATE_ORDER:
        return HomePosition(), "home.bad_filter"
    return HomePosition(min(max(0, data["page"]), MAX_PAGE), state), None


def parse_filter(value: object) -> tuple[HomePosition, str | None]:
    """The filter's chosen option: the first page of that state (or of every org)."""
    if value not in FILTERS:
        return HomePosition(), "home.bad_filter"
    return HomePosition(0, None if value == ALL_ORGS else str(value)), None


def parse_choice(value: object) -> tuple[str, str]:
    """An org menu's chosen option, ``<choice>:<key>``. ``UserError`` when the choice is not
    ours; ``InvalidOrgError`` (a clear "not a valid key") when the key is malformed."""
    choice, _, key = value.partition(":") if isinstance(value, str) else ("", "", "")
    if choice not in CHOICES or not key:
        raise UserError("home.bad_choice")
    return choice, normalize_org_key(key)


def _user(body: dict[str, Any]) -> str:
    return (body.get("user") or {}).get("id", "")


def _selected(action: dict[str, Any]) -> object:
    return (action.get("selected_option") or {}).get("value")


# -- where an answer goes --------------------------------------------------------------------


@dataclass
class HomeSurface:
    """Answers for one Home interaction: the modal it opened, a new one, or the Home tab."""

    client: AsyncWebClient
    board: HomeBoard
    roles: Roles
    user: str
    language: str
    trigger_id: str
    view_id: str | None = None
    _role: Role | None = None

    async def is_agent(self) -> bool:
        """Asked once per interaction, and only when needed: a modal opens first."""
        if self._role is None:
            self._role = await self.roles.of(self.user)
        return self._role >= Role.AGENT

    async def show(self, view: dict) -> None:
        """Open ``view`` with the trigger id the first time, update it after that."""
        if self.view_id is not None:
            await self.client.views_update(view_id=self.view_id, view=view)
            return
        answer = await self.client.views_open(trigger_id=self.trigger_id, view=view)
        self.view_id = (answer.get("view") or {}).get("id")

    def give_trigger(self) -> str:
        """The trigger id, for a modal another module opens."""
        return self.trigger_id

    async def fail(self, error: BaseException) -> None:
        """Tell the reader what went wrong, on the best surface left: the modal this
        interaction opened, else a new one (the trigger id may be unused still: a function
        given it may have failed before opening anything), else the Home tab."""
        problem = as_bot_error(error)
        if isinstance(problem, InternalError):
            log.error(
                "Home tab action of user %s failed (reference %s)",
                self.user,
                problem.reference,
                exc_info=(type(error), error, error.__traceback__),
            )
        view = error_modal(friendly_blocks(problem, language=self.language), language=self.language)
        try:
            await self.show(view)
            return
        except SlackApiError as exc:  # the trigger id was used or ran out
            log.info("no modal for user %s's error: %s", self.user, exc.response.get("error"))
        await self.board.publish(
            self.user,
            language=self.language,
            is_agent=await self.is_agent(),
            notice=message_for(problem, self.language),
        )


async def answering_on_home(work: Awaitable[None], surface: HomeSurface) -> None:
    try:
        await work
    except Exception as error:
        await surface.fail(error)


# -- the listeners ---------------------------------------------------------------------------


@dataclass
class HomeContext:
    """One acknowledged Home interaction: who, in which language, and where to answer."""

    user: str
    language: str
    surface: HomeSurface
    deps: SlackDeps
    board: HomeBoard
    _reset: bool = field(default=False)

    async def is_agent(self) -> bool:
        return await self.surface.is_agent()

    async def reset_home(self) -> None:
        """Publish the Home tab again, once: its org menus show their placeholder again (a
        select shows the option chosen, and choosing it a second time would send nothing)."""
        if self._reset:
            return
        self._reset = True
        try:
            await self.board.publish(
                self.user, language=self.language, is_agent=await self.is_agent()
            )
        except Exception:  # cosmetic: never in the way of the answer to the choice itself
            log.warning("could not publish the Home tab of user %s again", self.user, exc_info=True)


async def home_opened(event: dict[str, Any], deps: SlackDeps, board: HomeBoard) -> None:
    if event.get("tab") not in (None, "home"):
        return
    user = event.get("user", "")
    language = await deps.languages.of(user)
    role = await deps.roles.of(user)
    await board.publish(user, language=language, is_agent=role >= Role.AGENT)


async def turn_page(
    ctx: HomeContext, position: HomePosition, problem: str | None, *, say_if_moved: bool
) -> None:
    await ctx.board.publish(
        ctx.user,
        language=ctx.language,
        is_agent=await ctx.is_agent(),
        position=position,
        notice=t(problem, ctx.language) if problem else None,
        say_if_moved=say_if_moved,
    )


async def register_pressed(ctx: HomeContext) -> None:
    await ctx.deps.roles.require(ctx.user, Role.AGENT, action="action.register")
    await ctx.surface.show(register_modal(language=ctx.language))


async def choose(ctx: HomeContext, value: object) -> None:
    """An org menu's choice: parsed, permitted, done; the Home tab reset in any case."""
    try:
        choice, key = parse_choice(value)
        await _CHOICES[choice](ctx, key)
    finally:
        await ctx.reset_home()


async def _check(ctx: HomeContext, key: str, *, deep: bool = False) -> None:
    await ctx.surface.show(checking_modal(key, deep=deep, language=ctx.language))  # 3 s
    await ctx.reset_home()
    result = await check_org(
        ctx.deps.runtime,
        ctx.deps.afas,
        key,
        trigger=CheckTrigger.COMMAND,
        actor=ctx.user,
        deep=deep,
    )
    await ctx.surface.show(
        report_modal(
            result.report,
            language=ctx.language,
            org_key=result.org_key,
            display_name=result.display_name,
        )
    )


async def _deep_check(ctx: HomeContext, key: str) -> None:
    await _check(ctx, key, deep=True)


async def _history(ctx: HomeContext, key: str) -> None:
    now = datetime.now(UTC)
    key_, name, checks, incidents = await asyncio.to_thread(
        history_rows, ctx.deps.runtime, key, now
    )
    await ctx.surface.show(
        history_modal(key_, name, checks, incidents, language=ctx.language, now=now)
    )


async def _handover(ctx: HomeContext, key: str) -> None:
    await ctx.deps.roles.require(ctx.user, Role.AGENT, action="action.handover")
    await ctx.surface.show(
        notice_modal(
            "home.handover_pending", language=ctx.language, title_key="home.handover_title", org=key
        )
    )
    await ctx.reset_home()
    await handover.post_handover(
        ctx.surface.client,
        ctx.deps,
        user=ctx.user,
        language=ctx.language,
        key=key,
        channel=ctx.user,  # the reader's messages with the app
        thread_ts=None,
    )
    await ctx.surface.show(
        notice_modal(
            "home.handover_posted", language=ctx.language, title_key="home.handover_title", org=key
        )
    )


async def _mute(ctx: HomeContext, key: str) -> None:
    await ctx.deps.roles.require(ctx.user, Role.AGENT, action="action.mute")
    await mute.open_mute_modal(
        ctx.surface.client,
        ctx.deps,
        trigger_id=ctx.surface.give_trigger(),
        user=ctx.user,
        language=ctx.language,
        key=key,
    )


async def _edit(ctx: HomeContext, key: str) -> None:
    await ctx.deps.roles.require(ctx.user, Role.AGENT, action="action.edit")
    await org_admin.open_edit_modal(
        ctx.surface.client,
        ctx.deps,
        trigger_id=ctx.surface.give_trigger(),
        user=ctx.user,
        language=ctx.language,
        key=key,
    )


_CHOICES: dict[str, Callable[[HomeContext, str], Awaitable[None]]] = {
    "check": _check,
    "deep": _deep_check,
    "history": _history,
    "handover": _handover,
    "mute": _mute,
    "edit": _edit,
}


async def _context(
    body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps, board: HomeBoard
) -> HomeContext:
    user = _user(body)
    language = await deps.languages.of(user)  # cached since the reader opened the tab
    surface = HomeSurface(
        client=client,
        board=board,
        roles=deps.roles,
        user=user,
        language=language,
        trigger_id=body.get("trigger_id", ""),
    )
    return HomeContext(user, language, surface, deps, board)


Interaction = Callable[[HomeContext, dict[str, Any]], Awaitable[None]]


async def on_home(
    interaction: Interaction,
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
    board: HomeBoard,
) -> None:
    """Acknowledge, then run ``interaction``, answering what it raises on the Home surface."""
    await ack()
    ctx = await _context(body, client, deps, board)
    await answering_on_home(interaction(ctx, action), ctx.surface)


async def _next_or_previous(ctx: HomeContext, action: dict[str, Any]) -> None:
    position, problem = parse_position(action.get("value"))
    await turn_page(ctx, position, problem, say_if_moved=True)


async def _filter(ctx: HomeContext, action: dict[str, Any]) -> None:
    position, problem = parse_filter(_selected(action))
    await turn_page(ctx, position, problem, say_if_moved=False)


async def _register(ctx: HomeContext, action: dict[str, Any]) -> None:
    await register_pressed(ctx)


async def _menu(ctx: HomeContext, action: dict[str, Any]) -> None:
    await choose(ctx, _selected(action))


_INTERACTIONS: dict[str, Interaction] = {
    NEXT_ACTION: _next_or_previous,
    PREVIOUS_ACTION: _next_or_previous,
    FILTER_ACTION: _filter,
    REGISTER_ACTION: _register,
    ORG_MENU_ACTION: _menu,
}


def _listener(
    interaction: Interaction, deps: SlackDeps, board: HomeBoard
) -> Callable[..., Awaitable[None]]:
    async def _action(
        ack: AsyncAck, body: dict[str, Any], action: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answering_errors(
            on_home(interaction, ack, body, action, client, deps, board),
            deps.languages,
            body,
            ack,
            client,
        )

    return _action


def register(app: AsyncApp, deps: SlackDeps, board: HomeBoard) -> None:
    """The Home tab's event and actions (``bot/slack/listeners/events.py`` calls this)."""

    @app.event("app_home_opened")
    async def _home(
        ack: AsyncAck, body: dict[str, Any], event: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answering_errors(home_opened(event, deps, board), deps.languages, body, ack, client)

    for action_id, interaction in _INTERACTIONS.items():
        app.action(action_id)(_listener(interaction, deps, board))
