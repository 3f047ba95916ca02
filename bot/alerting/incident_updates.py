"""Delivering the changes to an open incident (issue 10 §1, §2): a change of cause, another
set of problems, the end of a mute. Each edits the incident's root message, so the channel
shows the current truth, and (except a change of problems) replies once in its thread.

``delivery._deliver`` calls these with the root (channel, ts) it found for the row. The root
edit (``chat.update``) may be repeated; the reply goes through ``post_once``, so a retry after
Slack accepted the reply does not post it twice. A root that is gone for good (deleted, the
channel archived) leaves nothing to edit or reply to: logged, and the row counts as skipped.
"""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.alerting.messages import (
    IncidentCauseChanged,
    IncidentHoldEnded,
    IncidentProblemsChanged,
)
from bot.alerting.slack_post import post_once, update_once
from bot.blocks.alert import alert_blocks, alert_text, cause_changed_reply, hold_ended_reply
from storage.models import OutboxMessage

log = logging.getLogger(__name__)
#: Slack's answers that say the root message is gone for good.
ROOT_GONE = frozenset(
    {"message_not_found", "channel_not_found", "is_archived", "cant_update_message"}
)
RootUpdate = IncidentCauseChanged | IncidentProblemsChanged | IncidentHoldEnded


async def send_cause_changed(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: IncidentCauseChanged,
    *,
    root: tuple[str, str],
    language: str,
    zone: ZoneInfo | None = None,
    acknowledged_by: str | None = None,
) -> bool:
    """The root shows the new cause; the thread hears from what to what, and what to do."""
    if not await _edit_root(client, row, message, root, language, zone, acknowledged_by):
        return False
    channel, ts = root
    await post_once(
        client,
        row,
        channel=channel,
        thread_ts=ts,
        text=cause_changed_reply(message, language=language),
    )
    return True


async def send_problems_changed(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: IncidentProblemsChanged,
    *,
    root: tuple[str, str],
    language: str,
    zone: ZoneInfo | None = None,
    acknowledged_by: str | None = None,
) -> bool:
    """The root shows the current problems; nothing is said in the thread."""
    return await _edit_root(client, row, message, root, language, zone, acknowledged_by)


async def send_hold_ended(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: IncidentHoldEnded,
    *,
    root: tuple[str, str],
    language: str,
    zone: ZoneInfo | None = None,
    acknowledged_by: str | None = None,
) -> bool:
    """The mute is over and the incident still open: the root shows the current truth, the
    thread hears it once (who muted, until when, open since when)."""
    if not await _edit_root(client, row, message, root, language, zone, acknowledged_by):
        return False
    channel, ts = root
    await post_once(
        client,
        row,
        channel=channel,
        thread_ts=ts,
        text=hold_ended_reply(message, language=language, zone=zone),
    )
    return True


async def _edit_root(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: RootUpdate,
    root: tuple[str, str],
    language: str,
    zone: ZoneInfo | None,
    acknowledged_by: str | None,
) -> bool:
    """Write the root again from ``message``; False when it is gone for good (or the org was
    removed while this was sent: no incident to put on the buttons)."""
    if row.incident_id is None:
        return False
    channel, ts = root
    try:
        await update_once(
            client,
            row,
            part=1,
            channel=channel,
            ts=ts,
            blocks=alert_blocks(
                message,
                language=language,
                incident_id=row.incident_id,
                acknowledged_by=acknowledged_by or message.acknowledged_by,
                zone=zone,
            ),
            text=alert_text(message, language=language),
        )
    except SlackApiError as exc:
        error = exc.response.get("error")
        if error not in ROOT_GONE:
            raise
        log.warning(
            "the alert of org %s is gone (%s): %s not shown",
            message.org_key,
            error,
            message.kind,
            extra={"org": message.org_key, "kind": message.kind, "outbox_id": row.id},
        )
        return False
    return True
