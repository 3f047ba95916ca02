"""Building the Bolt app (async: it shares the event loop with the AFAS client and the
scheduler), and running it in Socket Mode or HTTP mode from the same code."""

from __future__ import annotations

from slack_bolt.app.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from afas.client import AfasClient
from bot.logging_setup import library_logger
from bot.metrics import Metrics
from bot.runtime import Runtime
from bot.slack.authorization import (
    BotTokenAuthorization,
    authorization_failed_text,
    tokenless_copy,
)
from bot.slack.background import Background
from bot.slack.errors import register_error_handler
from bot.slack.listeners import (
    SlackDeps,
    actions,
    alerts,
    commands,
    drift,
    events,
    exports,
    handover,
    mute,
    org_admin,
    status_pages,
    views,
    watch,
)
from bot.slack.locale import ReaderLanguages
from bot.slack.permissions import Roles, user_ids


def web_client(
    token: str,
    *,
    base_url: str | None = None,
    retry_rate_limits: bool = True,
    metrics: Metrics | None = None,
) -> AsyncWebClient:
    """The Slack Web API client. For answers to people it waits out a 429's ``Retry-After``
    and retries (the SDK does not by default); the alert sender does not wait (it reschedules
    the message instead, so a rate limit never stalls the checks). With ``metrics``, Slack's
    error answers and 429s are counted, also in the copies Bolt makes per request."""
    kwargs = {"base_url": base_url} if base_url else {}
    client = AsyncWebClient(token=token, **kwargs)
    if metrics is not None:  # first: it sees every answer, and retries none itself
        client.retry_handlers.insert(0, metrics.slack_observer())
    if retry_rate_limits:
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=3))
    return client


def roles_from_settings(runtime: Runtime, client: AsyncWebClient) -> Roles:
    """Agents: members of any of the agents' user groups, or listed ids; admins: listed ids
    (named in refusals, in the order given) or members of the admins' user group(s)."""
    s = runtime.settings
    return Roles(
        client,
        usergroup=s.slack_agent_usergroup,
        agents=user_ids(s.slack_agent_user_ids),
        admins=user_ids(s.slack_admin_user_ids),
        admin_usergroup=s.slack_admin_usergroup,
    )


def create_slack_app(
    runtime: Runtime,
    afas: AfasClient,
    *,
    client: AsyncWebClient,
    signing_secret: str,
    roles: Roles | None = None,
    background: Background | None = None,
    metrics: Metrics | None = None,
) -> AsyncApp:
    """The Bolt app with its listeners. Requests are verified with the signing secret (HTTP
    mode); the bot token is checked with ``auth.test`` once, on the first request (single-flight:
    a burst of first requests shares that one call). With ``metrics``, each request is timed
    from Bolt's first hook after the signature check to its ``ack()``."""
    app = AsyncApp(
        client=tokenless_copy(client),  # each request's client gets the token from `authorize`
        authorize=BotTokenAuthorization(client),
        user_facing_authorize_error_message=authorization_failed_text(),
        signing_secret=signing_secret,
        raise_error_for_unhandled_request=False,
        logger=library_logger(),  # Bolt's loggers take its level and redaction, not the root's
        before_authorize=metrics.ack_timer() if metrics is not None else None,
    )
    deps = SlackDeps(
        runtime=runtime,
        afas=afas,
        languages=ReaderLanguages(client),
        roles=roles or roles_from_settings(runtime, client),
        background=background or Background(),
    )
    exports.register(app, deps)  # before commands: it takes `/afas export …` by a matcher
    commands.register(app, deps)
    actions.register(app, deps)
    views.register(app, deps)
    alerts.register(app, deps)
    drift.register(app, deps)
    events.register(app, deps, client)
    mute.register(app, deps)
    org_admin.register(app, deps)
    watch.register(app, deps, client)
    handover.register(app, deps)
    status_pages.register(app, deps)
    register_error_handler(app, deps.languages)
    return app
