"""Retention with the bot's settings: check runs older than ``AFASBOT_RETENTION_DAYS`` (30 by
default) are compacted into days (storage/retention.py), in the bot's time zone and with the
handover note's hold, so that the note says the same before and after. Run by
``afasbot db compact`` and by ``serve``'s retention job; safe on several replicas at once."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.services.handover import HOLD_INTERVALS
from storage.orgs import DEFAULT_CHECK_INTERVAL_SECONDS
from storage.retention import (
    DEFAULT_BATCH,
    DEFAULT_RETENTION_DAYS,
    compact_old_runs,
    retention_cutoff,
)

log = logging.getLogger(__name__)

#: Transactions per run of ``serve``'s job: a first run over a long history stops after about
#: a million runs and the next run goes on, so a replica never compacts for hours on end.
JOB_MAX_BATCHES = 200


@dataclass(frozen=True)
class Compaction:
    runs: int  # how many runs were compacted
    older_than: datetime  # runs started before this were compacted (the org's latest kept)
    days: int  # the retention in days


def retention_days(settings: Any) -> int:
    """``AFASBOT_RETENTION_DAYS`` (``Settings.retention_days``), 30 without it."""
    return int(getattr(settings, "retention_days", DEFAULT_RETENTION_DAYS))


def compact_history(
    session: Session,
    settings: Any,
    *,
    days: int | None = None,
    now: datetime | None = None,
    batch: int = DEFAULT_BATCH,
    max_batches: int | None = None,
) -> Compaction:
    """Compact the runs past the retention (``days``, else the setting); ``ValueError`` for
    a retention outside 1 to 3650 days."""
    days = retention_days(settings) if days is None else days
    zone = ZoneInfo(settings.timezone)
    older_than = retention_cutoff(now or datetime.now(UTC), days, zone)
    runs = compact_old_runs(
        session,
        older_than=older_than,
        batch=batch,
        zone=zone,
        hold_intervals=HOLD_INTERVALS,
        default_interval_seconds=getattr(
            settings, "check_interval_seconds", DEFAULT_CHECK_INTERVAL_SECONDS
        ),
        max_batches=max_batches,
    )
    return Compaction(runs, older_than, days)
