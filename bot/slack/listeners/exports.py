"""Test exports from Slack: ``/afas export <org>`` (a dry run), ``/afas export <org> live``
(a confirmation modal, then the live export), ``/afas export <org> cleanup``, and the buttons
"Test export" (under a check report), "Live test export" and "Clean up" (under an export's
report).

Who may do what is the service's rule (``export_permission``, product.md): agents run dry runs
anywhere and live exports on test and acceptance environments; production needs an admin, for
its clean-up too. It is asked again on every press and on the modal's submission (anyone can
forge one). Listeners acknowledge first and raise; the app's one error handler answers
(bot/slack/errors.py). The modal's ``private_metadata`` is read as untrusted input: the org
key is parsed again and looked up, the language normalised.

The ``/afas export`` texts reach this module through a matcher on the ``/afas`` command,
registered before the general ``/afas`` listener (bot/slack/listeners/commands.py).
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from afas.exports.templates import ExportTemplates, load_templates
from afas.exports.values import GivenValueError, GivenValues
from afas.tokens import contains_token
from bot.blocks import truncate
from bot.blocks.export import (
    ACTION_ID,
    CLEANUP_ACTION,
    CONFIRM_CALLBACK,
    EXPORT_ACTION,
    EXPORT_LIVE_ACTION,
    FIELDS,
    ExportFormValues,
    busy_blocks,
    busy_text,
    confirm_modal,
    export_blocks,
    export_text,
    exporting_blocks,
    exporting_text,
    result_view,
    running_view,
)
from bot.errors import PermissionRefused, Role, UserError
from bot.i18n import normalise_language, t
from bot.runtime import Runtime
from bot.services.exports import (
    ExportOutcome,
    ValuesNotDetermined,
    cleanup_export,
    export_permission,
    run_export,
)
from bot.slack.commands import ExportCleanupCommand, ExportCommand, parse_command
from bot.slack.errors import answering_errors
from bot.slack.listeners import SlackDeps
from storage.errors import ExportBusyError
from storage.models import Org
from storage.repository import get_org, unfinished_live_run

#: The ``GivenValues.parse`` argument each field of the confirmation fills.
_PARSE_ARGUMENT = {
    "administration": "administration",
    "journal": "journal",
    "cost_account": "accounts",
    "vat_code": "vat_code",
    "period": "period",
}
_FIELD_ERROR_LIMIT = 150
_CLEANUP_ACTION_KEY = {
    Role.AGENT: "action.export_cleanup",
    Role.ADMIN: "action.export_cleanup_production",
}


@dataclass(frozen=True)
class ExportListeners:
    """The export's listeners with what they share: ``owner`` holds live runs' leases (one
    per app, so a crashed process's runs are taken over by the next one's clean-up)."""

    deps: SlackDeps
    owner: str

    @property
    def runtime(self) -> Runtime:
        return self.deps.runtime

    # -- the command -------------------------------------------------------------------------

    async def command(
        self, ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        user = command.get("user_id", "")
        language = await self.deps.languages.of(user)
        parsed = parse_command(command.get("text"))
        if isinstance(parsed, ExportCleanupCommand):
            await self.clean_up(respond, user, parsed.key, language, replace=True)
        elif isinstance(parsed, ExportCommand) and parsed.live:
            await self.open_confirmation(
                respond, client, user, parsed.key, language, command.get("trigger_id", "")
            )
        elif isinstance(parsed, ExportCommand):
            await self.dry_run(respond, user, parsed.key, language, replace=True)

    # -- the buttons -------------------------------------------------------------------------

    async def button(
        self,
        ack: AsyncAck,
        body: dict[str, Any],
        action: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await ack()
        user = (body.get("user") or {}).get("id", "")
        language = await self.deps.languages.of(user)
        # The value is an org key we put there; parse it like typed input all the same.
        parsed = parse_command(f"export {action.get('value') or ''}")
        if not isinstance(parsed, ExportCommand) or parsed.live:
            raise UserError("error.stale_button")
        own_report = bool((body.get("container") or {}).get("is_ephemeral"))
        action_id = action.get("action_id")
        if action_id == EXPORT_LIVE_ACTION:
            await self.open_confirmation(
                respond, client, user, parsed.key, language, body.get("trigger_id", "")
            )
        elif action_id == CLEANUP_ACTION:
            await self.clean_up(respond, user, parsed.key, language, replace=own_report)
        else:  # "Test export" under a check report: the report stays, the export comes below
            await self.dry_run(respond, user, parsed.key, language, replace=False)

    # -- dry run -----------------------------------------------------------------------------

    async def dry_run(
        self, respond: AsyncRespond, user: str, key: str, language: str, *, replace: bool
    ) -> None:
        """ "Running a test export…", then the report in its place."""
        await self.deps.roles.require(user, Role.AGENT, action="action.export")
        await respond(
            blocks=exporting_blocks(key, language=language),
            text=exporting_text(key, language=language),
            response_type="ephemeral",
            replace_original=replace,
        )
        outcome = await run_export(
            self.runtime, self.deps.afas, key, live=False, actor=user, owner=self.owner
        )
        await self._answer(respond, outcome, language, replace=replace)

    # -- live --------------------------------------------------------------------------------

    async def open_confirmation(
        self,
        respond: AsyncRespond,
        client: AsyncWebClient,
        user: str,
        key: str,
        language: str,
        trigger_id: str,
    ) -> None:
        """The confirmation modal (the trigger id lives 3 seconds: nothing slow before it).
        A guest is refused before the org is even looked up; an agent on production too."""
        role = await self.deps.roles.require(user, Role.AGENT, action="action.export")
        org, templates, busy_run = await asyncio.to_thread(_confirmation_facts, self.runtime, key)
        export_permission(role, live=True, kind=org.environment.kind)
        if busy_run is not None:
            await respond(
                blocks=busy_blocks(org.key, busy_run, language=language),
                text=busy_text(org.key, busy_run, language=language),
                response_type="ephemeral",
                replace_original=False,
            )
            return
        await client.views_open(
            trigger_id=trigger_id,
            view=confirm_modal(
                org_key=org.key,
                display_name=org.display_name,
                environment=org.environment,
                templates=templates,
                language=language,
            ),
        )

    async def confirmation_submitted(
        self, ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        """Asked again: who (a forged submission is refused), which org (from untrusted
        metadata), the values given (errors next to the fields, nothing run). Then the
        "running" view, the export, and the report in the modal."""
        user = (body.get("user") or {}).get("id", "")
        key, language = read_metadata(view.get("private_metadata"))
        role = await self.deps.roles.require(user, Role.AGENT, action="action.export")
        if key is None:
            raise UserError("export.stale_form")
        org, templates, _busy = await asyncio.to_thread(_confirmation_facts, self.runtime, key)
        export_permission(role, live=True, kind=org.environment.kind)
        form = form_values((view.get("state") or {}).get("values") or {})
        given, errors = given_values(form, language)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack(response_action="update", view=running_view(org.key, language=language))
        try:
            outcome = await run_export(
                self.runtime,
                self.deps.afas,
                org.key,
                live=True,
                actor=user,
                owner=self.owner,
                given=given,
            )
        except ValuesNotDetermined as missing:  # nothing written: the form again, saying why
            answer = confirm_modal(
                org_key=org.key,
                display_name=org.display_name,
                environment=org.environment,
                templates=templates,
                language=language,
                values=form,
                notice=[refusal.message.get(language) for refusal in missing.result.refusals],
            )
        except ExportBusyError as busy:
            raise UserError("export.busy", org=busy.org_key, run=busy.run_id) from None
        else:
            owed = await asyncio.to_thread(_cleanup_owed, self.runtime, outcome.org_key)
            answer = result_view(
                outcome.report,
                language=language,
                org_key=outcome.org_key,
                display_name=outcome.display_name,
                run_id=outcome.run_id,
                values=outcome.values,
                cleanup_owed=owed,
            )
        await client.views_update(view_id=view.get("id", ""), view=answer)

    # -- clean-up ----------------------------------------------------------------------------

    async def clean_up(
        self, respond: AsyncRespond, user: str, key: str, language: str, *, replace: bool
    ) -> None:
        """Finish an interrupted live run: agents; on production, admins (like the run)."""
        role = await self.deps.roles.require(user, Role.AGENT, action="action.export_cleanup")
        org = await asyncio.to_thread(_load_org, self.runtime, key)
        try:
            export_permission(role, live=True, kind=org.environment.kind)
        except PermissionRefused as refused:
            action = _CLEANUP_ACTION_KEY.get(refused.needed, "action.export_cleanup")
            raise PermissionRefused(refused.needed, action=action) from None
        await respond(
            blocks=exporting_blocks(org.key, language=language, cleanup=True),
            text=exporting_text(org.key, language=language, cleanup=True),
            response_type="ephemeral",
            replace_original=replace,
        )
        outcome = await cleanup_export(
            self.runtime, self.deps.afas, org.key, actor=user, owner=self.owner
        )
        await self._answer(respond, outcome, language, replace=replace)

    async def _answer(
        self, respond: AsyncRespond, outcome: ExportOutcome, language: str, *, replace: bool
    ) -> None:
        owed = await asyncio.to_thread(_cleanup_owed, self.runtime, outcome.org_key)
        await respond(
            blocks=export_blocks(
                outcome.report,
                language=language,
                org_key=outcome.org_key,
                display_name=outcome.display_name,
                run_id=outcome.run_id,
                values=outcome.values,
                cleanup_owed=owed,
            ),
            text=export_text(outcome.report, language=language, org_key=outcome.org_key),
            response_type="ephemeral",
            replace_original=replace,
        )


# -- reading what Slack sends ------------------------------------------------------------------


def read_metadata(text: object) -> tuple[str | None, str]:
    """The org key (None unless it parses as one) and the reader's language from a modal's
    ``private_metadata``: untrusted, since a submission can be forged."""
    try:
        data = json.loads(text) if isinstance(text, str) else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    language = data.get("language")
    language = normalise_language(language if isinstance(language, str) else None)
    org = data.get("org")
    parsed = parse_command(f"export {org}") if isinstance(org, str) else None
    if isinstance(parsed, ExportCommand) and not parsed.live:
        return parsed.key, language
    return None, language


def form_values(state: dict[str, Any]) -> ExportFormValues:
    """The confirmation's inputs as typed (empty when absent or not text)."""
    values: dict[str, str] = {}
    for field in FIELDS:
        entry = (state.get(field) or {}).get(ACTION_ID) or {}
        value = entry.get("value") if isinstance(entry, dict) else None
        values[field] = value.strip() if isinstance(value, str) else ""
    return ExportFormValues(**values)


