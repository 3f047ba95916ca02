"""``/afas mute <org> <duration>`` and ``/afas unmute <org>`` (helpdesk agents), and the mute
modal that the App Home's menu opens (1 hour, 4 hours, 1 day, or until a date and time).

A mute silences an org's alerts, not its checks. The answer is ephemeral, in the reader's
language, with the end in the bot's time zone and who muted; when the org has an open
incident whose alert was posted, its thread says so too (in the alert channel's language), so
whoever looks at the alert sees why it stays quiet. An unmute of an org that is not muted
says so and changes nothing. The modal's submission is asked again (role, org, values): a
submission can be forged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DatePickerElement,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextObject,
    RadioButtonsElement,
    SectionBlock,
    TimePickerElement,
)
from slack_sdk.models.views import View
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks import outside_text, plain, truncate
from bot.blocks.status import who_text
from bot.errors import Role, UserError
from bot.i18n import normalise_language, t
from bot.runtime import Runtime
from bot.slack.commands import MuteCommand, UnmuteCommand, parse_command
from bot.slack.durations import DurationError, local_time_text, parse_until
from bot.slack.errors import answering_errors
from bot.slack.listeners.deps import CommandContext, SlackDeps
from storage.models import Incident
from storage.repository import get_org, mute_org, open_incidents

log = logging.getLogger(__name__)

MODAL_CALLBACK = "mute_org"
FOR_BLOCK, DATE_BLOCK, TIME_BLOCK = "mute_for", "mute_date", "mute_time"
ACTION_ID = "value"
UNTIL_CHOICE = "until"
#: The modal's choices: the words typed for each (as ``/afas mute acme 4h``) and its label.
MODAL_CHOICES = {
    "1h": "mute.modal.for_1h",
    "4h": "mute.modal.for_4h",
    "1d": "mute.modal.for_1d",
    UNTIL_CHOICE: "mute.modal.for_until",
}
_FIELD_ERROR_LIMIT = 150
#: A duration's error as a modal field shows it (shorter; nothing typed to correct).
_MODAL_ERRORS = {
    "mute.duration.past": "mute.modal.past",
    "mute.duration.too_long": "mute.modal.too_long",
}

Alert = tuple[str, str]  # (channel, ts) of a posted alert


@dataclass(frozen=True)
class MuteChange:
    """What a mute or an unmute did: ``until`` None is an unmute; ``changed`` False an unmute
    of an org that was not muted (nothing written). ``previous_*``: the mute it replaced or
    ended. ``alerts``: the posted alerts of the org's open incidents."""

    org_key: str
    display_name: str
    until: datetime | None
    previous_until: datetime | None = None
    previous_by: str | None = None
    alerts: tuple[Alert, ...] = ()
    changed: bool = True


def bot_zone(runtime: Runtime) -> ZoneInfo:
    """The bot's time zone (``AFASBOT_TIMEZONE``, validated at start-up)."""
    return ZoneInfo(runtime.settings.timezone)


# -- the commands --------------------------------------------------------------------------------


async def mute_command(ctx: CommandContext, command: MuteCommand) -> None:
    deps = ctx.deps
    await deps.roles.require(ctx.user, Role.AGENT, action="action.mute")
    now, zone = datetime.now(UTC), bot_zone(deps.runtime)
    try:
        until = parse_until(command.words, now=now, zone=zone)
    except DurationError as bad:
        raise UserError(bad.key, **bad.values) from None
    change = await asyncio.to_thread(
        apply_mute, deps.runtime, command.key, until=until, actor=ctx.user, now=now
    )
    await ctx.respond(
        text=muted_text(change, user=ctx.user, language=ctx.language, zone=zone),
        response_type="ephemeral",
    )
    await announce(ctx.client, deps, change, user=ctx.user)


async def unmute_command(ctx: CommandContext, command: UnmuteCommand) -> None:
    deps = ctx.deps
    await deps.roles.require(ctx.user, Role.AGENT, action="action.unmute")
    now, zone = datetime.now(UTC), bot_zone(deps.runtime)
    change = await asyncio.to_thread(
        apply_unmute, deps.runtime, command.key, actor=ctx.user, now=now
    )
    org = _org_label(change)
    if not change.changed:
        text = t("mute.not_muted", ctx.language, org=org)
    else:
        until = local_time_text(change.previous_until, zone) if change.previous_until else "?"
        text = t("mute.unmuted", ctx.language, org=org, user=f"<@{ctx.user}>", until=until)
    await ctx.respond(text=text, response_type="ephemeral")
    if change.changed:
        await announce(ctx.client, deps, change, user=ctx.user)


def muted_text(change: MuteChange, *, user: str, language: str, zone: ZoneInfo) -> str:
    """The answer to the one who muted: until when (in the bot's zone), by whom, and the mute
    it replaced, if any."""
    until = local_time_text(change.until, zone) if change.until is not None else "?"
    text = ":mute: " + t(
        "mute.muted", language, org=_org_label(change), until=until, user=f"<@{user}>"
    )
    if change.previous_until is not None and change.previous_by:
        text += " " + t(
            "mute.muted_before",
            language,
            until=local_time_text(change.previous_until, zone),
            user=who_text(change.previous_by),
        )
    return text


