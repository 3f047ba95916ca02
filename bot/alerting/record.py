"""Applying the alert policy inside the transaction that records a scheduled check: the
incident change and its outbox message commit together with the check run, or not at all."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from afas.report import CheckReport, OverallState
from bot.alerting.messages import (
    IncidentOpened,
    IncidentReminder,
    IncidentResolved,
    OutboxPayload,
    incident_fields,
    stored,
)
from bot.alerting.platform import PlatformPolicy, platform_view
from bot.alerting.policy import (
    AlertPolicy,
    Decision,
    OpenIncident,
    Situation,
    decide,
    reminder_number,
)
from storage.models import Incident, Org
from storage.repository import (
    close_incident,
    enqueue_outbox,
    open_incident,
    open_incident_of,
    recent_states,
)

INCIDENT_KIND = "org"


def apply_alerting(
    session: Session,
    org: Org,
    report: CheckReport,
    *,
    now: datetime,
    policy: AlertPolicy,
    platform: PlatformPolicy | None = None,
) -> Decision:
    """Decide from the org's latest runs (the one just recorded first) and its open incident,
    then write the incident change and the message to send. Returns the decision."""
    recent = recent_states(session, org.id, limit=policy.history_needed)
    incident = open_incident_of(session, org.id, kind=INCIDENT_KIND)
    open_view = (
        OpenIncident(incident.id, incident.opened_at, incident.acknowledged_at is not None)
        if incident is not None
        else None
    )
    decision = decide(Situation(recent, open_view, org.is_muted(now), now), policy)
    platform = platform or PlatformPolicy()
    if (
        decision is Decision.OPEN
        and report.overall is OverallState.UNREACHABLE
        and platform_view(session, now=now, policy=platform).down(platform)
    ):
        return Decision.NOTHING  # AFAS is down for many orgs: one platform alert says so
    if decision is Decision.OPEN:
        opened, created = open_incident(session, org, kind=INCIDENT_KIND, opened_at=now)
        if created:
            message = IncidentOpened(**_about(org, opened, report))
            _enqueue(session, org, opened, message, f"incident:{opened.id}:open", now)
    elif decision is Decision.RESOLVE and incident is not None:
        if close_incident(session, incident.id, closed_at=now):
            lasted = int((now - incident.opened_at).total_seconds())
            message = IncidentResolved(**_about(org, incident, report), duration_seconds=lasted)
            _enqueue(session, org, incident, message, f"incident:{incident.id}:resolve", now)
    elif decision is Decision.REMIND and open_view is not None:
        number = reminder_number(open_view, now, policy)
        message = IncidentReminder(**_about(org, incident, report), reminder=number)
        _enqueue(session, org, incident, message, f"incident:{incident.id}:remind:{number}", now)
    return decision


def _about(org: Org, incident: Incident, report: CheckReport) -> dict:
    return incident_fields(
        org_key=org.key,
        display_name=org.display_name,
        environment=org.environment,
        channel=org.alert_channel,
        report=report,
        opened_at=incident.opened_at,
    )


def _enqueue(
    session: Session,
    org: Org,
    incident: Incident,
    message: OutboxPayload,
    dedup_key: str,
    now: datetime,
) -> None:
    enqueue_outbox(
        session,
        kind=message.kind,
        payload=stored(message),
        dedup_key=dedup_key,
        org_id=org.id,
        incident_id=incident.id,
        now=now,
    )
