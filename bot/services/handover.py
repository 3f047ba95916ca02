"""The customer-success handover note: every fact about one org, gathered from the database
into a typed, language-free note that the renderers (Slack blocks, Markdown) put into words.

Nothing here asks AFAS: the setup state is the latest check run's stored items, so a note can
be made while AFAS is down, and it says how old its facts are. The token is never read out:
the note has its fingerprint, whether the bot's keys can decrypt it (a yes or no) and its expiry
as the latest check saw it in ``/metainfo``.

The decisions are pure functions, tested without a database or a clock:

- ``who_acts``: who must act on a requirement that is not met, from a small explicit table;
- ``guide_sections``: the items grouped by the guide section where they are completed;
- ``availability``: time-weighted over the window. Each check's state holds from its start until
  the next check, but at most ``hold`` (two check intervals): time without a recent check is
  left out rather than guessed. Available means healthy or degraded (the integration works;
  degraded is a warning or something not determinable), unavailable failing or unreachable;
- ``day_strip``: one square per day in the bot's time zone, from that day's checks: all
  available (green), some not (yellow), more than half not (red), no check (white).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from afas.profile import LocalText
from afas.report import ItemStatus
from bot.runtime import Runtime
from storage.audit import audit_events
from storage.checks import org_history
from storage.exports import latest_export_run
from storage.handover import CompactedDay, CompactedHistory, check_states, compacted_history
from storage.incidents import org_incidents
from storage.models import CheckRun, ExportRun, Incident, Org
from storage.orgs import DEFAULT_CHECK_INTERVAL_SECONDS, effective_interval, get_org

WINDOW = timedelta(days=30)
STRIP_DAYS = 30
AVAILABLE_STATES = frozenset({"healthy", "degraded"})
#: Facts older than this many check intervals (and at least an hour) mean the checks stopped.
STALE_INTERVALS = 3
#: A check's state counts for at most this many check intervals (see the module docstring).
HOLD_INTERVALS = 2
#: Of an org none of whose runs were compacted yet.
NO_COMPACTED_HISTORY = CompactedHistory()


class Actor(StrEnum):
    """Who must act on what is still missing."""

    CUSTOMER = "customer"  # the customer's AFAS administrator, in their environment
    HELPDESK = "helpdesk"  # us: our registration, our keys, our channel, a test export
    NOBODY = "nobody"  # done, or nothing anyone can check through the API


class Square(StrEnum):
    """One day of the strip (see ``day_strip``)."""

    GOOD = "good"
    SOME_BAD = "some_bad"
    MOSTLY_BAD = "mostly_bad"
    NO_CHECKS = "no_checks"


# -- who must act: the table ---------------------------------------------------------------

#: (kind, finding) of items whose fix is on our side, whatever their status.
_OURS_BY_FINDING = frozenset(
    {
        # the token is of another environment than we registered: we registered it wrong,
        # or must register the org with the right environment number and kind
        ("environment_match", "mismatch"),
        # AFAS gave a token expiry we cannot read: we look at it, the customer cannot help
        ("token_expiry", "unreadable"),
    }
)
#: Findings that mean AFAS did not (readably) answer: nothing for the customer to do; we
#: watch afasstatus.nl and the next check.
_AFAS_SIDE_FINDINGS = frozenset({"afas_unavailable", "malformed"})
#: Requirements the API cannot show but we can settle: a live test export shows guide §1.2.9.
_OURS_NOT_CHECKABLE = frozenset({"dossier-item-type"})


def who_acts(requirement_id: str, kind: str, status: ItemStatus, finding: str) -> Actor:
    """Who must act on one item of a check report (``Actor.NOBODY`` when it is met)."""
    if status is ItemStatus.OK:
        return Actor.NOBODY
    if status is ItemStatus.NOT_CHECKABLE:
        return Actor.HELPDESK if requirement_id in _OURS_NOT_CHECKABLE else Actor.NOBODY
    if (kind, finding) in _OURS_BY_FINDING or finding in _AFAS_SIDE_FINDINGS:
        return Actor.HELPDESK
    # failing, a warning, or not determined because AFAS refused the token, the App Connector
    # or our IP address: all of those are fixed in the customer's environment
    return Actor.CUSTOMER


# -- the note ------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoteItem:
    """One requirement as the latest check (or a live test export) found it."""

    requirement_id: str
    kind: str
    status: ItemStatus
    finding: str
    guide_section: str
    title: LocalText
    found: LocalText
    fix: LocalText | None
    actor: Actor
    from_export: bool = False  # settled by the live test export, not by the check


_STATUS_ORDER = {
    ItemStatus.FAILING: 0,
    ItemStatus.WARNING: 1,
    ItemStatus.UNKNOWN: 2,
    ItemStatus.NOT_CHECKABLE: 3,
    ItemStatus.OK: 4,
}


@dataclass(frozen=True)
class GuideSection:
    """The items the guide completes in one section (``1.2.3``)."""

    section: str
    items: tuple[NoteItem, ...]

    @property
    def status(self) -> ItemStatus:
        """The worst status among the items."""
        return min((item.status for item in self.items), key=_STATUS_ORDER.__getitem__)

    @property
    def ok(self) -> int:
        return sum(item.status is ItemStatus.OK for item in self.items)

    @property
    def open_items(self) -> tuple[NoteItem, ...]:
        """What is not met, worst first."""
        return tuple(
            sorted(
                (item for item in self.items if item.status is not ItemStatus.OK),
                key=lambda item: _STATUS_ORDER[item.status],
            )
        )

    @property
    def actors(self) -> tuple[Actor, ...]:
        """Who must act on this section, the customer first; empty when nobody must."""
        found = {item.actor for item in self.items} - {Actor.NOBODY}
        return tuple(actor for actor in (Actor.CUSTOMER, Actor.HELPDESK) if actor in found)


@dataclass(frozen=True)
class HelpdeskTask:
    """Something on our side that is not as it should be; ``code`` names its text."""

    code: str
    values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IncidentSpan:
    opened_at: datetime
    closed_at: datetime | None
    acknowledged_by: str | None
    duration: timedelta  # until closed, or until the note's time when still open

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


@dataclass(frozen=True)
class Availability:
    available: timedelta
    covered: timedelta  # the time the checks cover (see the module docstring)
    window: timedelta
    hold: timedelta

    @property
    def ratio(self) -> float | None:
        if self.covered <= timedelta(0):
            return None
        return self.available / self.covered


@dataclass(frozen=True)
class Day:
    day: date
    checks: int
    unavailable: int

    @property
    def square(self) -> Square:
        if self.checks == 0:
            return Square.NO_CHECKS
        if self.unavailable == 0:
            return Square.GOOD
        if self.unavailable * 2 > self.checks:
            return Square.MOSTLY_BAD
        return Square.SOME_BAD


@dataclass(frozen=True)
class TokenExpiry:
    """``kind``: ``date`` (``at`` is set), ``none`` (the token does not expire) or ``unknown``."""

    kind: str
    at: datetime | None = None


@dataclass(frozen=True)
class ExportSummary:
    run_id: str
    mode: str  # dry_run or live
    requested_by: str
    started_at: datetime
    finished_at: datetime | None  # None: still running, or its clean-up is owed
    overall: str | None  # ok, failing, unreachable
    headline: LocalText | None


@dataclass(frozen=True)
class MuteInfo:
    until: datetime
    by: str | None


@dataclass(frozen=True)
class HandoverNote:
    key: str
    display_name: str
    env_number: str
    env_kind: str
    cs_owner: str | None
    notes: str
    alert_channel: str | None
    created_by: str
    created_at: datetime
    token_fingerprint: str
    token_replaced_at: datetime | None
    token_readable: bool | None  # None: not verified (no token keys at hand)
    token_expiry: TokenExpiry
    checked_at: datetime | None  # the latest check: how old the facts are
    state: str | None  # the latest check's overall state
    sections: tuple[GuideSection, ...]
    tasks: tuple[HelpdeskTask, ...]
    incidents: tuple[IncidentSpan, ...]  # newest first
    availability: Availability
    days: tuple[Day, ...]  # oldest first, today last
    export: ExportSummary | None
    mute: MuteInfo | None
    now: datetime
    timezone: str


# -- pure pieces ---------------------------------------------------------------------------


def section_of(guide_section: str) -> str:
    """The section an item is completed in: the last one named (``1.1, 1.2.3`` is done in
    1.2.3, after the import of 1.1)."""
    parts = [part.strip() for part in guide_section.split(",") if part.strip()]
    return parts[-1] if parts else "?"


def section_order(section: str) -> tuple[tuple[int, ...], str]:
    """``1 (2)`` < ``1.1`` < ``1.2`` < ``1.2.3`` < ``1.2.10``."""
    head, _, tail = section.partition(" ")
    numbers = tuple(int(n) for n in re.findall(r"\d+", head))
    return numbers, tail


def note_items(items: Iterable[Mapping[str, Any]]) -> list[NoteItem]:
    """A check run's stored items as note items, each with who must act."""
    out = []
    for raw in items:
        status = ItemStatus(raw.get("status", ItemStatus.UNKNOWN.value))
        requirement_id = str(raw.get("requirement_id", ""))
        kind, finding = str(raw.get("kind", "")), str(raw.get("finding", ""))
        out.append(
            NoteItem(
                requirement_id=requirement_id,
                kind=kind,
                status=status,
                finding=finding,
                guide_section=str(raw.get("guide_section", "")),
                title=_text(raw.get("title")) or LocalText(nl=requirement_id, en=requirement_id),
                found=_text(raw.get("found")) or LocalText(nl="?", en="?"),
                fix=_text(raw.get("fix")),
                actor=who_acts(requirement_id, kind, status, finding),
            )
        )
    return out


