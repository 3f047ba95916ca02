"""``/afas rotate <org>`` and ``/afas edit <org>`` (helpdesk agents), ``/afas remove <org>``
(admins): each opens a modal about one org; its submission does the work.

Everything a submission says is untrusted (a client can forge one): the role is asked again,
and the org comes from the modal's ``private_metadata``, parsed and looked up again; the org
named there is the one changed, under the same role check, and an org that no longer exists
gets a clear answer. Errors are shown next to the fields (``response_action: errors``, within
Slack's 3 seconds); a token is never echoed, logged or put in a view.

- rotate: the token is parsed like the registration form's, the modal turns into "verifying",
  the token is tried live on the org's own environment, and only then replaces the stored one
  (whose ciphertext is destroyed); a refusal shows the form again, saying why.
- edit: only what changed is written, audited field by field; the modal closes and the user
  gets a confirmation listing the changes: ephemeral in the channel the command came from, or
  (from the App Home, or where the bot cannot post) as a direct message.
- remove: a confirmation naming the org and its environment; on submit the org, its history
  and its token are gone, its open alerts say who removed it, and the audit log stays.

``open_rotate_modal`` and ``open_edit_modal`` are also what the App Home's menu calls.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from afas.tokens import AfasToken, TokenFormatError
from bot.blocks.org_admin import (
    ACTION_ID,
    DEFAULT_INTERVAL,
    EDIT_BLOCKS,
    EDIT_CALLBACK,
    REMOVE_CALLBACK,
    ROTATE_CALLBACK,
    ChangeLine,
    OrgFacts,
    edit_field_error,
    edit_modal,
    edited_blocks,
    edited_text,
    interval_choices,
    is_user_id,
    refusal_reason,
    remove_modal,
    removed_view,
    removing_view,
    rotate_modal,
    rotated_view,
    rotating_view,
)
from bot.errors import Role, UserError, as_bot_error
from bot.i18n import normalise_language, t
from bot.services.org_admin import edit_settings, load_org, remove
from bot.services.registration import TokenNotVerified, rotate_token
from bot.slack.commands import EditCommand, RemoveCommand, RotateCommand
from bot.slack.errors import answering_errors, message_for
from bot.slack.listeners.deps import CommandContext, SlackDeps
from storage.errors import InvalidOrgError, StorageError, UnknownOrgError
from storage.models import Org
from storage.orgs import DEFAULT_CHECK_INTERVAL_SECONDS, normalize_org_key, validate_settings

log = logging.getLogger(__name__)
_CHANNEL_ID = re.compile(r"[CDG][A-Z0-9]{2,63}")


# -- the commands (and the App Home's menu) ------------------------------------------------------


async def rotate_command(ctx: CommandContext, command: RotateCommand) -> None:
    await open_rotate_modal(
        ctx.client,
        ctx.deps,
        trigger_id=ctx.trigger_id,
        user=ctx.user,
        language=ctx.language,
        key=command.key,
        channel=ctx.channel,
    )


async def edit_command(ctx: CommandContext, command: EditCommand) -> None:
    await open_edit_modal(
        ctx.client,
        ctx.deps,
        trigger_id=ctx.trigger_id,
        user=ctx.user,
        language=ctx.language,
        key=command.key,
        channel=ctx.channel,
    )


async def remove_command(ctx: CommandContext, command: RemoveCommand) -> None:
    await open_remove_modal(
        ctx.client,
        ctx.deps,
        trigger_id=ctx.trigger_id,
        user=ctx.user,
        language=ctx.language,
        key=command.key,
        channel=ctx.channel,
    )


async def open_rotate_modal(
    client: AsyncWebClient,
    deps: SlackDeps,
    *,
    trigger_id: str,
    user: str,
    language: str,
    key: str,
    channel: str | None = None,
) -> None:
    """The token form of one org (agents). ``UnknownOrgError`` for an unknown key. The
    trigger id lives 3 seconds: only the role and one lookup come before the modal."""
    await deps.roles.require(user, Role.AGENT, action="action.rotate")
    org = await asyncio.to_thread(load_org, deps.runtime, key)
    await client.views_open(
        trigger_id=trigger_id, view=rotate_modal(facts_of(org), language=language, channel=channel)
    )


async def open_edit_modal(
    client: AsyncWebClient,
    deps: SlackDeps,
    *,
    trigger_id: str,
    user: str,
    language: str,
    key: str,
    channel: str | None = None,
) -> None:
    """The settings form of one org, prefilled (agents). Without ``channel`` (the App Home)
    the confirmation comes as a direct message."""
    await deps.roles.require(user, Role.AGENT, action="action.edit")
    org = await asyncio.to_thread(load_org, deps.runtime, key)
    await client.views_open(
        trigger_id=trigger_id,
        view=edit_modal(
            facts_of(org, default_interval_seconds=deps.runtime.settings.check_interval_seconds),
            language=language,
            channel=channel,
        ),
    )


async def open_remove_modal(
    client: AsyncWebClient,
    deps: SlackDeps,
    *,
    trigger_id: str,
    user: str,
    language: str,
    key: str,
    channel: str | None = None,
) -> None:
    """The removal's confirmation (admins only)."""
    await deps.roles.require(user, Role.ADMIN, action="action.remove")
    org = await asyncio.to_thread(load_org, deps.runtime, key)
    await client.views_open(
        trigger_id=trigger_id,
        view=remove_modal(facts_of(org), language=language, channel=channel),
    )