def given_values(
    form: ExportFormValues, language: str
) -> tuple[GivenValues | None, dict[str, str]]:
    """The values the agent gave, or the errors per field (block id -> text in the reader's
    language). A pasted token is refused without repeating any of it."""
    errors: dict[str, str] = {}
    for field in FIELDS:
        text = form.get(field)
        if not text:
            continue
        if contains_token(text):
            errors[field] = truncate(t("usage.token_pasted", language), _FIELD_ERROR_LIMIT)
            continue
        try:
            GivenValues.parse(**{_PARSE_ARGUMENT[field]: text})
        except GivenValueError as bad:
            errors[field] = truncate(bad.text.get(language), _FIELD_ERROR_LIMIT)
    if errors:
        return None, errors
    if not any(form.get(field) for field in FIELDS):
        return None, {}
    given = GivenValues.parse(
        **{_PARSE_ARGUMENT[field]: form.get(field) or None for field in FIELDS}
    )
    return given, {}


# -- the database, in worker threads -----------------------------------------------------------


def _load_org(runtime: Runtime, key: str) -> Org:
    with runtime.session() as session:
        return get_org(session, key)


def _confirmation_facts(runtime: Runtime, key: str) -> tuple[Org, ExportTemplates, str | None]:
    """The org (``UnknownOrgError`` if none), the profile's templates, and the run id of an
    unfinished live run of the org (it must be cleaned up before the next)."""
    with runtime.session() as session:
        org = get_org(session, key)
        busy = unfinished_live_run(session, org.id)
        busy_run = busy.run_id if busy is not None else None
    return org, load_templates(runtime.profile), busy_run