def with_live_export(items: list[NoteItem], export: ExportRun | None) -> list[NoteItem]:
    """A requirement the API cannot show, settled by the latest live test export (guide §1.2.9:
    AFAS's answer to the dossier item step): its verdict replaces "cannot be checked"."""
    if export is None or export.mode != "live" or not export.report:
        return items
    verdicts = {}
    for check in export.report.get("checks") or []:
        if check.get("status") in ("ok", "failing"):
            verdicts[str(check.get("guide_section", ""))] = check
    out = []
    for item in items:
        check = verdicts.get(item.guide_section)
        if item.status is not ItemStatus.NOT_CHECKABLE or check is None:
            out.append(item)
            continue
        status = ItemStatus.OK if check["status"] == "ok" else ItemStatus.FAILING
        out.append(
            NoteItem(
                requirement_id=item.requirement_id,
                kind=item.kind,
                status=status,
                finding=f"export_{check['status']}",
                guide_section=item.guide_section,
                title=item.title,
                found=_text(check.get("found")) or item.found,
                fix=_text(check.get("fix")) if status is ItemStatus.FAILING else None,
                actor=Actor.NOBODY if status is ItemStatus.OK else Actor.CUSTOMER,
                from_export=True,
            )
        )
    return out


def guide_sections(items: Iterable[NoteItem]) -> tuple[GuideSection, ...]:
    """The items grouped by the section they are completed in, in the guide's order."""
    grouped: dict[str, list[NoteItem]] = defaultdict(list)
    for item in items:
        grouped[section_of(item.guide_section)].append(item)
    return tuple(
        GuideSection(section, tuple(grouped[section]))
        for section in sorted(grouped, key=section_order)
    )


