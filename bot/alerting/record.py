"""Applying the alert policy inside the transaction that records a scheduled check: the
incident change and its outbox message commit together with the check run, or not at all."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from afas.report import CheckReport, ItemStatus
from bot.alerting.platform import UNREACHABLE, PlatformPolicy, platform_view
from bot.alerting.policy import (
    AlertPolicy,
    Decision,
    OpenIncident,
    Situation,
    decide,
    reminder_number,
)
from storage.models import CheckRun, Incident, Org
from storage.repository import close_incident, enqueue_outbox, open_incident

INCIDENT_KIND = "org"
# Outbox message kinds.
OPENED = "incident.opened"
RESOLVED = "incident.resolved"
REMINDER = "incident.reminder"
MAX_PROBLEMS = 10


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
    recent = tuple(
        session.exec(
            select(CheckRun.overall_state)
            .where(CheckRun.org_id == org.id)
            .order_by(col(CheckRun.started_at).desc(), col(CheckRun.id).desc())
            .limit(policy.history_needed)
        ).all()
    )
    incident = session.exec(
        select(Incident).where(
            Incident.org_id == org.id,
            Incident.kind == INCIDENT_KIND,
            col(Incident.closed_at).is_(None),
        )
    ).first()
    open_view = (
        OpenIncident(incident.id, incident.opened_at, incident.acknowledged_at is not None)
        if incident is not None
        else None
    )
    decision = decide(Situation(recent, open_view, org.is_muted(now), now), policy)
    platform = platform or PlatformPolicy()
    if (
        decision is Decision.OPEN
        and report.overall.value == UNREACHABLE
        and platform_view(session, now=now, policy=platform).down(platform)
    ):
        return Decision.NOTHING  # AFAS is down for many orgs: one platform alert says so
    if decision is Decision.OPEN:
        opened, created = open_incident(session, org, kind=INCIDENT_KIND, opened_at=now)
        if created:
            _enqueue(session, org, opened, OPENED, f"incident:{opened.id}:open", report, now)
    elif decision is Decision.RESOLVE and incident is not None:
        if close_incident(session, incident.id, closed_at=now):
            _enqueue(
                session,
                org,
                incident,
                RESOLVED,
                f"incident:{incident.id}:resolve",
                report,
                now,
                duration_seconds=int((now - incident.opened_at).total_seconds()),
            )
    elif decision is Decision.REMIND and open_view is not None:
        number = reminder_number(open_view, now, policy)
        _enqueue(
            session,
            org,
            incident,
            REMINDER,
            f"incident:{incident.id}:remind:{number}",
            report,
            now,
            reminder=number,
        )
    return decision


def _enqueue(
    session: Session,
    org: Org,
    incident: Incident,
    kind: str,
    dedup_key: str,
    report: CheckReport,
    now: datetime,
    **extra: Any,
) -> None:
    """The message carries what the sender needs to write it, so it can be sent (and retried)
    without the check: never the token, only the report's texts and ids."""
    problems = [
        item.to_dict()
        for item in report.items
        if item.status in (ItemStatus.FAILING, ItemStatus.WARNING)
    ][:MAX_PROBLEMS]
    payload = {
        "org_key": org.key,
        "display_name": org.display_name,
        "environment": org.environment.label,
        "channel": org.alert_channel,
        "overall": report.overall.value,
        "headline": report.headline.model_dump(),
        "problems": problems,
        "opened_at": incident.opened_at.isoformat(),
        **extra,
    }
    enqueue_outbox(
        session,
        kind=kind,
        payload=payload,
        dedup_key=dedup_key,
        org_id=org.id,
        incident_id=incident.id,
        now=now,
    )
