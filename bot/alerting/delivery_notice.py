"""Slack's permanent refusals, and the one message about them in the ops channel.

Some answers will not change however often a message is retried: a channel the bot is not in,
an archived or deleted channel, a message Slack will never take (too long, malformed). Such a
message is given up (``OutboxMessage.given_up_at``: never retried, so it never holds up its
incident's later messages for ever) and the helpdesk hears it once a day per channel and error
in the ops channel: which channel, which orgs, what Slack said in plain words, what to do. A
``DeliveryFailed`` message is itself an outbox message (kind ``delivery.failed``, dedup key
``delivery.failed:<channel>:<error>:<day>``), so replicas say it once.

Never said in Slack, only logged at ERROR once per process: a refusal of the bot's token
(``invalid_auth``, ``account_inactive``...: Slack refuses everything, the notice too) and a
refusal by the ops channel itself (the notice would be refused as well).

This module imports nothing of ``bot.alerting.messages``, so that the message union there can
import ``DeliveryFailed``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from bot.alerting.slack_post import post_once
from bot.i18n import normalise_language, t
from storage.models import OutboxMessage
from storage.outbox import enqueue_outbox

log = logging.getLogger(__name__)

DELIVERY_FAILED = "delivery.failed"
NOTICE_VERSION = 1

#: The channel refuses the bot: fixed in Slack or with ``/afas edit``, said in the ops channel.
CHANNEL_ERRORS = frozenset(
    {"channel_not_found", "not_in_channel", "is_archived", "restricted_action"}
)
#: Slack will never take this message as it is (a fault in the bot): said in the ops channel.
MESSAGE_ERRORS = frozenset(
    {
        "msg_too_long",
        "invalid_blocks",
        "invalid_blocks_format",
        "invalid_attachments",
        "too_many_attachments",
        "invalid_metadata_format",
        "no_text",
        "invalid_arguments",
    }
)
#: The message to edit or reply to is gone (someone deleted the alert): given up quietly.
ROOT_GONE_ERRORS = frozenset({"message_not_found", "cant_update_message", "edit_window_closed"})
#: Slack refuses the bot's token: everything fails, the notice too. Logged at ERROR once.
TOKEN_ERRORS = frozenset(
    {"invalid_auth", "account_inactive", "token_revoked", "token_expired", "not_authed"}
)
#: Answers that stop the retries of a message.
PERMANENT_ERRORS = CHANNEL_ERRORS | MESSAGE_ERRORS | ROOT_GONE_ERRORS | TOKEN_ERRORS


class DeliveryFailed(BaseModel):
    """Slack refused messages for ``failed_channel`` for good: said in ``channel`` (the ops
    channel when it was written; None: the sender's)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = NOTICE_VERSION
    kind: Literal["delivery.failed"] = DELIVERY_FAILED
    failed_channel: str
    error: str
    org_keys: tuple[str, ...] = ()
    at: datetime
    channel: str | None = None


def is_said_in_ops(error: str) -> bool:
    """Whether a permanent ``error`` is one the ops channel hears about."""
    return error in CHANNEL_ERRORS or error in MESSAGE_ERRORS


def notice_key(failed_channel: str, error: str, day: str) -> str:
    return f"{DELIVERY_FAILED}:{failed_channel}:{error}:{day}"


def enqueue_delivery_failed(
    session: Session,
    *,
    failed_channel: str,
    error: str,
    org_keys: Iterable[str],
    ops_channel: str | None,
    now: datetime,
) -> bool:
    """Write the notice unless today's for this channel and error is written already (by
    this or another replica): True when this call wrote it."""
    message = DeliveryFailed(
        failed_channel=failed_channel,
        error=error,
        org_keys=tuple(sorted(set(org_keys))),
        at=now,
        channel=ops_channel,
    )
    return enqueue_outbox(
        session,
        kind=DELIVERY_FAILED,
        payload=message.model_dump(mode="json"),
        dedup_key=notice_key(failed_channel, error, now.date().isoformat()),
        now=now,
    ).created


def notice_text(message: DeliveryFailed, *, language: str) -> str:
    """The notice in the ops channel: what was refused where, why in plain words, what to do."""
    lang = normalise_language(language)
    channel = _mention(message.failed_channel)
    org = message.org_keys[0] if len(message.org_keys) == 1 else t("delivery_failed.any_org", lang)
    topic = message.error if message.error in CHANNEL_ERRORS else "message"
    lines = [
        ":warning: " + t("delivery_failed.heading", lang, channel=channel),
        t(f"delivery_failed.{topic}.what", lang, channel=channel, error=message.error),
        t(f"delivery_failed.{topic}.todo", lang, org=org),
    ]
    if message.org_keys:
        orgs = ", ".join(f"`{key}`" for key in message.org_keys)
        lines.append(t("delivery_failed.orgs", lang, orgs=orgs))
    lines.append(t("delivery_failed.given_up", lang, error=message.error))
    return "\n".join(lines)


def _mention(channel: str) -> str:
    """A channel id as Slack's channel link; a name as it was given."""
    if channel[:1] in ("C", "G") and channel.isalnum():
        return f"<#{channel}>"
    return f"`{channel}`"


async def send_delivery_failed(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: DeliveryFailed,
    *,
    ops_channel: str | None,
    language: str,
) -> bool:
    """Post the notice in the ops channel; False (logged) when there is none."""
    channel = message.channel or ops_channel
    if channel is None:
        log.error(
            "no ops channel: Slack refused messages for %s (%s), said nowhere",
            message.failed_channel,
            message.error,
        )
        return False
    text = notice_text(message, language=language)
    await post_once(client, row, channel=channel, text=text, unfurl_links=False)
    return True