def token_expiry(items: Iterable[Mapping[str, Any]]) -> TokenExpiry:
    """The token's expiry as the latest check read it from ``/metainfo`` (``tokenExpiry``,
    in the stored ``token_expiry`` item); unknown without such an item or a readable date."""
    for item in items:
        if item.get("kind") != "token_expiry":
            continue
        if item.get("finding") == "none":
            return TokenExpiry("none")
        expires = (item.get("details") or {}).get("expires_at")
        if isinstance(expires, str):
            try:
                return TokenExpiry("date", datetime.fromisoformat(expires))
            except ValueError:
                pass
        break
    return TokenExpiry("unknown")


def incident_spans(incidents: Iterable[Incident], *, now: datetime) -> tuple[IncidentSpan, ...]:
    """Each incident with how long it lasted (open ones: so far), newest first."""
    spans = [
        IncidentSpan(
            opened_at=i.opened_at,
            closed_at=i.closed_at,
            acknowledged_by=i.acknowledged_by,
            duration=max(timedelta(0), (i.closed_at or now) - i.opened_at),
        )
        for i in incidents
    ]
    return tuple(sorted(spans, key=lambda span: span.opened_at, reverse=True))


def availability(
    states: Sequence[tuple[datetime, str]],
    *,
    since: datetime,
    until: datetime,
    hold: timedelta,
    spans: Iterable[tuple[datetime, datetime, str]] = (),
) -> Availability:
    """Time-weighted availability in ``[since, until]``: see the module docstring.
    ``states`` are ``(started_at, overall_state)``, oldest first (one before ``since`` may
    lead: its state holds into the window). ``spans`` are the compacted runs' (storage
    .retention: ``(start, end, state)``, the same rule applied when they were compacted),
    counted for the part inside the window; they never overlap the runs kept in full."""
    available = covered = timedelta(0)
    for start, end, state in spans:
        part = min(end, until) - max(start, since)
        if part <= timedelta(0):
            continue
        covered += part
        if state in AVAILABLE_STATES:
            available += part
    ordered = sorted(states, key=lambda row: row[0])
    for index, (at, state) in enumerate(ordered):
        following = ordered[index + 1][0] if index + 1 < len(ordered) else until
        start = max(at, since)
        end = min(following, at + hold, until)
        if end <= start:
            continue
        covered += end - start
        if state in AVAILABLE_STATES:
            available += end - start
    return Availability(available=available, covered=covered, window=until - since, hold=hold)