def _cleanup_owed(runtime: Runtime, key: str) -> bool:
    with runtime.session() as session:
        return unfinished_live_run(session, get_org(session, key).id) is not None


# -- registration ------------------------------------------------------------------------------


async def _is_export(body: dict[str, Any]) -> bool:
    return isinstance(parse_command(body.get("text")), ExportCommand | ExportCleanupCommand)


def register(app: AsyncApp, deps: SlackDeps) -> None:
    """Before the general ``/afas`` listener: the export texts are answered here."""
    from bot.replica import replica_id

    listeners = ExportListeners(deps, owner=replica_id())

    @app.command("/afas", matchers=[_is_export])
    async def _export(
        ack: AsyncAck,
        body: dict[str, Any],
        command: dict[str, Any],
        respond: AsyncRespond,
        client: AsyncWebClient,
    ) -> None:
        await answering_errors(
            listeners.command(ack, command, respond, client),
            deps.languages,
            body,
            ack,
            client,
            respond,
        )

    for action_id in (EXPORT_ACTION, EXPORT_LIVE_ACTION, CLEANUP_ACTION):

        @app.action(action_id)
        async def _pressed(
            ack: AsyncAck,
            body: dict[str, Any],
            action: dict[str, Any],
            respond: AsyncRespond,
            client: AsyncWebClient,
        ) -> None:
            await answering_errors(
                listeners.button(ack, body, action, respond, client),
                deps.languages,
                body,
                ack,
                client,
                respond,
            )

    @app.view(CONFIRM_CALLBACK)
    async def _submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        await answering_errors(
            listeners.confirmation_submitted(ack, body, view, client),
            deps.languages,
            body,
            ack,
            client,
        )
