"""``/afas watch <org>`` (``volg``) and its Stop button, for helpdesk agents: one message in
the channel where the command was typed, re-checked and edited in place until the org is
healthy, someone stops it, or the time is up (the loop: ``bot/slack/watching.py``).

The watch's row is written (and committed) before its message is posted, so a second
``/afas watch`` of the same org, on any replica, is refused with who watches it since when,
and nothing is posted. Where the bot cannot post (not a member, archived, a conversation it
cannot see) the message goes to the agent's direct messages with the app, and the agent is
told why.
"""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.watch import (
    STOP_ACTION,
    WatchPhase,
    WatchView,
    busy_blocks,
    busy_text,
    watch_blocks,
    watch_text,
)
from bot.errors import Role, UserError
from bot.i18n import t
from bot.slack.commands import WatchCommand
from bot.slack.errors import answering_errors, user_of
from bot.slack.listeners.deps import CommandContext, SlackDeps
from bot.slack.watching import RunningWatch, Watcher, watcher_for
from storage.repository import get_org
from storage.watches import WatchStart, end_watch, set_watch_message, start_watch

log = logging.getLogger(__name__)

#: Slack's refusals of a post in the command's channel after which the message goes to the
#: agent's direct messages instead, with what the agent is told.
FALLBACK_REASONS = {
    "not_in_channel": "watch.fallback.not_in_channel",
    "is_archived": "watch.fallback.is_archived",
    "channel_not_found": "watch.fallback.channel_not_found",
}
_WATCH_ID = re.compile(r"[0-9]{1,12}")


@dataclass(frozen=True)
class _Started:
    org_id: int
    org_key: str
    display_name: str
    start: WatchStart


async def watch_command(ctx: CommandContext, command: WatchCommand) -> None:
    deps = ctx.deps
    await deps.roles.require(ctx.user, Role.AGENT, action="action.watch")
    if deps.background.stopping:
        raise UserError("watch.restarting")
    watcher = watcher_for(deps, ctx.client)
    started = await asyncio.to_thread(_start, watcher, ctx, command.key)
    busy, watch = started.start.busy, started.start.watch
    if busy is not None:
        facts = (started.org_key, busy.started_by, busy.started_at)
        await ctx.respond(
            blocks=busy_blocks(*facts, language=ctx.language, tz=watcher.tz),
            text=busy_text(*facts, language=ctx.language, tz=watcher.tz),
            response_type="ephemeral",
        )
        return
    assert watch is not None and watch.id is not None
    if started.start.replaced is not None:
        await watcher.announce_restarted(started.start.replaced)
    running = RunningWatch(
        watch_id=watch.id,
        org_id=started.org_id,
        org_key=started.org_key,
        display_name=started.display_name,
        channel=watch.channel,
        ts="",
        language=ctx.language,
        started_by=ctx.user,
        started_at=watch.started_at,
        ends_at=watch.ends_at,
    )
    try:
        channel, ts, refused = await _post(ctx, watcher, running)
    except Exception:
        await asyncio.to_thread(_end, watcher, watch.id)
        raise
    running.channel, running.ts = channel, ts
    if not await asyncio.to_thread(_remember, watcher, watch.id, channel, ts):
        log.warning("watch of org %s was taken over before it began", started.org_key)
        return
    if refused is not None:
        await ctx.respond(
            text=t(FALLBACK_REASONS[refused], ctx.language, org=started.org_key),
            response_type="ephemeral",
        )
    watcher.run(running)


async def _post(
    ctx: CommandContext, watcher: Watcher, running: RunningWatch
) -> tuple[str, str, str | None]:
    """Post the first version of the message where the command was typed, or else in the
    agent's direct messages with the app: (channel, ts, why not the command's channel)."""
    view = WatchView(
        watch_id=running.watch_id,
        org_key=running.org_key,
        phase=WatchPhase.RUNNING,
        now=watcher.clock(),
        display_name=running.display_name,
        started_at=running.started_at,
        ends_at=running.ends_at,
        interval_seconds=watcher.interval,
        started_by=running.started_by,
    )
    content = {
        "blocks": watch_blocks(view, language=ctx.language, tz=watcher.tz),
        "text": watch_text(view, language=ctx.language),
    }
    refused: str | None = "channel_not_found" if not ctx.channel else None
    if ctx.channel:
        try:
            answer = await ctx.client.chat_postMessage(channel=ctx.channel, **content)
            return answer["channel"], answer["ts"], None
        except SlackApiError as exc:
            refused = exc.response.get("error")
            if refused not in FALLBACK_REASONS:
                raise
    try:
        answer = await ctx.client.chat_postMessage(channel=ctx.user, **content)
    except SlackApiError as exc:
        log.warning("watch: cannot post in the DM either (%s)", exc.response.get("error"))
        raise UserError("watch.cannot_post") from None
    return answer["channel"], answer["ts"], refused


async def stop_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    """Stop, by an agent; the value is the watch's id, and it must be the watch of the
    message clicked (a forged or outdated value is answered, nothing stops)."""
    await ack()
    user = user_of(body)
    await deps.roles.require(user, Role.AGENT, action="action.watch")
    value = str(action.get("value") or "")
    if not _WATCH_ID.fullmatch(value):
        raise UserError("error.stale_button")
    container = body.get("container") or {}
    ts = str(container.get("message_ts") or (body.get("message") or {}).get("ts") or "")
    if not await watcher_for(deps, client).stop(int(value), ts=ts, user=user):
        raise UserError("watch.not_running")


def register(app: AsyncApp, deps: SlackDeps, client: AsyncWebClient) -> None:
    """The Stop button; and the app's watcher (posting with ``client``, the bot's own), so
    that its expiry job and its stop callback are in place before the app starts."""
    watcher_for(deps, client)

    @app.action(STOP_ACTION)
    async def _stop(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await answering_errors(
            stop_button(ack, body, action, client, deps),
            deps.languages,
            body,
            ack,
            client,
            respond,
        )


# -- the database work, in worker threads ------------------------------------------------------


def _start(watcher: Watcher, ctx: CommandContext, key: str) -> _Started:
    with watcher.deps.runtime.session() as session:
        org = get_org(session, key)
        assert org.id is not None
        start = start_watch(
            session,
            org,
            channel=ctx.channel or ctx.user,
            language=ctx.language,
            started_by=ctx.user,
            owner=watcher.owner,
            duration=watcher.max_duration,
            lease_seconds=watcher.lease_seconds,
            now=watcher.clock(),
        )
        return _Started(org.id, org.key, org.display_name, start)


def _remember(watcher: Watcher, watch_id: int, channel: str, ts: str) -> bool:
    with watcher.deps.runtime.session() as session:
        return set_watch_message(session, watch_id, owner=watcher.owner, channel=channel, ts=ts)


def _end(watcher: Watcher, watch_id: int) -> None:
    with watcher.deps.runtime.session() as session:
        end_watch(session, watch_id, owner=watcher.owner)