def day_strip(
    states: Iterable[tuple[datetime, str]],
    *,
    until: datetime,
    zone: ZoneInfo,
    days: int = STRIP_DAYS,
    compacted: Iterable[CompactedDay] = (),
) -> tuple[Day, ...]:
    """The last ``days`` days in ``zone``, today last, each with its checks (see ``Day``):
    the runs kept in full and the ``compacted`` days' counts (days in the bot's zone too)."""
    today = until.astimezone(zone).date()
    first = today - timedelta(days=days - 1)
    start = datetime.combine(first, time(0), tzinfo=zone)
    counts: dict[date, list[int]] = {first + timedelta(days=n): [0, 0] for n in range(days)}
    for at, state in states:
        if at < start or at > until:
            continue
        day = counts.get(at.astimezone(zone).date())
        if day is None:
            continue
        day[0] += 1
        day[1] += state not in AVAILABLE_STATES
    for row in compacted:
        day = counts.get(row.day)
        if day is None:
            continue
        day[0] += row.checks
        day[1] += row.checks - sum(row.by_state.get(state, 0) for state in AVAILABLE_STATES)
    return tuple(Day(day, checks, bad) for day, (checks, bad) in sorted(counts.items()))


def helpdesk_tasks(
    org: Org,
    *,
    latest: CheckRun | None,
    token_readable: bool | None,
    incidents: Sequence[IncidentSpan],
    default_alert_channel: str | None,
    now: datetime,
    default_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS,
) -> tuple[HelpdeskTask, ...]:
    """What is not as it should be on our side (the helpdesk acts on each)."""
    tasks: list[HelpdeskTask] = []
    if token_readable is False:
        tasks.append(HelpdeskTask("token_unreadable"))
    if latest is None:
        tasks.append(HelpdeskTask("never_checked", {"key": org.key}))
    else:
        interval = timedelta(seconds=effective_interval(org, default_interval_seconds))
        if now - latest.started_at > max(STALE_INTERVALS * interval, timedelta(hours=1)):
            tasks.append(HelpdeskTask("stale", {"since": latest.started_at}))
    if not org.alert_channel:
        if default_alert_channel:
            tasks.append(HelpdeskTask("alerts_default", {"channel": default_alert_channel}))
        else:
            tasks.append(HelpdeskTask("no_alert_channel", {"key": org.key}))
    if not org.cs_owner:
        tasks.append(HelpdeskTask("no_owner", {"key": org.key}))
    for span in incidents:
        if span.is_open and not span.acknowledged_by:
            tasks.append(HelpdeskTask("unacknowledged", {"since": span.opened_at}))
    return tuple(tasks)