# -- the submissions -----------------------------------------------------------------------------


async def rotate_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    user = _user(body)
    await deps.roles.require(user, Role.AGENT, action="action.rotate")  # asked again
    form = read_metadata(view.get("private_metadata"))
    raw = _input(view, "token").get("value")
    try:
        token = AfasToken.parse(raw if isinstance(raw, str) else "")
    except TokenFormatError:
        await ack(
            response_action="errors",
            errors={"token": edit_field_error("register.bad_token", form.language)},
        )
        return
    org = facts_of(await _still_there(deps, form.key))
    await ack(response_action="update", view=rotating_view(org, language=form.language))
    language = form.language
    try:
        rotation = await rotate_token(deps.runtime, deps.afas, key=org.key, token=token, actor=user)
    except TokenNotVerified as refused:
        notice = t(
            "org_admin.rotate.refused", language, reason=refusal_reason(refused.report, language)
        )
        answer = rotate_modal(org, language=language, channel=form.channel, notice=notice)
    except UnknownOrgError:
        raise UserError("org_admin.gone", org=org.key) from None
    except StorageError as error:
        notice = t(
            "org_admin.rotate.failed", language, reason=message_for(as_bot_error(error), language)
        )
        answer = rotate_modal(org, language=language, channel=form.channel, notice=notice)
    else:
        log.info(
            "org %s: token replaced by %s (%s -> %s)",
            rotation.org_key,
            user,
            rotation.previous_fingerprint,
            rotation.fingerprint,
        )
        answer = rotated_view(
            org,
            rotation.report,
            language=language,
            fingerprint=rotation.fingerprint,
            previous=rotation.previous_fingerprint,
        )
    await client.views_update(view_id=view.get("id", ""), view=answer)


async def edit_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    user = _user(body)
    await deps.roles.require(user, Role.AGENT, action="action.edit")  # asked again
    form = read_metadata(view.get("private_metadata"))
    org = await _still_there(deps, form.key)
    wanted, errors = read_edit_form(view, org, language=form.language)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    try:
        edited = await asyncio.to_thread(edit_settings, deps.runtime, org.key, wanted, actor=user)
    except UnknownOrgError:
        raise UserError("org_admin.gone", org=org.key) from None
    except InvalidOrgError as error:  # storage's last word (the form's check came first)
        await ack(
            response_action="errors", errors=_field_errors({error.field: error}, form.language)
        )
        return
    await ack()  # the modal closes
    changes = [ChangeLine(c.field, c.old, c.new) for c in edited.changes]
    await _tell(
        client,
        user,
        form.channel,
        blocks=edited_blocks(
            edited.key,
            changes,
            language=form.language,
            next_check_in=edited.next_check_in,
            default_interval_seconds=deps.runtime.settings.check_interval_seconds,
        ),
        text=edited_text(edited.key, changes, language=form.language),
    )


async def remove_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    user = _user(body)
    await deps.roles.require(user, Role.ADMIN, action="action.remove")  # asked again
    form = read_metadata(view.get("private_metadata"))
    org = await _still_there(deps, form.key)
    await ack(response_action="update", view=removing_view(org.key, language=form.language))
    try:
        removed = await asyncio.to_thread(remove, deps.runtime, org.key, actor=user)
    except UnknownOrgError:  # removed by someone else in between
        raise UserError("org_admin.gone", org=org.key) from None
    log.info("org %s removed by %s (token %s destroyed)", removed.key, user, removed.fingerprint)
    await client.views_update(
        view_id=view.get("id", ""),
        view=removed_view(
            removed.key,
            language=form.language,
            fingerprint=removed.fingerprint,
            checks=removed.checks_deleted,
            incidents=removed.incidents_deleted,
            alerts=removed.alerts_updated,
        ),
    )


# -- reading what Slack sends --------------------------------------------------------------------


@dataclass(frozen=True)
class FormContext:
    """What a modal's ``private_metadata`` says, checked: the org key, the language, and the
    channel the command came from (None: answer in a direct message)."""

    key: str
    language: str
    channel: str | None


