"""Editing and removing a registered org (the token's rotation is registration's:
``bot.services.registration.rotate_token``).

Storage does the validating, the auditing and the destroying; this module adds what spans
more than a table: on removal, the alerts of open incidents,
which are told (through the outbox, in the same transaction as the removal) that the org is
gone and who removed it. Database work only, in the caller's worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.alerting.messages import ORG_REMOVED, OrgRemoved, stored
from bot.runtime import Runtime
from storage.models import Org
from storage.orgs import UNSET, FieldChange, edit_org, get_org, remove_org
from storage.outbox import enqueue_outbox
from storage.repository import open_incidents

#: The settings an edit may change (the key, the environment and the token are not among them).
_EDITABLE = ("display_name", "alert_channel", "cs_owner", "notes", "check_interval_seconds")


@dataclass(frozen=True)
class OrgEdited:
    key: str
    changes: tuple[FieldChange, ...]
    next_check_in: timedelta | None  # when the interval changed: the next check at the latest


@dataclass(frozen=True)
class OrgRemovedResult:
    key: str
    display_name: str
    fingerprint: str
    checks_deleted: int
    incidents_deleted: int
    alerts_updated: int  # open incidents whose alert in Slack will say the org was removed


def load_org(runtime: Runtime, key: str) -> Org:
    """The org (detached, readable after the session); ``UnknownOrgError`` with suggestions."""
    with runtime.session() as session:
        return get_org(session, key)


def edit_settings(
    runtime: Runtime, key: str, settings: dict[str, Any], *, actor: str, now: datetime | None = None
) -> OrgEdited:
    """Apply the settings that differ from the stored ones (storage audits each one). An
    interval of None goes back to the default (``AFASBOT_CHECK_INTERVAL_SECONDS``)."""
    now = now or datetime.now(UTC)
    given = {name: settings.get(name, UNSET) for name in _EDITABLE}
    with runtime.session() as session:
        edit = edit_org(
            session,
            key,
            actor=actor,
            now=now,
            default_interval_seconds=runtime.settings.check_interval_seconds,
            **given,
        )
        next_in = None
        if "check_interval_seconds" in edit.changed_fields and edit.org.next_check_at:
            next_in = max(timedelta(0), edit.org.next_check_at - now)
        return OrgEdited(edit.org.key, edit.changes, next_in)


def remove(
    runtime: Runtime, key: str, *, actor: str, now: datetime | None = None
) -> OrgRemovedResult:
    """Remove the org: open incidents' alerts are told first (outbox), then storage deletes
    the org, its history and its incidents, keeps the audit log, and destroys the token once
    this commits. ``UnknownOrgError`` if the org is gone already."""
    now = now or datetime.now(UTC)
    with runtime.session() as session:
        org = get_org(session, key)
        alerts = 0
        for incident in open_incidents(session, org_id=org.id):
            if not (incident.slack_channel and incident.slack_ts):
                continue  # never posted: its opening message is dropped with the org
            message = OrgRemoved(
                org_key=org.key,
                display_name=org.display_name,
                env_number=org.env_number,
                env_kind=org.env_kind,
                channel=incident.slack_channel,
                ts=incident.slack_ts,
                removed_by=actor,
                removed_at=now,
                opened_at=incident.opened_at,
            )
            enqueue_outbox(
                session,
                kind=ORG_REMOVED,
                payload=stored(message),
                dedup_key=f"{ORG_REMOVED}:{incident.slack_channel}:{incident.slack_ts}",
                now=now,
            )
            alerts += 1
        removed = remove_org(session, org.key, actor=actor, now=now)
    return OrgRemovedResult(
        removed.key,
        removed.display_name,
        removed.token_fingerprint,
        removed.check_runs_deleted,
        removed.incidents_deleted,
        alerts,
    )
