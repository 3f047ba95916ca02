"""One Bolt error handler: every exception a listener raises becomes one friendly message, in
the reader's language, on the surface the person is looking at (Netflix Dispatch's
``dispatch_slack/bolt.py`` does the same).

- a slash command or a button: an ephemeral message through the response URL (replacing the
  "checking…" notice under a command or an ephemeral report, never an alert in a channel);
- a modal submission not yet acknowledged: the errors next to the fields; one already
  acknowledged (the "verifying…" view is showing): the modal updated with the message;
- the App Home: the home tab shows the message.

User errors say what to do; permission errors say who may do it; an unknown org names the
nearest keys; configuration problems say an admin must act; anything else is an internal
error, logged with a reference that the message repeats. No message carries a token or an
exception's text.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.blocks.messages import error_blocks, modal_notice_view, unknown_org_blocks
from bot.errors import (
    BotError,
    InternalError,
    PermissionRefused,
    Role,
    UnknownOrg,
    UserError,
    as_bot_error,
)
from bot.i18n import t
from bot.logging_setup import request_id
from bot.slack.locale import ReaderLanguages

log = logging.getLogger(__name__)
_PLAIN_WORD = re.compile(r"[A-Za-z]{1,20}")


def message_for(problem: BotError, language: str, *, mentions: bool = False) -> str:
    """The text a person reads for ``problem`` (already in ``language``). ``mentions``: a
    refusal names the admins configured by id as Slack mentions (in messages; modals and the
    Home tab would show them as raw text)."""
    if isinstance(problem, PermissionRefused):
        action = t(problem.action, language)
        admins = problem.values.get("admins") if mentions else None
        if admins:
            who = "permissions.needs_admin_named"
            if problem.needed < Role.ADMIN:
                who = "permissions.needs_agent_named"
            return t(who, language, action=action, admins=admins)
        who = "error.needs_admin" if problem.needed >= Role.ADMIN else "error.needs_agent"
        return t(who, language, action=action)
    return t(problem.key, language, **problem.values)


def friendly_blocks(error: BaseException, *, language: str) -> list[dict]:
    """Blocks for any exception (through the taxonomy)."""
    problem = as_bot_error(error)
    if isinstance(problem, UnknownOrg):
        return unknown_org_blocks(
            problem.key_given or "?", list(problem.suggestions), language=language
        )
    if isinstance(problem, PermissionRefused) and problem.values.get("admins"):
        # Catalogue text and configured user ids only: the mentions must stay mentions.
        text = ":warning: " + message_for(problem, language, mentions=True)
        return [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return error_blocks(message_for(problem, language), language=language)


def user_of(body: dict[str, Any]) -> str:
    return body.get("user_id") or (body.get("user") or {}).get("id") or ""


def register_error_handler(app: AsyncApp, languages: ReaderLanguages) -> None:
    """The app's one error handler (Bolt passes its arguments by name)."""
    handler = SlackErrorHandler(languages)

    @app.error
    async def _on_error(
        error: Exception,
        body: dict[str, Any],
        ack: AsyncAck,
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> BoltResponse | None:
        return await handler.handle(error, body, ack, respond, client)


async def answering_errors(
    work: Awaitable[None],
    languages: ReaderLanguages,
    body: dict[str, Any],
    ack: AsyncAck,
    client: AsyncWebClient,
    respond: AsyncRespond | None = None,
) -> None:
    """Run a listener's work and answer what it raises after its acknowledgement here.

    Bolt's own error path cannot be used for that: once the listener has acknowledged, Bolt
    hands the error handler no response and then clears the acknowledgement, so a listener that
    fails within its first few milliseconds makes Bolt wait 3 seconds and answer Slack with an
    error (bolt-python ``asyncio_runner.py``). An error before the acknowledgement (a modal's
    field check) still goes to Bolt's path, whose answer is the acknowledgement itself.
    """
    request_id.set(uuid.uuid4().hex[:12])  # follows this request into its check's log line
    started = time.monotonic()
    outcome = "ok"
    try:
        await work
    except Exception as error:
        outcome = type(error).__name__
        if ack.response is None:
            raise
        await SlackErrorHandler(languages).handle(error, body, ack, respond, client)
    finally:
        what = request_kind(body)
        log.info(
            "slack %s by %s: %s in %.0f ms",
            what,
            user_of(body) or "?",
            outcome,
            (time.monotonic() - started) * 1000,
            extra={"slack_request": what, "outcome": outcome},
        )


def request_kind(body: dict[str, Any]) -> str:
    """What a Slack request was, safe to log: the command and its first word when that is a
    plain word (never the rest of the text: a token may be pasted there), the action id, the
    view's callback id or the event type."""
    if body.get("command"):
        words = str(body.get("text") or "").split()
        verb = words[0] if words and _PLAIN_WORD.fullmatch(words[0]) else ""
        return f"{body['command']} {verb}".strip()
    actions = body.get("actions") or []
    if actions and isinstance(actions[0], dict):
        return f"action {str(actions[0].get('action_id', '?'))[:60]}"
    view = body.get("view")
    if body.get("type") == "view_submission" and isinstance(view, dict):
        return f"submission {str(view.get('callback_id', '?'))[:60]}"
    event = body.get("event")
    if isinstance(event, dict):
        return f"event {str(event.get('type', '?'))[:40]}"
    return str(body.get("type", "request"))[:40]


class SlackErrorHandler:
    def __init__(self, languages: ReaderLanguages) -> None:
        self._languages = languages

    async def handle(
        self,
        error: Exception,
        body: dict[str, Any],
        ack: AsyncAck,
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> BoltResponse | None:
        problem = as_bot_error(error)
        user = user_of(body)
        if isinstance(problem, InternalError):
            log.error(
                "request from user %s failed (reference %s)",
                user,
                problem.reference,
                exc_info=(type(error), error, error.__traceback__),
            )
        language = await self._languages.of(user) if user else "en"
        acknowledged = ack.response is not None
        try:
            return await self._answer(problem, body, language, acknowledged, respond, client)
        except Exception:  # the answer itself failed (Slack down): the log has it
            log.exception("could not tell user %s about an error", user)
            return None if acknowledged else BoltResponse(status=200, body="")

    async def _answer(
        self,
        problem: BotError,
        body: dict[str, Any],
        language: str,
        acknowledged: bool,
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> BoltResponse | None:
        text = message_for(problem, language)
        if body.get("type") == "view_submission":
            view = body.get("view") or {}
            if not acknowledged:
                return _field_errors(problem, view, text, language)
            await client.views_update(
                view_id=view.get("id", ""), view=modal_notice_view(text, language=language)
            )
            return None
        if (body.get("event") or {}).get("type") == "app_home_opened":
            await client.views_publish(
                user_id=user_of(body["event"]) or user_of(body),
                view={"type": "home", "blocks": error_blocks(text, language=language)},
            )
            return None if acknowledged else BoltResponse(status=200, body="")
        if body.get("response_url"):
            await respond(
                blocks=friendly_blocks(problem, language=language),
                text=t("error.title", language),
                response_type="ephemeral",
                replace_original=_replaces(body),
            )
        return None if acknowledged else BoltResponse(status=200, body="")


def _replaces(body: dict[str, Any]) -> bool:
    """Replace the message the person acted on only when it is their own ephemeral one (the
    "checking…" notice, a report): never an alert in a channel."""
    if body.get("command"):
        return True
    return bool((body.get("container") or {}).get("is_ephemeral"))


def _field_errors(
    problem: BotError, view: dict[str, Any], text: str, language: str
) -> BoltResponse:
    """``response_action: errors`` next to the fields; the message goes on the first input
    when the error names no field."""
    errors: dict[str, str] = {}
    if isinstance(problem, UserError) and problem.fields:
        errors = {block: t(key, language) for block, key in problem.fields.items()}
    else:
        inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
        inputs += list(((view.get("state") or {}).get("values") or {}).keys())
        first = next((block for block in inputs if block), None)
        if first:
            errors = {first: text[:150]}
    body: dict[str, Any] = (
        {"response_action": "errors", "errors": errors}
        if errors
        else {"response_action": "update", "view": modal_notice_view(text, language=language)}
    )
    return BoltResponse(
        status=200, body=json.dumps(body), headers={"content-type": "application/json"}
    )
