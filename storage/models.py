"""The tables (sqlmodel). The schema itself is owned by the alembic migrations in
``storage/migrations``; a test checks that both say the same thing.

Conventions: integer surrogate keys; every datetime is a timezone-aware UTC ``UTCDateTime``;
enumerations are stored as short strings (validated in the repository, no database enum types,
so adding a value needs no migration); JSON columns use SQLAlchemy's portable ``JSON``.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Index, Integer, MetaData, String, Text, false, text
from sqlalchemy.orm import registry
from sqlmodel import Field, SQLModel

from afas.environments import AfasEnvironment, EnvironmentKind
from storage.datetimes import UTCDateTime

#: Deterministic constraint names, so later migrations (SQLite batch mode too) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: The metadata of afasbot's tables only (not the process-wide ``SQLModel.metadata``).
metadata = MetaData(naming_convention=NAMING_CONVENTION)


class StorageModel(SQLModel, registry=registry(metadata=metadata)):
    """Base of afasbot's tables: binds them to ``metadata`` above."""


# Column sizes, shared with the repository's validation.
ORG_KEY_MAX = 40
ACTOR_MAX = 200
NAME_MAX = 200
SLACK_ID_MAX = 64


class CheckTrigger(StrEnum):
    SCHEDULE = "schedule"
    COMMAND = "command"
    REGISTRATION = "registration"
    CLI = "cli"
    EXPORT = "export"
    WATCH = "watch"


class OrgState(StrEnum):
    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"
    UNREACHABLE = "unreachable"


class Org(StorageModel, table=True):
    """A customer organisation: its AFAS environment, its encrypted token, its schedule."""

    __tablename__ = "orgs"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(sa_type=String(ORG_KEY_MAX), unique=True)
    display_name: str = Field(sa_type=String(NAME_MAX))
    env_number: str = Field(sa_type=String(9))
    env_kind: str = Field(sa_type=String(16))
    # Fernet token (MultiFernet, url-safe base64, starts with "gAAAAA"); a later scheme can be
    # told apart by a prefix such as "v2:", which a Fernet token never has.
    token_ciphertext: str = Field(sa_type=Text)
    token_key_id: str = Field(sa_type=String(8))
    token_fingerprint: str = Field(sa_type=String(16))
    alert_channel: str | None = Field(default=None, sa_type=String(SLACK_ID_MAX))
    cs_owner: str | None = Field(default=None, sa_type=String(NAME_MAX))
    notes: str = Field(default="", sa_type=Text)
    # None: no interval of its own, the default (AFASBOT_CHECK_INTERVAL_SECONDS) applies.
    check_interval_seconds: int | None = Field(default=None, sa_type=Integer)
    next_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    lease_owner: str | None = Field(default=None, sa_type=String(ACTOR_MAX))
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    mute_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    muted_by: str | None = Field(default=None, sa_type=String(ACTOR_MAX))
    current_state: str | None = Field(default=None, sa_type=String(16))
    last_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_deep_check_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(sa_type=String(ACTOR_MAX))
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_by: str = Field(sa_type=String(ACTOR_MAX))
    updated_at: datetime = Field(sa_type=UTCDateTime)

    @property
    def environment(self) -> AfasEnvironment:
        return AfasEnvironment(self.env_number, EnvironmentKind(self.env_kind))

    def is_muted(self, now: datetime) -> bool:
        return self.mute_until is not None and self.mute_until > now

    def __repr__(self) -> str:  # the ciphertext stays out of logs and tracebacks
        return f"Org(id={self.id!r}, key={self.key!r}, fingerprint={self.token_fingerprint!r})"

    __str__ = __repr__


