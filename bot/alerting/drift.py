"""Warnings before breakage (issue 10 §3): drift, a connector whose fields changed since the
org's baseline.

Once a day (``drift_check_hours``; ``deep_due`` says when, the sweep asks it) an org's
scheduled check is a deep one, which describes every GetConnector and UpdateConnector
(``/metainfo/get|update/{id}``). The first healthy deep check stores what it found as the
org's baseline (``connector_baselines``, taken by "bot"). A later deep check that finds a field
removed, renamed or retyped (``drift_diff.py``) stores what it found and the difference, and
writes one warning (outbox key ``drift:{org}:{hash of the difference}``): the same difference
is said once, a further change is a new warning. The warning names the fields per connector
and has an "Accept as the new baseline" button for agents (``bot/slack/listeners/drift.py``).
When a deep check matches the baseline again, the drift is cleared and, if its warning was
posted, the warning is rewritten ("back to the baseline", button gone) with a reply in its
thread. While the org is muted the drift is recorded but not posted; the first scheduled
check after the mute posts it (held, not dropped).

Connectors a check did not describe (missing, refused, unreadable this time) are not compared:
a missing connector is a setup failure the check reports itself; a connector seen for the
first time joins the baseline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict
from slack_sdk.web.async_client import AsyncWebClient
from sqlmodel import Session

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.report import CheckReport
from bot.alerting.drift_diff import ConnectorDrift, Drift, compare, merged, snapshot_of
from bot.alerting.slack_post import post_once, update_once
from bot.blocks.warnings import (
    drift_blocks,
    drift_cleared_blocks,
    drift_cleared_reply,
    drift_text,
)
from bot.runtime import Runtime
from storage.baselines import (
    clear_drift,
    drift_hash,
    extend_baseline,
    get_baseline,
    open_drift_hash,
    record_drift,
    set_drift_message,
    take_baseline,
)
from storage.models import ConnectorBaseline, Org, OutboxMessage
from storage.outbox import enqueue_outbox

log = logging.getLogger(__name__)

DRIFT_FOUND = "warning.drift_found"
DRIFT_CLEARED = "warning.drift_cleared"
BOT_ACTOR = "bot"


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = 1
    org_key: str
    display_name: str

    @property
    def org_name(self) -> str:
        return f"{self.display_name} ({self.org_key})"


class DriftFound(_Message):
    """Fields of the org's connectors changed since its baseline: which, and how."""

    kind: Literal["warning.drift_found"] = DRIFT_FOUND
    env_number: str | None = None
    env_kind: str | None = None
    channel: str | None = None
    drift_hash: str
    connectors: tuple[ConnectorDrift, ...] = ()
    found_at: datetime
    baseline_taken_at: datetime | None = None

    def environment_in(self, language: str) -> str | None:
        if self.env_number and self.env_kind in EnvironmentKind._value2member_map_:
            env = AfasEnvironment(self.env_number, EnvironmentKind(self.env_kind))
            return env.label_in(language)
        return None


class DriftCleared(_Message):
    """The connectors match the baseline again: the posted warning says so."""

    kind: Literal["warning.drift_cleared"] = DRIFT_CLEARED
    channel: str
    ts: str
    drift_hash: str
    at: datetime


# -- when (pure) -------------------------------------------------------------------------------


def deep_due(org: Org, now: datetime, hours: float) -> bool:
    """Whether the org's next scheduled check is its deep one: drift checks are on (``hours``
    > 0) and it had none yet, or none for ``hours``."""
    if hours <= 0:
        return False
    last = org.last_deep_check_at
    return last is None or now - last >= timedelta(hours=hours)


# -- the hook, in the transaction that records a scheduled check -------------------------------


def watch_drift(session: Session, org: Org, report: CheckReport, *, now: datetime) -> None:
    """Compare a deep check with the org's baseline (take it, on the first healthy one), and
    write the warning of an open drift unless the org is muted."""
    baseline = get_baseline(session, org.id)
    latest = snapshot_of(report) if report.token_accepted else {}
    if latest:
        baseline = _compare(session, org, baseline, latest, report, now)
    if baseline is not None and drift_hash(baseline) and not org.is_muted(now):
        message = drift_message(
            org,
            baseline.drift,
            found_at=baseline.drift_found_at or now,
            baseline_taken_at=baseline.taken_at,
        )
        enqueue_outbox(
            session,
            kind=DRIFT_FOUND,
            payload=message.model_dump(mode="json"),
            dedup_key=f"drift:{org.id}:{message.drift_hash}",
            org_id=org.id,
            now=now,
        )


