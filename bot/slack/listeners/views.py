"""The registration form's submission (helpdesk agents only).

Every field is checked first and errors are shown next to the field (``response_action:
errors``, within Slack's 3 seconds). A valid form is acknowledged with a "verifying" view;
then the token is verified live against AFAS (that can take longer) and the view is updated:
done, with what the setup still lacks, or the form again (without the token) saying why AFAS
refused it. Nothing is stored unless AFAS accepts the token.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from afas.report import CheckReport, ItemStatus
from bot.blocks.register import CALLBACK_ID, register_modal, registered_view, verifying_view
from bot.errors import Role, as_bot_error
from bot.i18n import normalise_language, t
from bot.runtime import Runtime
from bot.services.registration import TokenNotVerified, register_org
from bot.slack.errors import answering_errors, message_for
from bot.slack.listeners import SlackDeps
from bot.slack.registration_form import form_values, read_submission
from storage.errors import StorageError
from storage.repository import find_org

log = logging.getLogger(__name__)


async def register_submission(
    ack: AsyncAck,
    body: dict[str, Any],
    view: dict[str, Any],
    client: AsyncWebClient,
    deps: SlackDeps,
) -> None:
    user = (body.get("user") or {}).get("id", "")
    language = _language(view)
    await deps.roles.require(user, Role.AGENT, action="action.register")  # asked again
    state = (view.get("state") or {}).get("values") or {}
    registration, errors = read_submission(state, language=language)
    if registration is not None:
        exists = await asyncio.to_thread(_org_exists, deps.runtime, registration.key)
        if exists and not registration.replace:
            errors["replace"] = t("register.duplicate", language)
        elif registration.replace and not exists:
            errors["replace"] = t("register.unknown_for_replace", language)
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    await ack(response_action="update", view=verifying_view(registration.key, language=language))
    try:
        result = await register_org(
            deps.runtime,
            deps.afas,
            key=registration.key,
            display_name=registration.name,
            environment=registration.environment,
            token=registration.token,
            actor=user,
            alert_channel=registration.channel,
            cs_owner=registration.owner,
            notes=registration.notes,
            replace=registration.replace,
        )
    except TokenNotVerified as refused:
        notice = t("register.refused", language, reason=_refusal(refused.report, language))
        answer = register_modal(language=language, values=form_values(state), notice=notice)
    except StorageError as error:  # a race with another agent, a field storage refused
        notice = t("register.failed", language, reason=message_for(as_bot_error(error), language))
        answer = register_modal(language=language, values=form_values(state), notice=notice)
    else:
        answer = registered_view(
            result.org_key,
            result.report,
            language=language,
            replaced=result.replaced,
            fingerprint=registration.token.fingerprint,
        )
    await client.views_update(view_id=view["id"], view=answer)


def _language(view: dict[str, Any]) -> str:
    try:
        return normalise_language(json.loads(view.get("private_metadata") or "{}")["language"])
    except (ValueError, KeyError, TypeError):
        return "en"


def _org_exists(runtime: Runtime, key: str) -> bool:
    with runtime.session() as session:
        return find_org(session, key) is not None


def _refusal(report: CheckReport, language: str) -> str:
    """Why AFAS did not let us in: the first failing item, else what could not be checked."""
    for status in (ItemStatus.FAILING, ItemStatus.UNKNOWN):
        for item in report.items:
            if item.status is status:
                return item.found.get(language)
    return report.headline.get(language)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    @app.view(CALLBACK_ID)
    async def _submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answering_errors(
            register_submission(ack, body, view, client, deps), deps.languages, body, ack, client
        )
