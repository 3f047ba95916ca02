"""The check report: an overall state and one item per requirement, in Dutch and English."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from afas.profile import LocalText


class ItemStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"
    FAILING = "failing"
    NOT_CHECKABLE = "not_checkable"  # the API cannot show it, ever
    UNKNOWN = "unknown"  # could not be determined this time (token refused, AFAS down)


class OverallState(StrEnum):
    """See README "Check states".

    healthy: every checkable requirement is met. degraded: nothing fails, but something is a
    warning or could not be determined this time. failing: AFAS answered and something the guide
    asks is wrong (token rejected, connector missing, wrong environment). unreachable: AFAS could
    not be asked (network failure, maintenance, unreadable answers).
    """

    HEALTHY = "healthy"
    DEGRADED = "degraded"
    FAILING = "failing"
    UNREACHABLE = "unreachable"


class Access(StrEnum):
    """The diagnosis's gate: did AFAS let us in with this token (afas-api.md §9)?"""

    OPEN = "open"  # the token was accepted
    REJECTED = "rejected"  # 401 on a token-only call: wrong, revoked or expired token
    BLOCKED = "blocked"  # the App Connector (or its user) is blocked
    IP_REFUSED = "ip"  # 403: the App Connector only accepts other IP addresses
    AFAS_DOWN = "afas"  # AFAS could not be asked


@dataclass(frozen=True)
class ReportItem:
    requirement_id: str
    kind: str
    title: LocalText
    guide_section: str
    status: ItemStatus
    finding: str  # a stable code such as "missing", "near_miss", "present"
    found: LocalText
    fix: LocalText | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "requirement_id": self.requirement_id,
            "kind": self.kind,
            "status": self.status.value,
            "finding": self.finding,
            "guide_section": self.guide_section,
            "title": self.title.as_dict(),
            "found": self.found.as_dict(),
            "fix": self.fix.as_dict() if self.fix else None,
            "details": self.details,
        }


@dataclass(frozen=True)
class CheckReport:
    environment: str  # "12345 (production)"
    env_number: str
    env_kind: str
    token_fingerprint: str
    profile: str
    deep: bool
    started_at: datetime
    duration_ms: float
    overall: OverallState
    headline: LocalText
    items: tuple[ReportItem, ...]
    requests: int  # how many AFAS requests the check made, retries included
    facts: dict[str, Any] = field(default_factory=dict)  # profit version, envid, token expiry

    @property
    def healthy(self) -> bool:
        return self.overall is OverallState.HEALTHY

    @property
    def access(self) -> Access | None:
        """The gate the diagnosis decided (None for a report without one)."""
        value = self.facts.get("access")
        return Access(value) if value in Access._value2member_map_ else None

    @property
    def token_accepted(self) -> bool:
        """Whether AFAS let us in with the token (registration stores nothing otherwise)."""
        return self.access is Access.OPEN

    def item(self, requirement_id: str) -> ReportItem:
        for item in self.items:
            if item.requirement_id == requirement_id:
                return item
        raise KeyError(requirement_id)

    def counts(self) -> dict[str, int]:
        counts = {status.value: 0 for status in ItemStatus}
        for item in self.items:
            counts[item.status.value] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {
            "environment": {"number": self.env_number, "kind": self.env_kind},
            "token_fingerprint": self.token_fingerprint,
            "profile": self.profile,
            "deep": self.deep,
            "started_at": self.started_at.isoformat(),
            "duration_ms": round(self.duration_ms, 1),
            "overall": self.overall.value,
            "headline": self.headline.model_dump(),
            "counts": self.counts(),
            "requests": self.requests,
            "facts": self.facts,
            "items": [item.to_dict() for item in self.items],
        }