class CheckRun(StorageModel, table=True):
    """One check of one org: when, why, how long, and the report's items.

    The items (about 12 KB) are stored only when they differ from the org's previous run's:
    an unchanged run has ``items_shared`` set, ``items`` None (JSON ``null``) and the same
    ``items_digest`` as a run of the same org that holds them (``storage.checks``: the readers
    find them there; ``storage.retention`` keeps one such run while any run shares it).
    ``items_digest`` is None for runs stored before revision 0007: they hold their items.
    """

    __tablename__ = "check_runs"
    __table_args__ = (
        Index("ix_check_runs_org_id_started_at", "org_id", "started_at"),
        # The runs that hold items, by content: where a shared run's items are found.
        Index(
            "ix_check_runs_items_held",
            "org_id",
            "items_digest",
            sqlite_where=text("items_shared = 0"),
            postgresql_where=text("NOT items_shared"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", ondelete="CASCADE")
    trigger: str = Field(sa_type=String(16))
    started_at: datetime = Field(sa_type=UTCDateTime)
    duration_ms: int = Field(sa_type=Integer)
    overall_state: str = Field(sa_type=String(16))
    items: list[dict[str, Any]] | None = Field(default_factory=list, sa_type=JSON, nullable=False)
    summary: str = Field(default="", sa_type=Text)
    items_digest: str | None = Field(default=None, sa_type=String(16))
    items_shared: bool = Field(
        default=False, sa_type=Boolean, sa_column_kwargs={"server_default": false()}
    )


class CheckDay(StorageModel, table=True):
    """One org's compacted checks of one day (``storage.retention``): what the history, the
    handover note's day strip and its availability need once the runs themselves are gone.

    ``day`` is a day in the time zone the compaction ran with (the bot's). ``spans`` is the time
    the day's checks covered, as ``[start, end, state]`` with start and end in epoch seconds:
    each check's state held until the next check started, but at most ``hold`` (a number of
    check intervals); touching spans of one state are merged, so a change of state or a gap in
    the checks starts a new span. A span may run past midnight: it belongs to the day of the
    check that started it.
    """

    __tablename__ = "check_days"
    __table_args__ = (Index("ix_check_days_org_id_day", "org_id", "day", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", ondelete="CASCADE")
    day: date = Field(sa_type=Date)
    checks: int = Field(default=0, sa_type=Integer)
    healthy: int = Field(default=0, sa_type=Integer)
    degraded: int = Field(default=0, sa_type=Integer)
    failing: int = Field(default=0, sa_type=Integer)
    unreachable: int = Field(default=0, sa_type=Integer)
    first_at: datetime = Field(sa_type=UTCDateTime)
    first_state: str = Field(sa_type=String(16))
    last_at: datetime = Field(sa_type=UTCDateTime)
    last_state: str = Field(sa_type=String(16))
    spans: list[list[Any]] = Field(default_factory=list, sa_type=JSON)


class Incident(StorageModel, table=True):
    """An alert episode of one org, from opening to closing, with its Slack message."""

    __tablename__ = "incidents"
    __table_args__ = (
        # At most one open incident per org and kind, enforced by the database so that two
        # replicas cannot both open one; also the index for "open incidents".
        Index(
            "ix_incidents_open",
            "org_id",
            "kind",
            unique=True,
            sqlite_where="closed_at IS NULL",
            postgresql_where="closed_at IS NULL",
        ),
        Index("ix_incidents_org_id_opened_at", "org_id", "opened_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", ondelete="CASCADE")
    kind: str = Field(sa_type=String(40))
    opened_at: datetime = Field(sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, sa_type=String(ACTOR_MAX))
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    slack_channel: str | None = Field(default=None, sa_type=String(SLACK_ID_MAX))
    slack_ts: str | None = Field(default=None, sa_type=String(32))
    # What broke (bot.alerting.causes.Cause), kept current while the incident is open.
    cause: str | None = Field(default=None, sa_type=String(40))
    # Why its messages are held ("muted", "platform"); None: they go out.
    held: str | None = Field(default=None, sa_type=String(16))
    # When its opening message was written to the outbox (None: never announced).
    announced_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class AuditEvent(StorageModel, table=True):
    """Who did what, when, to which org. ``org_key`` is text so it outlives the org."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_org_key_at", "org_key", "at"),)

    id: int | None = Field(default=None, primary_key=True)
    actor: str = Field(sa_type=String(ACTOR_MAX))
    action: str = Field(sa_type=String(64))
    org_key: str | None = Field(default=None, sa_type=String(ORG_KEY_MAX))
    at: datetime = Field(sa_type=UTCDateTime, index=True)
    details: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)


class OutboxMessage(StorageModel, table=True):
    """A notification written before it is sent (transactional outbox), once per dedup_key."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_pending",
            "not_before",
            sqlite_where="sent_at IS NULL",
            postgresql_where="sent_at IS NULL",
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    org_id: int | None = Field(default=None, foreign_key="orgs.id", ondelete="SET NULL", index=True)
    incident_id: int | None = Field(
        default=None, foreign_key="incidents.id", ondelete="SET NULL", index=True
    )
    kind: str = Field(sa_type=String(40))
    payload: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    dedup_key: str = Field(sa_type=String(200), unique=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    not_before: datetime = Field(sa_type=UTCDateTime)
    attempts: int = Field(default=0, sa_type=Integer)
    lease_owner: str | None = Field(default=None, sa_type=String(ACTOR_MAX))
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, sa_type=Text)
    # Slack refused it for good (channel_not_found, is_archived...): never retried.
    given_up_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ExportRun(StorageModel, table=True):
    """One test export of one org: who asked, the mode, the report, and (live) its lease.

    A live run holds a lease while it writes (``storage.leases`` vocabulary), renewed at each
    step, and stays unfinished until its records are removed or listed: a partial unique index
    allows one unfinished live run per org, so two replicas never write test records for the
    same org at once, and a crashed run blocks the next until ``cleanup`` finishes it.
    ``org_key`` is text so the run (and what it left behind) outlives the org.
    """

    __tablename__ = "export_runs"
    __table_args__ = (
        Index(
            "ix_export_runs_live_unfinished",
            "org_id",
            unique=True,
            sqlite_where="mode = 'live' AND finished_at IS NULL",
            postgresql_where="mode = 'live' AND finished_at IS NULL",
        ),
        Index("ix_export_runs_org_key_started_at", "org_key", "started_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    run_id: str = Field(sa_type=String(16), unique=True)
    org_id: int | None = Field(default=None, foreign_key="orgs.id", ondelete="SET NULL")
    org_key: str = Field(sa_type=String(ORG_KEY_MAX))
    mode: str = Field(sa_type=String(16))
    requested_by: str = Field(sa_type=String(ACTOR_MAX))
    started_at: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    overall: str | None = Field(default=None, sa_type=String(16))
    report: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    lease_owner: str | None = Field(default=None, sa_type=String(ACTOR_MAX))
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ExportRecord(StorageModel, table=True):
    """A record a live export created (or may have created) in the customer's AFAS, written
    before the export's next step starts: ``state`` is pending (about to be written), created,
    unknown (the answer was lost), removed or left_behind."""

    __tablename__ = "export_records"
    __table_args__ = (Index("ix_export_records_run_step", "run_pk", "step", unique=True),)

    id: int | None = Field(default=None, primary_key=True)
    run_pk: int = Field(foreign_key="export_runs.id", ondelete="CASCADE")
    step: int = Field(sa_type=Integer)
    connector_id: str = Field(sa_type=String(64))
    state: str = Field(sa_type=String(16))
    marker: str = Field(sa_type=String(NAME_MAX))
    key: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    reason: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    how_to_remove: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    updated_at: datetime = Field(sa_type=UTCDateTime)


class Watch(StorageModel, table=True):
    """A live watch of one org (``/afas watch``): the one Slack message it edits in place, who
    started it and until when. One per org (unique). The replica running it holds a lease,
    renewed at every re-check; a watch whose lease ran out belongs to a process that stopped,
    and whoever finds it ends it, saying so in its message (a watch survives nothing)."""

    __tablename__ = "watches"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", ondelete="CASCADE", unique=True)
    channel: str = Field(sa_type=String(SLACK_ID_MAX))
    ts: str | None = Field(default=None, sa_type=String(32))
    language: str = Field(default="en", sa_type=String(8))
    started_by: str = Field(sa_type=String(ACTOR_MAX))
    started_at: datetime = Field(sa_type=UTCDateTime)
    ends_at: datetime = Field(sa_type=UTCDateTime)
    lease_owner: str | None = Field(default=None, sa_type=String(ACTOR_MAX))
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ConnectorBaseline(StorageModel, table=True):
    """An org's connectors as its first healthy deep check found them (or as an agent accepted
    them since): each connector's fields and types, the reference drift is measured against.
    While a later deep check differs, ``latest`` holds what it found, ``drift`` the difference
    and ``drift_channel``/``drift_ts`` the warning posted about it."""

    __tablename__ = "connector_baselines"

    id: int | None = Field(default=None, primary_key=True)
    org_id: int = Field(foreign_key="orgs.id", ondelete="CASCADE", unique=True)
    fields: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)
    taken_at: datetime = Field(sa_type=UTCDateTime)
    taken_by: str = Field(sa_type=String(ACTOR_MAX))
    latest: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    drift: dict[str, Any] | None = Field(default=None, sa_type=JSON)
    drift_found_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    drift_channel: str | None = Field(default=None, sa_type=String(SLACK_ID_MAX))
    drift_ts: str | None = Field(default=None, sa_type=String(32))


TABLES = (
    Org,
    CheckRun,
    CheckDay,
    Incident,
    AuditEvent,
    OutboxMessage,
    ExportRun,
    ExportRecord,
    Watch,
    ConnectorBaseline,
)