def _org_label(change: MuteChange) -> str:
    name = outside_text(change.display_name, 80)
    return f"*{name}* (`{change.org_key}`)" if name != change.org_key else f"`{change.org_key}`"


# -- the database, in worker threads --------------------------------------------------------------


def apply_mute(
    runtime: Runtime,
    key: str,
    *,
    until: datetime,
    actor: str,
    now: datetime,
    pressed: Alert | None = None,
) -> MuteChange:
    """Mute (audited, with who). ``pressed``: the alert whose button asked; a press on another
    org's alert (a forged value) is refused and changes nothing."""
    with runtime.session() as session:
        org = get_org(session, key)
        open_now = open_incidents(session, org_id=None if pressed else org.id)
        if pressed is not None and any(
            (incident.slack_channel, incident.slack_ts) == pressed and incident.org_id != org.id
            for incident in open_now
        ):
            raise UserError("error.stale_button")
        muted = org.is_muted(now)
        previous_until, previous_by = (org.mute_until, org.muted_by) if muted else (None, None)
        mute_org(session, org.key, until=until, actor=actor, now=now)
        return MuteChange(
            org_key=org.key,
            display_name=org.display_name,
            until=until,
            previous_until=previous_until,
            previous_by=previous_by,
            alerts=_posted(open_now, org.id),
        )


def apply_unmute(runtime: Runtime, key: str, *, actor: str, now: datetime) -> MuteChange:
    """Unmute (audited); an org that is not muted is left as it is, without an audit event."""
    with runtime.session() as session:
        org = get_org(session, key)
        if not org.is_muted(now):
            return MuteChange(org.key, org.display_name, until=None, changed=False)
        previous_until, previous_by = org.mute_until, org.muted_by
        mute_org(session, org.key, until=None, actor=actor, now=now)
        return MuteChange(
            org_key=org.key,
            display_name=org.display_name,
            until=None,
            previous_until=previous_until,
            previous_by=previous_by,
            alerts=_posted(open_incidents(session, org_id=org.id), org.id),
        )


def _posted(incidents: Sequence[Incident], org_id: int | None) -> tuple[Alert, ...]:
    return tuple(
        (incident.slack_channel, incident.slack_ts)
        for incident in incidents
        if incident.org_id == org_id and incident.slack_channel and incident.slack_ts
    )


# -- the alert's thread ---------------------------------------------------------------------------


async def announce(
    client: AsyncWebClient,
    deps: SlackDeps,
    change: MuteChange,
    *,
    user: str,
    also: Alert | None = None,
) -> None:
    """ "@x muted alerts until …" / "@x unmuted the alerts" in the thread of every posted alert
    of the org's open incidents (and of ``also``, the alert pressed), in the channel's
    language. The mute is made already: a thread that cannot be written is logged."""
    language = deps.runtime.settings.alert_language
    if change.until is not None:
        until = local_time_text(change.until, bot_zone(deps.runtime))
        text = t("alert.muted_reply", language, user=f"<@{user}>", until=until)
    else:
        text = t("mute.thread_unmuted", language, user=f"<@{user}>")
    threads = dict.fromkeys((*change.alerts, *((also,) if also else ())))
    for channel, ts in threads:
        try:
            await client.chat_postMessage(channel=channel, thread_ts=ts, text=text)
        except SlackApiError as exc:
            log.warning(
                "could not note the mute of %s in the alert thread %s/%s (%s)",
                change.org_key,
                channel,
                ts,
                exc.response.get("error"),
            )


# -- the modal ------------------------------------------------------------------------------------


async def open_mute_modal(
    client: AsyncWebClient,
    deps: SlackDeps,
    *,
    trigger_id: str,
    user: str,
    language: str,
    key: str,
) -> None:
    """The mute modal for one org (agents; ``UnknownOrgError`` for a key that is not one).
    The trigger id lives 3 seconds: only the role and one lookup come first."""
    await deps.roles.require(user, Role.AGENT, action="action.mute")
    org = await asyncio.to_thread(_org_facts, deps.runtime, key)
    await client.views_open(
        trigger_id=trigger_id,
        view=mute_modal(
            key=org.org_key,
            display_name=org.display_name,
            language=language,
            zone=bot_zone(deps.runtime),
            muted_until=org.previous_until,
            muted_by=org.previous_by,
        ),
    )


def _org_facts(runtime: Runtime, key: str) -> MuteChange:
    """The org's key, name and current mute (as a change that did nothing)."""
    now = datetime.now(UTC)
    with runtime.session() as session:
        org = get_org(session, key)
        muted = org.is_muted(now)
        return MuteChange(
            org.key,
            org.display_name,
            until=None,
            previous_until=org.mute_until if muted else None,
            previous_by=org.muted_by if muted else None,
            changed=False,
        )


