"""``/afas handover <org>`` (``overdracht``) and the Handover button under a check report or an
alert: the customer-success handover note, for helpdesk agents.

The note is posted as a message in the channel where it was asked (under an alert: in the
alert's thread), in the requester's language, and the same note follows as a Markdown file
(``handover-<key>-<date>.md``) through Slack's external upload (slack_sdk's
``files_upload_v2``: ``files.getUploadURLExternal``, the upload, ``files.completeUploadExternal``),
in the message's thread. A channel that refuses the bot (not a member, archived…) gets the
note in the requester's DM with the app instead, and the requester is told so; an upload that
fails leaves the message and says why (``missing_scope`` when the app lacks ``files:write``).

The note comes from the database only (bot/services/handover.py): it works while AFAS is down.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import aiohttp
from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.handover import HANDOVER_ACTION, handover_blocks, handover_text
from bot.errors import Role, UserError
from bot.handover_markdown import handover_markdown, local_date, zone_of
from bot.i18n import normalise_language, t
from bot.services.handover import HandoverNote, load_note
from bot.slack.commands import HandoverCommand, parse_command
from bot.slack.errors import answering_errors
from bot.slack.listeners.deps import CommandContext, SlackDeps

log = logging.getLogger(__name__)

#: chat.postMessage errors that mean "not in this channel": the note goes to the DM instead.
CHANNEL_REFUSALS = frozenset(
    {
        "not_in_channel",
        "channel_not_found",
        "is_archived",
        "restricted_action",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "restricted_action_non_threadable_channel",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)
FILE_SCOPE = "files:write"


async def handover_command(ctx: CommandContext, command: HandoverCommand) -> None:
    """``/afas handover <org>``: the note in the channel where it was asked."""
    await post_handover(
        ctx.client,
        ctx.deps,
        user=ctx.user,
        language=ctx.language,
        key=command.key,
        channel=ctx.channel,
        respond=ctx.respond,
    )


async def post_handover(
    client: AsyncWebClient,
    deps: SlackDeps,
    *,
    user: str,
    language: str,
    key: str,
    channel: str,
    thread_ts: str | None = None,
    respond: AsyncRespond | None = None,
) -> None:
    """Post the handover note of ``key`` in ``channel`` (a user id: that user's DM with the
    app), in ``thread_ts``'s thread if given, and attach it as a Markdown file.

    Agents only (asked here, so that every surface that calls this is covered). Notices for
    the requester (moved to the DM, file not attached) go through ``respond`` when given,
    else into the note's thread. ``UnknownOrgError`` for an unknown key, before anything is
    posted."""
    await deps.roles.require(user, Role.AGENT, action="action.handover")
    lang = normalise_language(language)
    note = await asyncio.to_thread(load_note, deps.runtime, key, now=datetime.now(UTC))
    blocks, text = handover_blocks(note, language=lang), handover_text(note, language=lang)
    markdown = handover_markdown(note, language=lang)
    posted_in, ts, refused = await _post(client, user, channel, thread_ts, blocks, text)
    if refused is not None:
        thread_ts = None  # the alert's thread is in the channel that refused
    notice = _Notice(client, respond, user, posted_in, thread_ts or ts)
    if refused is not None:
        await notice.say(t("handover.posted_in_dm", lang, reason=refused))
    await _attach(client, note, markdown, lang, posted_in, thread_ts or ts, notice)


async def handover_button(
    ack: AsyncAck,
    body: dict[str, Any],
    action: dict[str, Any],
    respond: AsyncRespond,
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    """The Handover button: under an alert the note goes into the alert's thread; under a
    report (an ephemeral message) into the report's channel; without a channel (the App Home)
    into the presser's DM with the app."""
    await ack()
    user = (body.get("user") or {}).get("id", "")
    language = await deps.languages.of(user)
    parsed = parse_command(f"handover {action.get('value') or ''}")  # a value can be forged
    if not isinstance(parsed, HandoverCommand):
        raise UserError("error.stale_button")
    channel = (body.get("channel") or {}).get("id") or user
    message = body.get("message") or {}
    thread_ts = None
    if message and not (body.get("container") or {}).get("is_ephemeral", False):
        thread_ts = message.get("thread_ts") or message.get("ts")
    await post_handover(
        client,
        deps,
        user=user,
        language=language,
        key=parsed.key,
        channel=channel,
        thread_ts=thread_ts,
        respond=respond if body.get("response_url") else None,
    )


