"""The test export's report: one item per UpdateConnector, checks, and what a live run left.

The same model serves both modes. A dry run fills ``connectors`` (template against metainfo) and
``checks`` (access, and guide §1.2.9 as ``not_checked``); a live run also fills ``created`` (every
record it made, with its key and whether it was removed), ``left_behind`` (what stays, with how
to remove it by hand) and the §1.2.9 check from AFAS's answer to the KnSubject step.
``decide_overall`` is the one rule for ``overall`` in both modes. JSON shape: ``to_dict()``
(documented in the README, issue 7 point 6).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from afas.environments import AfasEnvironment
from afas.exports.schema import SchemaFinding
from afas.exports.texts import ExportCatalogue
from afas.profile import LocalText, Profile
from afas.tokens import AfasToken


class ExportMode(StrEnum):
    DRY_RUN = "dry_run"
    LIVE = "live"


class ExportOverall(StrEnum):
    """ok: everything the export needs works. failing: AFAS answered and something the product
    needs is wrong (token refused, connector missing, template does not fit, a live write
    refused). unreachable: AFAS could not be (fully) asked: no answer, maintenance, unreadable."""

    OK = "ok"
    FAILING = "failing"
    UNREACHABLE = "unreachable"


class ConnectorStatus(StrEnum):
    OK = "ok"
    FAILING = "failing"
    UNKNOWN = "unknown"  # could not be determined this time (token refused, AFAS down)


class CheckStatus(StrEnum):
    OK = "ok"
    FAILING = "failing"
    NOT_CHECKED = "not_checked"


class Access(StrEnum):
    """Whether AFAS let the export in at all (from ``/metainfo``): the gate for the rest."""

    OPEN = "open"
    REFUSED = "refused"  # token rejected, App Connector blocked, IP not allowed
    AFAS_DOWN = "afas_down"  # no answer, maintenance, an answer we cannot read


@dataclass(frozen=True)
class ProblemItem:
    """One finding of the template comparison, with its text."""

    finding: SchemaFinding
    found: LocalText

    def to_dict(self) -> dict[str, Any]:
        return {**self.finding.to_dict(), "found": self.found.model_dump()}


@dataclass(frozen=True)
class ConnectorResult:
    connector_id: str
    requirement_id: str
    method: str  # the method the product uses: POST, or PUT (FiInvoice)
    status: ConnectorStatus
    finding: str  # a stable code: fits, missing, near_miss, not_authorised, field_unknown, ...
    guide_section: str
    found: LocalText
    fix: LocalText | None = None
    profit_log_reference: str | None = None
    problems: tuple[ProblemItem, ...] = ()
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector_id": self.connector_id,
            "requirement_id": self.requirement_id,
            "method": self.method,
            "status": self.status.value,
            "finding": self.finding,
            "guide_section": self.guide_section,
            "found": self.found.model_dump(),
            "fix": self.fix.model_dump() if self.fix else None,
            "profitLogReference": self.profit_log_reference,
            "problems": [p.to_dict() for p in self.problems],
            "details": self.details,
        }


@dataclass(frozen=True)
class ExportCheck:
    """A requirement only an export shows (guide §1.2.9), or the gate (the token)."""

    id: str
    guide_section: str
    status: CheckStatus
    title: LocalText
    found: LocalText
    fix: LocalText | None = None
    finding: str = ""
    profit_log_reference: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "guide_section": self.guide_section,
            "status": self.status.value,
            "finding": self.finding,
            "title": self.title.model_dump(),
            "found": self.found.model_dump(),
            "fix": self.fix.model_dump() if self.fix else None,
            "profitLogReference": self.profit_log_reference,
        }


@dataclass(frozen=True)
class CreatedRecord:
    """A record a live export made (its key as AFAS returned it) and whether it is gone."""

    connector_id: str
    key: dict[str, str]
    removed: bool
    step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector_id,
            "key": dict(self.key),
            "removed": self.removed,
            "step": self.step,
        }


@dataclass(frozen=True)
class LeftBehind:
    """A record that stays in the customer's AFAS, and how a person removes it."""

    connector_id: str
    key: dict[str, str]
    reason: LocalText
    how_to_remove: LocalText

    def to_dict(self) -> dict[str, Any]:
        return {
            "connector": self.connector_id,
            "key": dict(self.key),
            "reason": self.reason.model_dump(),
            "how_to_remove": self.how_to_remove.model_dump(),
        }