def mute_modal(
    *,
    key: str,
    display_name: str,
    language: str,
    zone: ZoneInfo,
    muted_until: datetime | None = None,
    muted_by: str | None = None,
) -> dict:
    """The modal: the org, its current mute, how long (1 h / 4 h / 1 day / until), a date and a
    time in the bot's zone. The org and language go in ``private_metadata`` (read back as
    untrusted input)."""
    lang = normalise_language(language)
    label = _org_label(MuteChange(key, display_name, until=None))
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=":mute: " + t("mute.modal.intro", lang, org=label))
        )
    ]
    if muted_until is not None:
        current = t(
            "mute.modal.current",
            lang,
            until=local_time_text(muted_until, zone),
            user=who_text(muted_by) if muted_by else "?",
        )
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=current)]))
    options = [
        Option(value=choice, label=plain(t(label_key, lang), 75))
        for choice, label_key in MODAL_CHOICES.items()
    ]
    blocks += [
        InputBlock(
            block_id=FOR_BLOCK,
            label=PlainTextObject(text=t("mute.modal.for", lang)),
            element=RadioButtonsElement(
                action_id=ACTION_ID, options=options, initial_option=options[0]
            ),
        ),
        InputBlock(
            block_id=DATE_BLOCK,
            label=PlainTextObject(text=t("mute.modal.date", lang)),
            hint=PlainTextObject(text=t("mute.modal.date_hint", lang)),
            element=DatePickerElement(action_id=ACTION_ID),
            optional=True,
        ),
        InputBlock(
            block_id=TIME_BLOCK,
            label=PlainTextObject(text=t("mute.modal.time", lang, zone=zone.key)),
            element=TimePickerElement(action_id=ACTION_ID, timezone=zone.key),
            optional=True,
        ),
    ]
    return View(
        type="modal",
        callback_id=MODAL_CALLBACK,
        title=PlainTextObject(text=plain(t("mute.modal.title", lang), 24)),
        submit=PlainTextObject(text=plain(t("mute.modal.submit", lang), 24)),
        close=PlainTextObject(text=plain(t("mute.modal.cancel", lang), 24)),
        private_metadata=json.dumps({"org": key, "language": lang}),
        blocks=blocks,
    ).to_dict()


async def mute_submitted(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    """Asked again: who (before anything), which org (from untrusted metadata), the values
    (errors next to the fields, nothing written). Then the mute, exactly as the command's, and
    the modal closes."""
    user = (body.get("user") or {}).get("id", "")
    key, language = read_metadata(view.get("private_metadata"))
    await deps.roles.require(user, Role.AGENT, action="action.mute")
    if key is None:
        raise UserError("mute.modal.stale")
    state = (view.get("state") or {}).get("values") or {}
    choice = _picked(state, FOR_BLOCK, "selected_option")
    day = _picked(state, DATE_BLOCK, "selected_date")
    clock = _picked(state, TIME_BLOCK, "selected_time")
    if choice not in MODAL_CHOICES:
        await ack(response_action="errors", errors={FOR_BLOCK: t("mute.modal.choose", language)})
        return
    if choice == UNTIL_CHOICE and not day:
        await ack(
            response_action="errors", errors={DATE_BLOCK: t("mute.modal.date_needed", language)}
        )
        return
    words = (choice,) if choice != UNTIL_CHOICE else (choice, day or "", clock or "")
    now, zone = datetime.now(UTC), bot_zone(deps.runtime)
    try:
        until = parse_until(words, now=now, zone=zone)
    except DurationError as bad:
        field = DATE_BLOCK if choice == UNTIL_CHOICE else FOR_BLOCK
        text = t(_MODAL_ERRORS.get(bad.key, "mute.modal.bad_date"), language, **bad.values)
        await ack(response_action="errors", errors={field: truncate(text, _FIELD_ERROR_LIMIT)})
        return
    change = await asyncio.to_thread(
        apply_mute, deps.runtime, key, until=until, actor=user, now=now
    )
    await ack()  # closes the modal
    await announce(client, deps, change, user=user)


def read_metadata(text: object) -> tuple[str | None, str]:
    """The org key (None unless it parses as one) and the language from ``private_metadata``."""
    try:
        data = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    language = data.get("language")
    language = normalise_language(language if isinstance(language, str) else None)
    org = data.get("org")
    parsed = parse_command(f"unmute {org}") if isinstance(org, str) else None
    return (parsed.key if isinstance(parsed, UnmuteCommand) else None), language


def _picked(state: dict[str, Any], block: str, field: str) -> str | None:
    """A picker's value as a string (an option's value for radio buttons), None if absent."""
    entry = (state.get(block) or {}).get(ACTION_ID)
    value = entry.get(field) if isinstance(entry, dict) else None
    if isinstance(value, dict):
        value = value.get("value")
    return value if isinstance(value, str) and value else None


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The mute modal's submission (the commands come through ``/afas``)."""

    @app.view(MODAL_CALLBACK)
    async def _submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answering_errors(
            mute_submitted(ack, body, view, client, deps), deps.languages, body, ack, client
        )
