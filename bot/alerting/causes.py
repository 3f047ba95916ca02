"""What broke: one cause per bad check, read from the report (issue 10 §1).

The diagnosis's gate (``report.facts["access"]``, afas/diagnosis.py) says whether AFAS let the
token in; when it did not, the gate *is* the cause (token rejected, App Connector blocked, IP
refused, AFAS unreachable or in maintenance: the gate's own outcome, ``facts["afas_outcome"]``,
tells maintenance, a 503 with ``retry_after``, from the rest). When it did, the failing items
say it, most fundamental first: a token of another environment explains everything else, an
expired token comes next, then missing (or misspelled) connectors, then any other failing item
(a blocked definition, a connector AFAS refuses). A healthy or degraded report has no cause.

Each cause has a label and a one-line "what to do" in the catalogue
(``bot/i18n/catalogue/causes.toml``: ``cause.<value>.label``, ``cause.<value>.todo``) and the
guide section that step is in.
"""

from __future__ import annotations

from enum import StrEnum

from afas.outcomes import OutcomeKind
from afas.report import Access, CheckReport, ItemStatus, OverallState
from bot.i18n import t


class Cause(StrEnum):
    TOKEN_REJECTED = "token_rejected"
    TOKEN_EXPIRED = "token_expired"  # metainfo still answers, but its tokenExpiry has passed
    APP_CONNECTOR_BLOCKED = "app_connector_blocked"
    IP_REFUSED = "ip_refused"
    ENVIRONMENT_MISMATCH = "environment_mismatch"
    CONNECTORS_MISSING = "connectors_missing"  # missing or misspelled (near miss)
    SETUP_FAILING = "setup_failing"  # another failing item: a blocked definition, a refusal
    MAINTENANCE = "maintenance"
    AFAS_UNREACHABLE = "afas_unreachable"


#: Where in the customers' setup guide the fix is ("" for causes on AFAS's side).
GUIDE_SECTION: dict[Cause, str] = {
    Cause.TOKEN_REJECTED: "1.2.5",
    Cause.TOKEN_EXPIRED: "1.2.5",
    Cause.APP_CONNECTOR_BLOCKED: "1.2.8",
    Cause.IP_REFUSED: "1.2",
    Cause.ENVIRONMENT_MISMATCH: "1.2",
    Cause.CONNECTORS_MISSING: "1.1, 1.2.3",
    Cause.SETUP_FAILING: "1.2",
    Cause.MAINTENANCE: "",
    Cause.AFAS_UNREACHABLE: "",
}

_GATE = {
    Access.REJECTED: Cause.TOKEN_REJECTED,
    Access.BLOCKED: Cause.APP_CONNECTOR_BLOCKED,
    Access.IP_REFUSED: Cause.IP_REFUSED,
}
_CONNECTOR_KINDS = frozenset({"get_connector", "update_connector", "special_connector"})
#: Failing items by (kind, finding), in the order they explain the rest.
_ITEM_CAUSES: tuple[tuple[Cause, frozenset[tuple[str, str]]], ...] = (
    (Cause.TOKEN_REJECTED, frozenset({("token", "rejected")})),
    (Cause.APP_CONNECTOR_BLOCKED, frozenset({("app_connector_unblocked", "blocked")})),
    (Cause.IP_REFUSED, frozenset({("ip_allowed", "refused")})),
    (Cause.ENVIRONMENT_MISMATCH, frozenset({("environment_match", "mismatch")})),
    (Cause.TOKEN_EXPIRED, frozenset({("token_expiry", "expired")})),
    (
        Cause.CONNECTORS_MISSING,
        frozenset(
            (kind, finding) for kind in _CONNECTOR_KINDS for finding in ("missing", "near_miss")
        ),
    ),
)


def cause_of(report: CheckReport) -> Cause | None:
    """The cause of a failing or unreachable report; None for a healthy or degraded one."""
    if report.overall not in (OverallState.FAILING, OverallState.UNREACHABLE):
        return None
    gate = _GATE.get(report.access) if report.access is not None else None
    if gate is not None:
        return gate
    failing = {
        (item.kind, item.finding) for item in report.items if item.status is ItemStatus.FAILING
    }
    for cause, findings in _ITEM_CAUSES:
        if failing & findings:
            return cause
    if failing:
        return Cause.SETUP_FAILING
    if report.facts.get("afas_outcome") == OutcomeKind.MAINTENANCE.value:
        return Cause.MAINTENANCE
    if report.overall is OverallState.UNREACHABLE:
        return Cause.AFAS_UNREACHABLE
    return Cause.SETUP_FAILING  # failing without a failing item: a report of another shape


def as_cause(value: str | None) -> Cause | None:
    """A stored cause (an incident's column, a message's field); None if unknown (a newer
    replica's cause this one does not know)."""
    return Cause(value) if value in Cause._value2member_map_ else None


def cause_label(value: str | None, language: str) -> str:
    """The cause's name in ``language``; an unknown or missing one as "unknown"."""
    cause = as_cause(value)
    return t(f"cause.{cause.value}.label" if cause else "cause.unknown", language)


def cause_todo(value: str | None, language: str) -> str | None:
    """What to do about the cause, in one line; None for an unknown one."""
    cause = as_cause(value)
    return t(f"cause.{cause.value}.todo", language) if cause else None


def guide_section(value: str | None) -> str:
    cause = as_cause(value)
    return GUIDE_SECTION[cause] if cause else ""
