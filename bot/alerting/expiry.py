"""Warnings before breakage (issue 10 §3): a token about to expire.

AFAS reports when a token expires (``/metainfo`` ``info.tokenExpiry``; the check's token
expiry item carries it as ``details.expires_at``). A scheduled check that finds it within the
warning window (``token_expiry_warning_days``, 14) writes one warning per *stage*: the first of
14, 7 and 1 days before the expiry that has come (the window itself is a stage too, when it is
not one of those). Each stage once, across replicas: the outbox's unique key is
``expiry:{org}:{token fingerprint}:{expiry date}:{stage}``, so a rotated token (another
fingerprint) or a new expiry date starts over, and a check first seeing the token 5 days
before warns once, at stage 7. A token that has expired already is failing (the check says
so, as an incident): no warning. While the org is muted nothing is written; the first check
after the mute writes the stage it is in then (held, not dropped).

The message is typed like the alert messages (``messages.py``) and self-contained; its sender
``send_token_expiring`` posts it in the org's alert channel, once (``slack_post.post_once``).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.report import CheckReport
from bot.alerting.slack_post import post_once
from bot.blocks.warnings import token_expiring_blocks, token_expiring_text
from storage.models import Org, OutboxMessage
from storage.outbox import enqueue_outbox

log = logging.getLogger(__name__)

TOKEN_EXPIRING = "warning.token_expiring"
STAGES = (1, 7, 14)
#: The report item that carries the expiry (afas/diagnosis.py ``token_expiry``).
TOKEN_EXPIRY_KIND = "token_expiry"


class TokenExpiring(BaseModel):
    """A token expires soon: which org, when, and how many days were left at the check."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    kind: Literal["warning.token_expiring"] = TOKEN_EXPIRING
    version: int = 1
    org_key: str
    display_name: str
    env_number: str | None = None
    env_kind: str | None = None
    channel: str | None = None
    expires_at: datetime
    days_left: int
    stage: int
    token_fingerprint: str = ""
    guide_section: str = ""
    checked_at: datetime

    @property
    def org_name(self) -> str:
        return f"{self.display_name} ({self.org_key})"

    def environment_in(self, language: str) -> str | None:
        if self.env_number and self.env_kind in EnvironmentKind._value2member_map_:
            env = AfasEnvironment(self.env_number, EnvironmentKind(self.env_kind))
            return env.label_in(language)
        return None


def expiry_stage(left: timedelta, *, within: timedelta) -> int | None:
    """The warning stage for a token with ``left`` to go (pure): the smallest stage that is
    at least the whole days left; None when it expired already or is not within ``within``.
    13 days 5 hours -> 14; 6 days -> 7; 1 day -> 1; 20 hours -> 1 (the token still works)."""
    if left <= timedelta(0) or left > within:
        return None
    window = within.days
    stages = sorted({s for s in STAGES if s <= window} | ({window} if window >= 1 else set()))
    days = left.days
    return next((s for s in stages if s >= days), None)


def expiry_key(org_id: int, fingerprint: str, expires_at: datetime, stage: int) -> str:
    """The outbox key of one stage's warning for one token and expiry date."""
    day = expires_at.astimezone(UTC).date().isoformat()
    return f"expiry:{org_id}:{fingerprint}:{day}:{stage}"


def warn_token_expiry(
    session: Session, org: Org, report: CheckReport, *, now: datetime, within: timedelta
) -> bool:
    """Write this check's expiry warning if a stage has come that was not written yet (in the
    caller's transaction: the one that records the check). True when this call wrote one."""
    expires_at = _expires_at(report)
    if expires_at is None or org.id is None:
        return False
    stage = expiry_stage(expires_at - now, within=within)
    if stage is None or org.is_muted(now):
        return False
    section = next((i.guide_section for i in report.items if i.kind == TOKEN_EXPIRY_KIND), "")
    message = TokenExpiring(
        org_key=org.key,
        display_name=org.display_name,
        env_number=org.environment.number,
        env_kind=org.environment.kind.value,
        channel=org.alert_channel,
        expires_at=expires_at,
        days_left=max(0, (expires_at - now).days),
        stage=stage,
        token_fingerprint=report.token_fingerprint,
        guide_section=section,
        checked_at=now,
    )
    written = enqueue_outbox(
        session,
        kind=TOKEN_EXPIRING,
        payload=message.model_dump(mode="json"),
        dedup_key=expiry_key(org.id, report.token_fingerprint, expires_at, stage),
        org_id=org.id,
        now=now,
    ).created
    if written:
        log.info(
            "token of org %s expires %s: %d-day warning written",
            org.key,
            expires_at.date().isoformat(),
            stage,
            extra={"org": org.key, "stage": stage},
        )
    return written


def _expires_at(report: CheckReport) -> datetime | None:
    for item in report.items:
        if item.kind != TOKEN_EXPIRY_KIND:
            continue
        value = item.details.get("expires_at")
        if not isinstance(value, str):
            return None
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


async def send_token_expiring(
    client: AsyncWebClient,
    row: OutboxMessage,
    message: TokenExpiring,
    *,
    channel: str | None,
    language: str,
) -> bool:
    """Post the warning in ``channel`` (the org's alert channel, else the default); False when
    there is nowhere to post it (logged). Slack's errors are raised for the sender to retry."""
    if channel is None:
        log.warning(
            "org %s has no alert channel and no default is set: token warning not posted",
            message.org_key,
        )
        return False
    await post_once(
        client,
        row,
        channel=channel,
        blocks=token_expiring_blocks(message, language=language),
        text=token_expiring_text(message, language=language),
        unfurl_links=False,
        unfurl_media=False,
    )
    return True
