"""Applying the alert policy inside the transaction that records a scheduled check: the
incident change and its outbox message commit together with the check run, or not at all.

Mute keeps the record: an incident opens and closes whatever holds its messages (a mute, AFAS
down for many orgs; bot/alerting/policy.py), and ``Incident.held`` says why nothing was
written. While an announced incident is open its cause is kept current: a change of cause is
one message (the root edited, a thread reply: never a second incident), another set of
problems with the same cause is a silent edit of the root. Dedup keys make each message once:
``incident:<id>:open``, ``:resolve``, ``:remind:<n>``, ``:cause:<n>`` (the n-th cause change),
``:problems:<n>:<hash of the problems>``, ``:hold_ended:<n>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import datetime

from sqlmodel import Session

from afas.report import CheckReport, OverallState
from bot.alerting.causes import Cause, cause_of
from bot.alerting.messages import (
    CAUSE_CHANGED,
    HELD_MUTED,
    HELD_PLATFORM,
    HOLD_ENDED,
    PROBLEMS_CHANGED,
    ROOT_KINDS,
    AlertProblem,
    HoldNote,
    IncidentCauseChanged,
    IncidentHoldEnded,
    IncidentOpened,
    IncidentProblemsChanged,
    IncidentReminder,
    IncidentResolved,
    OutboxPayload,
    RootMessage,
    UnreadableMessage,
    incident_fields,
    read_message,
    stored,
)
from bot.alerting.platform import PlatformPolicy, platform_down
from bot.alerting.policy import (
    AlertPolicy,
    Decision,
    Hold,
    OpenIncident,
    Situation,
    decide,
    hold_of,
    reminder_number,
)
from storage.incidents import (
    announce_incident,
    hold_incident,
    incident_messages_of,
    last_mute,
    set_incident_cause,
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
    then write the incident change and the messages to send. Returns the decision."""
    recent = recent_states(session, org.id, limit=policy.history_needed)
    incident = open_incident_of(session, org.id, kind=INCIDENT_KIND)
    situation = Situation(recent, _view(incident), org.is_muted(now), now)
    decision = decide(situation, policy)
    if (
        decision in (Decision.OPEN, Decision.RELEASE)
        and report.overall is OverallState.UNREACHABLE
        and (incident is None or incident.announced_at is None)
        and platform_down(session, now=now, policy=platform or PlatformPolicy())
    ):  # AFAS is down for many orgs: the platform notice speaks for this one
        situation = replace(situation, platform_down=True)
        decision = decide(situation, policy)
    if decision is Decision.REMIND and incident is not None:
        said = _last_said_at(session, incident)
        if said is not None:  # the end of a mute said it lately: the reminder waits for it
            situation = replace(situation, incident=replace(situation.incident, last_said_at=said))
            decision = decide(situation, policy)
    cause = cause_of(report)
    if decision is Decision.OPEN:
        _open(session, org, report, cause, situation, now)
    elif decision is Decision.RESOLVE and incident is not None:
        _resolve(session, org, incident, report, now)
    elif incident is not None:
        _while_open(session, org, incident, report, cause, situation, decision, policy, now)
    return decision


def _view(incident: Incident | None) -> OpenIncident | None:
    if incident is None:
        return None
    return OpenIncident(
        incident.id,
        incident.opened_at,
        incident.acknowledged_at is not None,
        announced_at=incident.announced_at,
        held=incident.held,
    )


def _open(
    session: Session,
    org: Org,
    report: CheckReport,
    cause: Cause | None,
    situation: Situation,
    now: datetime,
) -> None:
    hold = hold_of(situation)
    opened, created = open_incident(
        session,
        org,
        kind=INCIDENT_KIND,
        opened_at=now,
        cause=cause.value if cause else None,
        held=hold.value if hold else None,
    )
    if created and hold is None:
        message = IncidentOpened(**_about(org, opened, report, opened.cause))
        _enqueue(session, org, opened, message, f"incident:{opened.id}:open", now)


def _resolve(
    session: Session, org: Org, incident: Incident, report: CheckReport, now: datetime
) -> None:
    """Closed, and announced if (and only if) its opening was: a never announced incident
    closes without a word. Announced even while muted: the root must not stay "broken"."""
    announced = incident.announced_at is not None
    if close_incident(session, incident.id, closed_at=now) and announced:
        lasted = int((now - incident.opened_at).total_seconds())
        message = IncidentResolved(
            **_about(org, incident, report, incident.cause), duration_seconds=lasted
        )
        _enqueue(session, org, incident, message, f"incident:{incident.id}:resolve", now)


