"""The outbox's messages, typed: what the alert record writes, the sender reads, and the alert
builders and buttons render. One model per kind.

A message may be written by one replica and sent by another running a different version (a
rolling upgrade), so the models are tolerant both ways: ``version`` says which shape wrote
it, a field added later has a default (an older message still reads), and a field a newer
replica added is ignored (a newer message still reads). Never the token: only the report's
texts and ids.

The rules that keep it so: a new field always has a default; a field's meaning never changes
without ``CURRENT_VERSION`` rising; a new kind is a new model, added to ``OutboxPayload``
(a replica older than the kind cannot read it: its delivery logs and drops it, so during a
rolling upgrade a change of cause, of problems or the end of a mute may go unsaid by an older
sender; the root is written again by the next change or the recovery). A value this replica
does not know inside a known field (a newer cause) is shown as "unknown", never refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from afas.environments import AfasEnvironment, EnvironmentKind
from afas.profile import LocalText
from afas.report import CheckReport, ItemStatus, ReportItem
from bot.alerting.acknowledgement import IncidentAcknowledged
from bot.alerting.connectivity import BotOffline, BotOnline
from bot.alerting.delivery_notice import DeliveryFailed
from bot.alerting.digest import DailyDigest
from bot.alerting.drift import DriftCleared, DriftFound
from bot.alerting.expiry import TokenExpiring

#: The shape this code writes. Raise it when a field's meaning changes (adding one with a
#: default does not need it); the reader then knows which shape it holds.
CURRENT_VERSION = 1
MAX_PROBLEMS = 10
# The kinds, as stored in the outbox's ``kind`` column.
OPENED = "incident.opened"
RESOLVED = "incident.resolved"
REMINDER = "incident.reminder"
PLATFORM_DOWN = "platform.down"
PLATFORM_UP = "platform.up"
ORG_REMOVED = "org.removed"
CAUSE_CHANGED = "incident.cause_changed"
PROBLEMS_CHANGED = "incident.problems_changed"
HOLD_ENDED = "incident.hold_ended"
#: Why an incident's messages were held (``Incident.held``).
HELD_MUTED = "muted"
HELD_PLATFORM = "platform"


class _Message(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    version: int = CURRENT_VERSION


class AlertProblem(BaseModel):
    """One failing or warning item of the report, as the alert shows it."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    requirement_id: str = ""
    status: str = ""
    guide_section: str = ""
    title: LocalText
    found: LocalText
    fix: LocalText | None = None

    @classmethod
    def of(cls, item: ReportItem) -> AlertProblem:
        return cls(
            requirement_id=item.requirement_id,
            status=item.status.value,
            guide_section=item.guide_section,
            title=item.title,
            found=item.found,
            fix=item.fix,
        )


class _IncidentMessage(_Message):
    """What every message about an org's incident carries, so it can be written (and written
    again) without the check that caused it."""

    org_key: str
    display_name: str
    environment: str  # the English label, as version 1 wrote it
    env_number: str | None = None  # added later: the label in the reader's language
    env_kind: str | None = None
    channel: str | None = None
    overall: str
    headline: LocalText
    problems: tuple[AlertProblem, ...] = ()
    opened_at: datetime
    cause: str | None = None  # added later: bot.alerting.causes.Cause, as the root shows it

    @property
    def org_name(self) -> str:
        return f"{self.display_name} ({self.org_key})"

    def environment_in(self, language: str) -> str:
        """The environment's label in ``language`` (a message without the parts: as stored)."""
        if self.env_number and self.env_kind in EnvironmentKind._value2member_map_:
            return AfasEnvironment(self.env_number, EnvironmentKind(self.env_kind)).label_in(
                language
            )
        return self.environment


class HoldNote(BaseModel):
    """Why an incident's messages were held, and (for a mute) who muted and until when."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    reason: str  # HELD_MUTED or HELD_PLATFORM
    by: str | None = None  # who muted (a Slack user id, or "cli:…")
    until: datetime | None = None  # when the mute was to end


class IncidentOpened(_IncidentMessage):
    """The root message. ``hold``: it was held when the incident opened (a mute, AFAS down
    for many orgs) and is written now that the hold is over; the root says so."""

    kind: Literal["incident.opened"] = OPENED
    hold: HoldNote | None = None


class IncidentResolved(_IncidentMessage):
    kind: Literal["incident.resolved"] = RESOLVED
    duration_seconds: int


class IncidentReminder(_IncidentMessage):
    kind: Literal["incident.reminder"] = REMINDER
    reminder: int


class _RootUpdate(_IncidentMessage):
    """A message whose delivery edits the root to show it (the current truth)."""

    acknowledged_by: str | None = None  # as the incident was when this was written


class IncidentCauseChanged(_RootUpdate):
    """The cause changed while the incident was open: the root is edited, the thread hears
    from what to what, and what to do now. ``number``: the incident's n-th cause change."""

    kind: Literal["incident.cause_changed"] = CAUSE_CHANGED
    previous_cause: str | None = None
    number: int = 1


