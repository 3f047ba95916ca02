"""An acknowledgement as an outbox message: the alert is written again with who is on it, and
its thread hears it.

Why through the outbox and not straight from the button's listener: an incident's messages
reach Slack in the order they were written (delivery.py), so an acknowledgement racing a
recovery can never put a resolved alert back to "open". Either the acknowledgement was written
first (the incident was still open), and the recovery, written after it, is sent after it and
wins; or the recovery was written first, and the incident is closed, so acknowledging it is
refused and nothing is written. The listener then sends it at once (``deliver_now``); a
failure leaves it to the outbox's next tick.

The message holds the root as it stood when the alert was acknowledged (the newest message
that says what the root shows), so the edit shows the current truth, not the first alert.
This module imports nothing of ``bot.alerting.messages``, so that the message union there can
import ``IncidentAcknowledged``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

ACKNOWLEDGED = "incident.acknowledged"
ACKNOWLEDGED_VERSION = 1


class IncidentAcknowledged(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = ACKNOWLEDGED_VERSION
    kind: Literal["incident.acknowledged"] = ACKNOWLEDGED
    org_key: str
    by: str  # the agent's Slack user id
    at: datetime
    channel: str | None = None  # the alert's channel when acknowledged (for the sender's lane)
    root_kind: str | None = None  # the root as it stood: its message kind and stored payload
    root: dict[str, Any] | None = None


def acknowledged_key(incident_id: int) -> str:
    """Once per incident: ``acknowledge_incident`` lets only one press acknowledge it."""
    return f"incident:{incident_id}:acknowledged"