def _while_open(
    session: Session,
    org: Org,
    incident: Incident,
    report: CheckReport,
    cause: Cause | None,
    situation: Situation,
    decision: Decision,
    policy: AlertPolicy,
    now: datetime,
) -> None:
    """The incident stays open: its cause kept current (held or not), then the hold, the
    release, or the messages about a change and the reminder."""
    previous = incident.cause
    current = cause.value if cause is not None else previous  # a good check changes nothing
    if current != previous:
        set_incident_cause(session, incident.id, current)
    if decision is Decision.HOLD:  # an announced incident is held by a mute only
        hold = hold_of(situation) if incident.announced_at is None else Hold.MUTED
        hold_incident(session, incident.id, (hold or Hold.MUTED).value)
        return
    if decision is Decision.RELEASE:
        _release(session, org, incident, report, current, now)
        return
    if incident.announced_at is None or incident.held is not None:
        return  # held: the release will show the current truth
    if cause is not None:
        _said_changes(session, org, incident, report, previous, current, now)
    if decision is Decision.REMIND:
        number = reminder_number(_view(incident), now, policy)
        message = IncidentReminder(**_about(org, incident, report, current), reminder=number)
        _enqueue(session, org, incident, message, f"incident:{incident.id}:remind:{number}", now)


def _release(
    session: Session,
    org: Org,
    incident: Incident,
    report: CheckReport,
    cause: str | None,
    now: datetime,
) -> None:
    """The hold is over and the incident still open: exactly one message says so."""
    note = _hold_note(session, org, incident.held, now)
    about = _about(org, incident, report, cause)
    if incident.announced_at is None:
        if announce_incident(session, incident.id, at=now):
            message: OutboxPayload = IncidentOpened(**about, hold=note)
            _enqueue(session, org, incident, message, f"incident:{incident.id}:open", now)
        return
    hold_incident(session, incident.id, None)
    number = _count(session, incident, HOLD_ENDED) + 1
    message = IncidentHoldEnded(
        **about,
        hold=note or HoldNote(reason=HELD_MUTED),
        acknowledged_by=incident.acknowledged_by,
    )
    _enqueue(session, org, incident, message, f"incident:{incident.id}:hold_ended:{number}", now)


def _said_changes(
    session: Session,
    org: Org,
    incident: Incident,
    report: CheckReport,
    previous: str | None,
    current: str | None,
    now: datetime,
) -> None:
    """A bad check of an announced incident: a change of cause is said (root edit and thread
    reply), another set of problems is shown (root edit). A first cause for an incident that
    had none (opened by an older version) is shown, not said."""
    root = current_root(session, incident.id)
    if root is None:
        return  # no root message to edit or reply to (opened without one)
    about = _about(org, incident, report, current)
    if previous is not None and current != previous:
        number = _count(session, incident, CAUSE_CHANGED) + 1
        message: OutboxPayload = IncidentCauseChanged(
            **about,
            previous_cause=previous,
            number=number,
            acknowledged_by=incident.acknowledged_by,
        )
        _enqueue(session, org, incident, message, f"incident:{incident.id}:cause:{number}", now)
        return
    shown = _shown(root.cause, root.problems)
    if shown == _shown(current, about["problems"]):
        return
    number = _count(session, incident, PROBLEMS_CHANGED) + 1
    digest = hashlib.sha256(repr(_shown(current, about["problems"])).encode()).hexdigest()[:10]
    message = IncidentProblemsChanged(**about, acknowledged_by=incident.acknowledged_by)
    key = f"incident:{incident.id}:problems:{number}:{digest}"
    _enqueue(session, org, incident, message, key, now)


def _shown(cause: str | None, problems: tuple[AlertProblem, ...]) -> tuple:
    """What a root shows that a check can change: the cause and the problems (id, status)."""
    return cause, tuple(sorted((p.requirement_id, p.status) for p in problems))


def current_root(session: Session, incident_id: int) -> RootMessage | None:
    """The newest message that says what the incident's root shows (the opening alert, or a
    later change of it), None if it has none: what a re-render of the root (an
    acknowledgement) must show, so it never puts an older truth back."""
    for row in reversed(incident_messages_of(session, incident_id, kinds=ROOT_KINDS)):
        try:
            message = read_message(row.kind, row.payload)
        except UnreadableMessage:
            continue
        if isinstance(message, RootMessage):
            return message
    return None


def _last_said_at(session: Session, incident: Incident) -> datetime | None:
    said = incident_messages_of(session, incident.id, kinds=(HOLD_ENDED,))
    return said[-1].created_at if said else None


def _count(session: Session, incident: Incident, kind: str) -> int:
    return len(incident_messages_of(session, incident.id, kinds=(kind,)))


def _hold_note(session: Session, org: Org, held: str | None, now: datetime) -> HoldNote | None:
    """What held the incident's messages, for the message that ends the hold: a mute with who
    and until when (the org's columns, or, after an unmute cleared them, the audit log)."""
    if held == HELD_PLATFORM:
        return HoldNote(reason=HELD_PLATFORM)
    if held != HELD_MUTED:
        return None
    if org.muted_by:
        return HoldNote(reason=HELD_MUTED, by=org.muted_by, until=org.mute_until)
    last = last_mute(session, org.key, at=now)
    by, until = last if last is not None else (None, None)
    return HoldNote(reason=HELD_MUTED, by=by, until=until)


def _about(org: Org, incident: Incident, report: CheckReport, cause: str | None) -> dict:
    return incident_fields(
        org_key=org.key,
        display_name=org.display_name,
        environment=org.environment,
        channel=org.alert_channel,
        report=report,
        opened_at=incident.opened_at,
        cause=cause,
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