def drift_message(
    org: Org,
    drift: Mapping[str, Any] | None,
    *,
    found_at: datetime,
    baseline_taken_at: datetime | None,
) -> DriftFound:
    """The warning of a drift as ``connector_baselines.drift`` holds it (breaking connectors
    first)."""
    parsed = Drift.read(drift)
    ordered = parsed.breaking + tuple(c for c in parsed.connectors if not c.breaking)
    stored_hash = drift.get("hash") if drift else None
    return DriftFound(
        org_key=org.key,
        display_name=org.display_name,
        env_number=org.environment.number,
        env_kind=org.environment.kind.value,
        channel=org.alert_channel,
        drift_hash=stored_hash if isinstance(stored_hash, str) else parsed.hash,
        connectors=ordered,
        found_at=found_at,
        baseline_taken_at=baseline_taken_at,
    )


def _compare(
    session: Session,
    org: Org,
    baseline: ConnectorBaseline | None,
    latest: dict,
    report: CheckReport,
    now: datetime,
) -> ConnectorBaseline | None:
    if baseline is None:
        if not report.healthy:
            return None
        log.info("connector baseline of org %s taken", org.key, extra={"org": org.key})
        return take_baseline(session, org.id, latest, at=now, by=BOT_ACTOR)
    first_seen = {c: fields for c, fields in latest.items() if c not in baseline.fields}
    if first_seen:
        extend_baseline(session, baseline, first_seen)
    was_open = drift_hash(baseline)
    drift = merged(compare(baseline.fields, latest), Drift.read(baseline.drift), latest)
    if drift.breaking:
        if drift.hash != was_open:
            log.warning(
                "connector fields of org %s changed since the baseline (%s): %s",
                org.key,
                drift.hash,
                ", ".join(c.connector for c in drift.breaking),
                extra={"org": org.key, "drift": drift.hash},
            )
        record_drift(session, baseline, latest=latest, drift=drift.stored(), found_at=now)
    elif was_open:
        posted = (baseline.drift_channel, baseline.drift_ts)
        clear_drift(session, baseline)
        log.info("connector fields of org %s match the baseline again", org.key)
        if posted[0] and posted[1]:
            cleared = DriftCleared(
                org_key=org.key,
                display_name=org.display_name,
                channel=posted[0],
                ts=posted[1],
                drift_hash=was_open,
                at=now,
            )
            enqueue_outbox(
                session,
                kind=DRIFT_CLEARED,
                payload=cleared.model_dump(mode="json"),
                dedup_key=f"drift:{org.id}:{was_open}:cleared",
                org_id=org.id,
                now=now,
            )
    return baseline


# -- sending (the outbox's sender calls these) -------------------------------------------------


async def send_drift_found(
    runtime: Runtime,
    client: AsyncWebClient,
    row: OutboxMessage,
    message: DriftFound,
    *,
    channel: str | None,
    language: str,
) -> bool:
    """Post the warning in ``channel`` (the org's alert channel, else the default) and
    remember it for the button and a later "back to the baseline". False, posting nothing,
    when there is nowhere to post or the drift is no longer open (accepted, cleared or
    changed again while the warning waited: a newer warning says what is true)."""
    if channel is None:
        log.warning(
            "org %s has no alert channel and no default is set: drift warning not posted",
            message.org_key,
        )
        return False
    current = await asyncio.to_thread(_open_hash, runtime, row.org_id)
    if current != message.drift_hash:
        log.info("drift %s of org %s is no longer open: not posted", row.id, message.org_key)
        return False
    posted = await post_once(
        client,
        row,
        channel=channel,
        blocks=drift_blocks(message, language=language),
        text=drift_text(message, language=language),
        unfurl_links=False,
        unfurl_media=False,
    )
    if row.org_id is not None:
        await asyncio.to_thread(
            _remember, runtime, row.org_id, message.drift_hash, posted["channel"], posted["ts"]
        )
    return True


async def send_drift_cleared(
    client: AsyncWebClient, row: OutboxMessage, message: DriftCleared, *, language: str
) -> bool:
    """Rewrite the posted warning ("back to the baseline", no button) and say so in its
    thread. The edit may be repeated; the reply is posted once."""
    await update_once(
        client,
        row,
        part=1,
        channel=message.channel,
        ts=message.ts,
        blocks=drift_cleared_blocks(message, language=language),
        text=drift_cleared_reply(message, language=language),
    )
    await post_once(
        client,
        row,
        channel=message.channel,
        thread_ts=message.ts,
        text=drift_cleared_reply(message, language=language),
    )
    return True


def _open_hash(runtime: Runtime, org_id: int | None) -> str | None:
    with runtime.session() as session:
        return open_drift_hash(session, org_id)


def _remember(runtime: Runtime, org_id: int, hash_: str, channel: str, ts: str) -> None:
    with runtime.session() as session:
        set_drift_message(session, org_id, hash_, channel=channel, ts=ts)
