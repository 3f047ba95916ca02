"""When an org is next due: a fixed grid per org (pure)."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, datetime


def next_check_at(org_id: int, interval_seconds: int, now: datetime) -> datetime:
    """The next check time on a fixed grid with a stable offset per org, half an interval to
    one and a half intervals from now.

    Prometheus-style: ``offset = hash(org) % interval``, aligned to absolute time, so checks
    of many orgs spread over the interval and a restart does not make them all due at once.
    """
    interval = max(1, interval_seconds)
    digest = hashlib.sha256(f"org:{org_id}".encode()).digest()
    offset = int.from_bytes(digest[:8], "big") % interval
    now_s = now.timestamp()
    slot = math.floor((now_s - offset) / interval) * interval + offset
    # At least half an interval away: an org checked off its grid (just registered, or
    # re-checked on request) is not checked again moments later; on the grid, exactly one
    # interval later.
    while slot <= now_s + interval / 2:
        slot += interval
    return datetime.fromtimestamp(slot, tz=UTC)