@dataclass(frozen=True)
class ExportReport:
    org: str
    mode: ExportMode
    env_number: str
    env_kind: str
    token_fingerprint: str
    profile: str
    started_at: datetime
    duration_ms: float
    overall: ExportOverall
    headline: LocalText
    connectors: tuple[ConnectorResult, ...]
    checks: tuple[ExportCheck, ...] = ()
    created: tuple[CreatedRecord, ...] = ()
    left_behind: tuple[LeftBehind, ...] = ()
    requests: int = 0  # AFAS requests made, retries included
    facts: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.overall is ExportOverall.OK

    def connector(self, connector_id: str) -> ConnectorResult:
        for item in self.connectors:
            if item.connector_id == connector_id:
                return item
        raise KeyError(connector_id)

    def check(self, check_id: str) -> ExportCheck:
        for item in self.checks:
            if item.id == check_id:
                return item
        raise KeyError(check_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "org": self.org,
            "mode": self.mode.value,
            "environment": {"number": self.env_number, "kind": self.env_kind},
            "token_fingerprint": self.token_fingerprint,
            "profile": self.profile,
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration_ms, 1),
            "overall": self.overall.value,
            "headline": self.headline.model_dump(),
            "requests": self.requests,
            "facts": self.facts,
            "connectors": [c.to_dict() for c in self.connectors],
            "checks": [c.to_dict() for c in self.checks],
            "created": [c.to_dict() for c in self.created],
            "left_behind": [item.to_dict() for item in self.left_behind],
        }


@dataclass(frozen=True)
class ExportFrame:
    """Who, where and when an export ran: what every report of it shares (its duration runs
    from ``begin`` to ``report``)."""

    org: str
    mode: ExportMode
    env_number: str
    env_kind: str
    token_fingerprint: str
    profile: str
    started_at: datetime
    clock: float

    @classmethod
    def begin(
        cls,
        org: str,
        mode: ExportMode,
        environment: AfasEnvironment,
        token: AfasToken,
        profile: Profile,
        now: datetime | None = None,
    ) -> ExportFrame:
        return cls(
            org=org,
            mode=mode,
            env_number=environment.number,
            env_kind=environment.kind.value,
            token_fingerprint=token.fingerprint,
            profile=profile.name,
            started_at=now or datetime.now(UTC),
            clock=time.perf_counter(),
        )

    def report(self, **verdict: Any) -> ExportReport:
        """The report: this frame, the elapsed time, and ``verdict`` (overall, headline,
        connectors, checks, created, left_behind, requests, facts)."""
        return ExportReport(
            org=self.org,
            mode=self.mode,
            env_number=self.env_number,
            env_kind=self.env_kind,
            token_fingerprint=self.token_fingerprint,
            profile=self.profile,
            started_at=self.started_at,
            duration_ms=(time.perf_counter() - self.clock) * 1000,
            **verdict,
        )


def decide_overall(
    access: Access,
    connectors: tuple[ConnectorResult, ...],
    checks: tuple[ExportCheck, ...] = (),
) -> ExportOverall:
    """The one rule, both modes: a refused token fails; AFAS down is unreachable; then any
    failing item fails; an item still unknown once AFAS let us in can only come from an answer
    AFAS did not give (transport, maintenance, unreadable), so it is unreachable."""
    if access is Access.REFUSED:
        return ExportOverall.FAILING
    if access is Access.AFAS_DOWN:
        return ExportOverall.UNREACHABLE
    if any(c.status is ConnectorStatus.FAILING for c in connectors) or any(
        c.status is CheckStatus.FAILING for c in checks
    ):
        return ExportOverall.FAILING
    if any(c.status is ConnectorStatus.UNKNOWN for c in connectors):
        return ExportOverall.UNREACHABLE
    return ExportOverall.OK


def headline(overall: ExportOverall, mode: ExportMode, catalogue: ExportCatalogue) -> LocalText:
    if overall is ExportOverall.OK:
        return catalogue.overall["ok_dry_run" if mode is ExportMode.DRY_RUN else "ok_live"]
    return catalogue.overall[overall.value]