def export_summary(run: ExportRun | None) -> ExportSummary | None:
    if run is None:
        return None
    return ExportSummary(
        run_id=run.run_id,
        mode=run.mode,
        requested_by=run.requested_by,
        started_at=run.started_at,
        finished_at=run.finished_at,
        overall=run.overall,
        headline=_text((run.report or {}).get("headline")),
    )


def _text(value: Any) -> LocalText | None:
    if isinstance(value, LocalText):
        return value
    if isinstance(value, Mapping) and value.get("nl") and value.get("en"):
        return LocalText(nl=str(value["nl"]), en=str(value["en"]))
    return None


# -- gathering -----------------------------------------------------------------------------


def load_note(runtime: Runtime, key: str, *, now: datetime) -> HandoverNote:
    """The note of one org (``UnknownOrgError`` for an unknown key), from the database only.
    Runs the storage part in the caller's thread: from async code, via ``asyncio.to_thread``."""
    settings = runtime.settings
    with runtime.session() as session:
        org = get_org(session, key)
        history = org_history(session, org.key, limit=1)
        latest = history[0] if history else None
        since = now - WINDOW
        states = check_states(session, org.id, since=since, until=now)
        compacted = compacted_history(session, org.id, since=since, until=now)
        incidents = org_incidents(session, org.key, since=since)
        export = latest_export_run(session, org.key)
        events = audit_events(session, org_key=org.key, limit=200)
        return build_note(
            org,
            latest=latest,
            states=states,
            compacted=compacted,
            incidents=incidents,
            export=export,
            token_replaced_at=next(
                (e.at for e in events if e.action == "org.token_replaced"), None
            ),
            token_readable=(
                runtime.cipher.can_decrypt(org.token_ciphertext) if runtime.cipher else None
            ),
            default_alert_channel=settings.slack_default_alert_channel,
            timezone=settings.timezone,
            now=now,
            default_interval_seconds=settings.check_interval_seconds,
        )


def build_note(
    org: Org,
    *,
    latest: CheckRun | None,
    states: Sequence[tuple[datetime, str]],
    compacted: CompactedHistory = NO_COMPACTED_HISTORY,
    incidents: Iterable[Incident],
    export: ExportRun | None,
    token_replaced_at: datetime | None,
    token_readable: bool | None,
    default_alert_channel: str | None,
    timezone: str,
    now: datetime,
    default_interval_seconds: int = DEFAULT_CHECK_INTERVAL_SECONDS,
) -> HandoverNote:
    """The note from what storage gave (pure: no session, no clock)."""
    zone = ZoneInfo(timezone)
    items = with_live_export(note_items(latest.items if latest else []), export)
    spans = incident_spans(incidents, now=now)
    hold = HOLD_INTERVALS * timedelta(seconds=effective_interval(org, default_interval_seconds))
    return HandoverNote(
        key=org.key,
        display_name=org.display_name,
        env_number=org.env_number,
        env_kind=org.env_kind,
        cs_owner=org.cs_owner,
        notes=org.notes or "",
        alert_channel=org.alert_channel,
        created_by=org.created_by,
        created_at=org.created_at,
        token_fingerprint=org.token_fingerprint,
        token_replaced_at=token_replaced_at,
        token_readable=token_readable,
        token_expiry=token_expiry(latest.items if latest else []),
        checked_at=latest.started_at if latest else None,
        state=latest.overall_state if latest else None,
        sections=guide_sections(items),
        tasks=helpdesk_tasks(
            org,
            latest=latest,
            token_readable=token_readable,
            incidents=spans,
            default_alert_channel=default_alert_channel,
            now=now,
            default_interval_seconds=default_interval_seconds,
        ),
        incidents=spans,
        availability=availability(
            states, since=now - WINDOW, until=now, hold=hold, spans=compacted.spans
        ),
        days=day_strip(states, until=now, zone=zone, compacted=compacted.days),
        export=export_summary(export),
        mute=MuteInfo(org.mute_until, org.muted_by) if org.is_muted(now) else None,
        now=now,
        timezone=timezone,
    )