def read_metadata(text: object) -> FormContext:
    """``UserError("org_admin.bad_form")`` unless it is our JSON with a valid org key."""
    try:
        data = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("org"), str):
        raise UserError("org_admin.bad_form")
    try:
        key = normalize_org_key(data["org"])
    except InvalidOrgError:
        raise UserError("org_admin.bad_form") from None
    language = data.get("language")
    channel = data.get("channel")
    return FormContext(
        key=key,
        language=normalise_language(language if isinstance(language, str) else None),
        channel=channel if isinstance(channel, str) and _CHANNEL_ID.fullmatch(channel) else None,
    )


def read_edit_form(
    view: dict[str, Any], org: Org, *, language: str
) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings that differ from the stored ones (storage field name -> value), or the
    errors by block id. A stored owner that is not a Slack user (free text from the CLI) is
    kept when the owner field is left empty: the form cannot show it."""
    name = _input(view, "name").get("value")
    notes = _input(view, "notes").get("value")
    owner = _input(view, "owner").get("selected_user")
    channel = _input(view, "channel").get("selected_conversation")
    given: dict[str, Any] = {
        "display_name": name if isinstance(name, str) else "",
        "alert_channel": channel if isinstance(channel, str) and channel else None,
        "notes": (notes if isinstance(notes, str) else "").strip(),
    }
    if isinstance(owner, str) and owner:
        given["cs_owner"] = owner
    elif is_user_id(org.cs_owner) or not org.cs_owner:
        given["cs_owner"] = None
    errors: dict[str, str] = {}
    chosen = (_input(view, "interval").get("selected_option") or {}).get("value")
    if chosen == DEFAULT_INTERVAL:  # no interval of its own: the default applies
        given["check_interval_seconds"] = None
    else:
        try:
            interval = int(chosen)
        except (TypeError, ValueError):
            interval = None
        if interval is None or interval not in interval_choices(org.check_interval_seconds):
            errors["interval"] = edit_field_error("org_admin.edit.bad_interval", language)
        else:
            given["check_interval_seconds"] = interval
    wanted = {field: value for field, value in given.items() if value != getattr(org, field)}
    errors.update(_field_errors(validate_settings(**wanted), language))
    return wanted, errors


def _field_errors(errors: dict[str, InvalidOrgError], language: str) -> dict[str, str]:
    """Storage's refusals as texts next to the form's fields (a token in the notes is named
    as such, never repeated)."""
    return {
        EDIT_BLOCKS.get(field, "name"): edit_field_error(as_bot_error(error).key, language)
        for field, error in errors.items()
    }


def _input(view: dict[str, Any], block: str) -> dict[str, Any]:
    values = ((view.get("state") or {}).get("values") or {}).get(block) or {}
    entry = values.get(ACTION_ID) if isinstance(values, dict) else None
    return entry if isinstance(entry, dict) else {}


def _user(body: dict[str, Any]) -> str:
    return (body.get("user") or {}).get("id", "")


def facts_of(
    org: Org, *, default_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS
) -> OrgFacts:
    """What the modals show of ``org``; ``default_interval_seconds`` is the setting, for an
    org without an interval of its own."""
    return OrgFacts(
        key=org.key,
        display_name=org.display_name,
        environment=org.environment,
        fingerprint=org.token_fingerprint,
        alert_channel=org.alert_channel,
        cs_owner=org.cs_owner,
        notes=org.notes,
        check_interval_seconds=org.check_interval_seconds,
        default_interval_seconds=default_interval_seconds,
    )


async def _still_there(deps: SlackDeps, key: str) -> Org:
    """The org the form is about, looked up again: it may have been removed meanwhile (or
    the metadata forged to name one that never existed)."""
    try:
        return await asyncio.to_thread(load_org, deps.runtime, key)
    except UnknownOrgError:
        raise UserError("org_admin.gone", org=key) from None


async def _tell(
    client: AsyncWebClient, user: str, channel: str | None, *, blocks: list[dict], text: str
) -> None:
    """Ephemeral in the channel the command came from; else, or where the bot may not post
    (a DM with someone else, a channel it is not in), a direct message from the app."""
    if channel:
        try:
            await client.chat_postEphemeral(channel=channel, user=user, blocks=blocks, text=text)
            return
        except SlackApiError as exc:
            log.info(
                "cannot answer %s in %s (%s): direct message instead",
                user,
                channel,
                exc.response.get("error"),
            )
    await client.chat_postMessage(channel=user, blocks=blocks, text=text)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """The three modals' submissions (the commands come through ``/afas``)."""
    submissions = {
        ROTATE_CALLBACK: rotate_submission,
        EDIT_CALLBACK: edit_submission,
        REMOVE_CALLBACK: remove_submission,
    }
    for callback_id, submission in submissions.items():
        _register_view(app, deps, callback_id, submission)


def _register_view(app: AsyncApp, deps: SlackDeps, callback_id: str, submission: Any) -> None:
    @app.view(callback_id)
    async def _submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answering_errors(
            submission(ack, body, view, client, deps), deps.languages, body, ack, client
        )