# -- posting ---------------------------------------------------------------------------------


async def _post(
    client: AsyncWebClient,
    user: str,
    channel: str,
    thread_ts: str | None,
    blocks: list[dict],
    text: str,
) -> tuple[str, str, str | None]:
    """Post the message: ``(channel id, ts, why the asked channel refused or None)``. A user
    id as channel posts in that user's DM with the app (chat:write is enough), whose D… id
    comes back in the answer: the file upload needs it."""
    try:
        answer = await client.chat_postMessage(
            channel=channel, thread_ts=thread_ts, blocks=blocks, text=text, unfurl_links=False
        )
        return answer["channel"], answer["ts"], None
    except SlackApiError as exc:
        reason = str(exc.response.get("error") or "")
        if reason not in CHANNEL_REFUSALS or _is_user(channel):
            raise
    log.info("handover note: channel %s refused (%s); posting to user %s", channel, reason, user)
    answer = await client.chat_postMessage(
        channel=user, blocks=blocks, text=text, unfurl_links=False
    )
    return answer["channel"], answer["ts"], reason


def _is_user(channel: str) -> bool:
    return channel[:1] in ("U", "W")


async def _attach(
    client: AsyncWebClient,
    note: HandoverNote,
    markdown: str,
    lang: str,
    channel: str,
    thread_ts: str,
    notice: _Notice,
) -> None:
    """The note as a Markdown file in the message's thread; a failure is told, not raised:
    the message is there already."""
    zone = zone_of(note)
    filename = f"handover-{note.key}-{local_date(note.now, zone)}.md"
    name = f"{note.display_name} ({note.key})" if note.display_name != note.key else note.key
    try:
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            filename=filename,
            content=markdown,
            title=t("handover.file_title", lang, org=name),
        )
        return
    except SlackApiError as exc:
        reason = str(exc.response.get("error") or "unknown_error")
        needed = str(exc.response.get("needed") or FILE_SCOPE)
    except (SlackClientError, aiohttp.ClientError, TimeoutError):
        # the upload of the bytes itself failed (its answer is not repeated: it is Slack's)
        reason, needed = "upload_failed", FILE_SCOPE
    log.warning("handover note of %s: the file could not be attached (%s)", note.key, reason)
    if reason == "missing_scope":
        await notice.say(t("handover.file_failed_scope", lang, reason=reason, scope=needed))
    else:
        await notice.say(t("handover.file_failed", lang, reason=reason))


class _Notice:
    """Tells the requester something about their note: ephemerally through the request's
    response URL if there is one, else in the note's thread (a DM, the App Home's case)."""

    def __init__(
        self,
        client: AsyncWebClient,
        respond: AsyncRespond | None,
        user: str,
        channel: str,
        thread_ts: str,
    ) -> None:
        self.client, self.respond, self.user = client, respond, user
        self.channel, self.thread_ts = channel, thread_ts

    async def say(self, text: str) -> None:
        try:
            if self.respond is not None:
                await self.respond(text=text, response_type="ephemeral", replace_original=False)
                return
            await self.client.chat_postMessage(
                channel=self.channel, thread_ts=self.thread_ts, text=text
            )
        except SlackClientError:
            log.exception("could not tell user %s about their handover note", self.user)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The Handover button (the command comes through ``/afas``: listeners/commands.py)."""

    @app.action(HANDOVER_ACTION)
    async def _handover(
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await answering_errors(
            handover_button(ack, body, action, respond, client, deps),
            deps.languages,
            body,
            ack,
            client,
            respond,
        )