class IncidentProblemsChanged(_RootUpdate):
    """The same cause, another set of problems (a second connector went missing, one came
    back): the root is edited, nothing is said in the thread."""

    kind: Literal["incident.problems_changed"] = PROBLEMS_CHANGED


class IncidentHoldEnded(_RootUpdate):
    """An announced incident whose messages were held (a mute) is still open when the hold
    ends: one thread reply says so, and the root shows the current truth."""

    kind: Literal["incident.hold_ended"] = HOLD_ENDED
    hold: HoldNote


class _PlatformMessage(_Message):
    checked: int
    unreachable: int
    examples: tuple[str, ...] = ()
    at: datetime
    channel: str | None = None  # added later: the ops channel when it was written


class PlatformDown(_PlatformMessage):
    kind: Literal["platform.down"] = PLATFORM_DOWN


class PlatformUp(_PlatformMessage):
    kind: Literal["platform.up"] = PLATFORM_UP
    down_since: datetime | None = None


class OrgRemoved(_Message):
    """An org was removed while an incident of it was open: its alert (already posted) says so
    and the thread hears who did it. Self-contained: the incident row is deleted with the org,
    so the message carries the alert's channel and ts itself."""

    kind: Literal["org.removed"] = ORG_REMOVED
    org_key: str
    display_name: str
    env_number: str | None = None
    env_kind: str | None = None
    channel: str
    ts: str
    removed_by: str
    removed_at: datetime
    opened_at: datetime | None = None

    @property
    def org_name(self) -> str:
        return f"{self.display_name} ({self.org_key})"

    def environment_in(self, language: str) -> str | None:
        if self.env_number and self.env_kind in EnvironmentKind._value2member_map_:
            return AfasEnvironment(self.env_number, EnvironmentKind(self.env_kind)).label_in(
                language
            )
        return None


OutboxPayload = Annotated[
    IncidentOpened
    | IncidentResolved
    | IncidentReminder
    | IncidentCauseChanged
    | IncidentProblemsChanged
    | IncidentHoldEnded
    | PlatformDown
    | PlatformUp
    | OrgRemoved
    | DailyDigest
    | IncidentAcknowledged
    | DeliveryFailed
    | TokenExpiring
    | DriftFound
    | DriftCleared
    | BotOffline
    | BotOnline,
    Field(discriminator="kind"),
]
IncidentMessage = (
    IncidentOpened
    | IncidentResolved
    | IncidentReminder
    | IncidentCauseChanged
    | IncidentProblemsChanged
    | IncidentHoldEnded
)
#: A message that says what the root shows (the newest of these is the root's current truth).
RootMessage = IncidentOpened | IncidentCauseChanged | IncidentProblemsChanged | IncidentHoldEnded
ROOT_KINDS: tuple[str, ...] = (OPENED, CAUSE_CHANGED, PROBLEMS_CHANGED, HOLD_ENDED)
PLATFORM_KINDS: tuple[str, ...] = (PLATFORM_DOWN, PLATFORM_UP)
_ADAPTER: TypeAdapter[OutboxPayload] = TypeAdapter(OutboxPayload)


class UnreadableMessage(ValueError):
    """A stored message that no known model reads (an unknown kind, or a broken payload)."""


def read_message(kind: str, payload: dict) -> OutboxPayload:
    """The typed message of a stored row; ``UnreadableMessage`` when none fits."""
    try:
        return _ADAPTER.validate_python({**payload, "kind": kind})
    except ValueError as exc:
        raise UnreadableMessage(f"outbox message of kind {kind!r} cannot be read") from exc


def stored(message: OutboxPayload) -> dict:
    """The JSON the outbox row holds (its kind is the row's own column as well)."""
    return message.model_dump(mode="json")


def incident_fields(
    *,
    org_key: str,
    display_name: str,
    environment: AfasEnvironment,
    channel: str | None,
    report: CheckReport,
    opened_at: datetime,
    cause: str | None = None,
) -> dict:
    """The fields every incident message carries, from the org and the report."""
    problems = tuple(
        AlertProblem.of(item)
        for item in report.items
        if item.status in (ItemStatus.FAILING, ItemStatus.WARNING)
    )[:MAX_PROBLEMS]
    return {
        "org_key": org_key,
        "display_name": display_name,
        "environment": environment.label,
        "env_number": environment.number,
        "env_kind": environment.kind.value,
        "channel": channel,
        "overall": report.overall.value,
        "headline": report.headline,
        "problems": problems,
        "opened_at": opened_at,
        "cause": cause,
    }
