"""The check's diagnosis: a pure function from AFAS's answers to a report.

No I/O and no clock here: ``afas/check.py`` makes the requests (the probe ladder of
afas-api.md §9) and hands the outcomes in; tests can hand in any combination of answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from afas.environments import AfasEnvironment
from afas.near_miss import NearMiss, find_near_miss
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import Catalogue, LocalText, Profile, Requirement, RequirementKind
from afas.report import Access, ItemStatus, OverallState, ReportItem

METAINFO_ENDPOINT = "/metainfo"
#: How the token probe came out: the gate for everything else.
# The gate's values: one enum, afas.report.Access (registration reads it as ``token_accepted``).
OPEN, REJECTED, BLOCKED = Access.OPEN, Access.REJECTED, Access.BLOCKED
IP_REFUSED, AFAS_DOWN = Access.IP_REFUSED, Access.AFAS_DOWN
_SPECIAL_PRESENT = frozenset(
    {
        OutcomeKind.OK,
        OutcomeKind.NOT_FOUND,
        OutcomeKind.FUNCTIONAL_ERROR,
        OutcomeKind.DEFINITION_BLOCKED,
    }
)
_SPECIAL_ABSENT = frozenset({OutcomeKind.CONNECTOR_NOT_AUTHORISED, OutcomeKind.TOKEN_REJECTED})


@dataclass(frozen=True)
class ProbeResults:
    """AFAS's answers for one check; the deep maps are empty in a normal check."""

    profit_version: AfasOutcome
    metainfo: AfasOutcome
    special: dict[str, AfasOutcome] = field(default_factory=dict)  # requirement id -> outcome
    rows: dict[str, AfasOutcome] = field(default_factory=dict)  # GetConnector id -> take=1
    get_meta: dict[str, AfasOutcome] = field(default_factory=dict)  # GetConnector id
    update_meta: dict[str, AfasOutcome] = field(default_factory=dict)  # UpdateConnector id

    def all(self) -> list[AfasOutcome]:
        """Every distinct answer (the version probe doubles as AppConnectorVersion's)."""
        outcomes = [self.profit_version, self.metainfo, *self.special.values()]
        for mapping in (self.rows, self.get_meta, self.update_meta):
            outcomes.extend(mapping.values())
        return list({id(outcome): outcome for outcome in outcomes}.values())


@dataclass(frozen=True)
class Metainfo:
    get_connectors: tuple[str, ...]
    update_connectors: tuple[str, ...]
    info: dict[str, Any]


def parse_metainfo(data: Any) -> Metainfo | None:
    """Read ``/metainfo``; None when it does not have AFAS's shape."""
    if not isinstance(data, dict):
        return None
    lists = []
    for key in ("getConnectors", "updateConnectors"):
        entries = data.get(key, [])
        if not isinstance(entries, list):
            return None
        ids = [e.get("id") for e in entries if isinstance(e, dict)]
        if any(not isinstance(i, str) for i in ids):
            return None
        lists.append(tuple(ids))
    if "getConnectors" not in data and "updateConnectors" not in data:
        return None
    info = data.get("info") if isinstance(data.get("info"), dict) else {}
    return Metainfo(lists[0], lists[1], info)


@dataclass(frozen=True)
class Diagnosis:
    overall: OverallState
    headline: LocalText
    items: tuple[ReportItem, ...]
    facts: dict[str, Any]


class _Diagnoser:
    def __init__(
        self,
        profile: Profile,
        catalogue: Catalogue,
        env: AfasEnvironment,
        probes: ProbeResults,
        now: datetime,
        expiry_warning: timedelta,
        deep: bool,
    ) -> None:
        self.profile, self.text, self.env, self.probes = profile, catalogue, env, probes
        self.now, self.expiry_warning, self.deep = now, expiry_warning, deep
        self.meta = parse_metainfo(probes.metainfo.data) if probes.metainfo.ok else None
        self.version_ok = probes.profit_version.ok
        self.access, self.gate = self._gate()
        #: AFAS let the token in: metainfo answered, or it could not be read but the version
        #: probe answered. Then every probe that answered is judged on its own answer.
        self.token_accepted = self.access == OPEN or (self.access == AFAS_DOWN and self.version_ok)
        #: Endpoints whose answer was missing or unreadable -> (that answer, items it left open).
        self.unanswered: dict[str, tuple[AfasOutcome, int]] = {}

    # -- the gate: did AFAS let us in? ----------------------------------------------------

    def _gate(self) -> tuple[str, AfasOutcome]:
        metainfo, version = self.probes.metainfo, self.probes.profit_version
        if self.meta is not None:
            return OPEN, metainfo
        for outcome in (metainfo, version):
            if outcome.kind is OutcomeKind.APP_CONNECTOR_BLOCKED:
                return BLOCKED, outcome
        if metainfo.kind is OutcomeKind.IP_NOT_ALLOWED:
            return IP_REFUSED, metainfo
        if metainfo.kind is OutcomeKind.TOKEN_REJECTED:
            return REJECTED, metainfo
        if metainfo.ok:  # a 200 that is not metainfo
            metainfo = AfasOutcome(OutcomeKind.MALFORMED_ANSWER, status=metainfo.status)
        return AFAS_DOWN, metainfo

    def not_checked(self) -> tuple[str, LocalText]:
        if self.access == REJECTED:
            return "not_checked", self.found("not_checked_token")
        if self.access == BLOCKED:
            return "not_checked", self.found("not_checked_blocked")
        if self.access == IP_REFUSED:
            return "not_checked", self.found("not_checked_ip")
        return "afas_unavailable", self.found(
            "not_checked_afas", reason=self.reason(self.gate, METAINFO_ENDPOINT)
        )

    # -- texts -----------------------------------------------------------------------------

    def found(self, key: str, **values: object) -> LocalText:
        return self.text.found[key].format(**values)

    def fix(self, key: str, requirement: Requirement, **values: object) -> LocalText:
        return self.text.fix[key].format(
            connector=requirement.connector or "",
            section=requirement.guide_section,
            source_file=requirement.source_file or "",
            **values,
        )

    def reason(self, outcome: AfasOutcome, endpoint: str | None = None) -> LocalText:
        """Why AFAS's answer is missing; an unreadable answer names its endpoint."""
        reasons = self.text.reason
        if outcome.kind is OutcomeKind.MALFORMED_ANSWER and endpoint:
            return reasons["malformed_at"].format(endpoint=endpoint)
        if outcome.kind is OutcomeKind.MAINTENANCE:
            if outcome.retry_after is None:
                return reasons["maintenance_unknown"]
            return reasons["maintenance"].format(minutes=math.ceil(outcome.retry_after / 60))
        if outcome.kind is OutcomeKind.TRANSPORT_ERROR:
            key = outcome.reason if outcome.reason in reasons else "network"
            return reasons[key].format(status=outcome.status or "")
        if outcome.kind is OutcomeKind.MALFORMED_ANSWER or not outcome.message:
            return reasons["malformed"]
        return reasons["afas_error"].format(message=_with_reference(outcome))

    # -- items -------------------------------------------------------------------------------

    def item(
        self,
        requirement: Requirement,
        status: ItemStatus,
        finding: str,
        found: LocalText,
        fix: LocalText | None = None,
        **details: Any,
    ) -> ReportItem:
        if fix is None and status in (ItemStatus.FAILING, ItemStatus.WARNING):
            fix = requirement.fix
        if status is ItemStatus.UNKNOWN and self.access == AFAS_DOWN:
            fix = self.text.fix["afas_side"]
        return ReportItem(
            requirement_id=requirement.id,
            kind=requirement.kind.value,
            title=requirement.title,
            guide_section=requirement.guide_section,
            status=status,
            finding=finding,
            found=found,
            fix=fix,
            details={k: v for k, v in details.items() if v is not None},
        )

    def unknown(self, requirement: Requirement) -> ReportItem:
        finding, found = self.not_checked()
        if self.access == AFAS_DOWN:
            self._count_unanswered(METAINFO_ENDPOINT, self.gate)
        return self.item(requirement, ItemStatus.UNKNOWN, finding, found)

    def unavailable(self, r: Requirement, outcome: AfasOutcome, endpoint: str) -> ReportItem:
        """Unknown because this item's own probe got no readable answer."""
        self._count_unanswered(endpoint, outcome)
        return self.item(
            r,
            ItemStatus.UNKNOWN,
            "afas_unavailable",
            self.found("not_checked_afas", reason=self.reason(outcome, endpoint)),
            fix=self.text.fix["afas_side"],
        )

    def _count_unanswered(self, endpoint: str, outcome: AfasOutcome) -> None:
        _, count = self.unanswered.get(endpoint, (outcome, 0))
        self.unanswered[endpoint] = (outcome, count + 1)

    def evaluate(self, requirement: Requirement) -> ReportItem:
        kind = requirement.kind
        if kind is RequirementKind.NOT_CHECKABLE:
            return self.item(
                requirement,
                ItemStatus.NOT_CHECKABLE,
                "not_checkable",
                requirement.not_checkable_reason,
                fix=requirement.fix,
            )
        handler = {
            RequirementKind.TOKEN: self.token,
            RequirementKind.APP_CONNECTOR_UNBLOCKED: self.app_connector,
            RequirementKind.IP_ALLOWED: self.ip_allowed,
            RequirementKind.ENVIRONMENT_MATCH: self.environment,
            RequirementKind.TOKEN_EXPIRY: self.token_expiry,
            RequirementKind.GET_CONNECTOR: self.connector,
            RequirementKind.UPDATE_CONNECTOR: self.connector,
            RequirementKind.SPECIAL_CONNECTOR: self.special,
        }[kind]
        return handler(requirement)

    def token(self, r: Requirement) -> ReportItem:
        if self.token_accepted:
            version = _version(self.probes.profit_version)
            found = (
                self.found("token_accepted_version", version=version)
                if version
                else self.found("token_accepted")
            )
            return self.item(r, ItemStatus.OK, "accepted", found)
        if self.access == REJECTED:
            return self.item(
                r,
                ItemStatus.FAILING,
                "rejected",
                self.found("token_rejected"),
                fix=self.text.fix["token_rejected"],
                status_code=self.gate.status,
            )
        return self.unknown(r)

    def app_connector(self, r: Requirement) -> ReportItem:
        if self.token_accepted:
            return self.item(r, ItemStatus.OK, "open", self.found("app_connector_open"))
        if self.access == BLOCKED:
            return self.item(
                r,
                ItemStatus.FAILING,
                "blocked",
                self.found("app_connector_blocked", message=self.gate.message or "HTTP 401"),
                status_code=self.gate.status,
            )
        if self.access == REJECTED:
            return self.item(
                r,
                ItemStatus.UNKNOWN,
                "indistinct",
                self.found("app_connector_indistinct"),
                fix=r.fix,
            )
        return self.unknown(r)

    def ip_allowed(self, r: Requirement) -> ReportItem:
        if self.token_accepted:
            return self.item(r, ItemStatus.OK, "allowed", self.found("ip_allowed"))
        if self.access == IP_REFUSED:
            return self.item(r, ItemStatus.FAILING, "refused", self.found("ip_refused"))
        return self.unknown(r)

    def environment(self, r: Requirement) -> ReportItem:
        if self.access != OPEN:
            return self.unknown(r)
        envid = self.meta.info.get("envid")
        if not isinstance(envid, str) or not envid.strip():
            return self.item(
                r, ItemStatus.NOT_CHECKABLE, "unreported", self.found("env_unreported")
            )
        code = f"{self.env.kind.letter}{self.env.number}"
        registered = LocalText(
            nl=f"{code} ({self.env.kind.name_in('nl')})",
            en=f"{code} ({self.env.kind.name_in('en')})",
        )
        if self.env.matches_envid(envid):
            return self.item(r, ItemStatus.OK, "match", self.found("env_match", envid=envid))
        return self.item(
            r,
            ItemStatus.FAILING,
            "mismatch",
            self.found("env_mismatch", envid=envid, registered=registered),
            envid=envid,
        )

    def token_expiry(self, r: Requirement) -> ReportItem:
        if self.access != OPEN:
            return self.unknown(r)
        raw = self.meta.info.get("tokenExpiry")
        value = str(raw).strip() if raw is not None else ""
        if value in ("", "0"):
            return self.item(r, ItemStatus.OK, "none", self.found("expiry_none"))
        expires = _parse_expiry(value)
        if expires is None:
            return self.item(
                r,
                ItemStatus.WARNING,
                "unreadable",
                self.found("expiry_unreadable", value=value[:40]),
            )
        left = expires - self.now
        date, days = expires.date().isoformat(), max(0, left.days)
        if left <= timedelta(0):
            return self.item(
                r,
                ItemStatus.FAILING,
                "expired",
                self.found("expiry_expired", date=date),
                expires_at=expires.isoformat(),
            )
        if left <= self.expiry_warning:
            return self.item(
                r,
                ItemStatus.WARNING,
                "soon",
                self.found("expiry_soon", date=date, days=days),
                expires_at=expires.isoformat(),
                days_left=days,
            )
        return self.item(
            r,
            ItemStatus.OK,
            "later",
            self.found("expiry_later", date=date, days=days),
            expires_at=expires.isoformat(),
            days_left=days,
        )

    def connector(self, r: Requirement) -> ReportItem:
        if self.access != OPEN:
            return self.unknown(r)
        is_get = r.kind is RequirementKind.GET_CONNECTOR
        listed = self.meta.get_connectors if is_get else self.meta.update_connectors
        if r.connector in listed:
            return self.deep_get(r) if is_get else self.deep_update(r)
        reserved = {q.connector for q in self.profile.requirements if q.connector}
        miss = find_near_miss(r.connector, listed, aliases=r.aliases, reserved=reserved)
        if miss is None:
            key = "get_connector" if is_get else "update_connector"
            if is_get and r.source_file:
                key = "get_connector_file"
            return self.item(
                r,
                ItemStatus.FAILING,
                "missing",
                self.found("connector_missing"),
                fix=r.fix or self.fix(key, r),
            )
        reason = self.text.reason[miss.reason].format(expected=miss.expected)
        return self._near_miss_item(r, miss, reason)

    def _near_miss_item(self, r: Requirement, miss: NearMiss, reason: LocalText) -> ReportItem:
        return self.item(
            r,
            ItemStatus.FAILING,
            "near_miss",
            self.found("near_miss", found=miss.found, expected=miss.expected, reason=reason),
            fix=self.fix("near_miss", r, found=miss.found, expected=miss.expected),
            found_id=miss.found,
            near_miss_reason=miss.reason,
        )

    def deep_get(self, r: Requirement) -> ReportItem:
        present = self.found("connector_present")
        rows = self.probes.rows.get(r.connector)
        if not self.deep or rows is None:
            return self.item(r, ItemStatus.OK, "present", present)
        get_meta = self.probes.get_meta.get(r.connector)
        fields = _get_fields(get_meta)
        described = get_meta.data if get_meta is not None and get_meta.ok else None
        if rows.ok:
            data = rows.data
            if not isinstance(data, dict) or not isinstance(data.get("rows"), list):
                endpoint = f"/connectors/{r.connector}"
                self._count_unanswered(endpoint, AfasOutcome(OutcomeKind.MALFORMED_ANSWER))
                return self.item(
                    r,
                    ItemStatus.UNKNOWN,
                    "malformed",
                    self.found(
                        "not_checked_afas",
                        reason=self.text.reason["malformed_at"].format(endpoint=endpoint),
                    ),
                )
            count = len(data["rows"])
            key = "rows_ok" if count else "rows_empty"
            return self.item(
                r,
                ItemStatus.OK,
                "runs" if count else "runs_empty",
                self.found(key, rows=count, fields=len(fields or [])),
                fields=fields,
                rows=count,
                **_field_types(described, "id"),
            )
        return self._connector_error(r, rows, f"/connectors/{r.connector}")

    def deep_update(self, r: Requirement) -> ReportItem:
        present = self.found("connector_present")
        meta = self.probes.update_meta.get(r.connector)
        if not self.deep or meta is None:
            return self.item(r, ItemStatus.OK, "present", present)
        if meta.ok:
            fields, objects = _update_fields(meta.data)
            return self.item(
                r,
                ItemStatus.OK,
                "described",
                self.found("update_described", fields=len(fields)),
                fields=fields,
                objects=objects,
                **_field_types(meta.data, "fieldId"),
            )
        if meta.kind in _SPECIAL_ABSENT:
            return self.item(
                r,
                ItemStatus.WARNING,
                "metainfo_refused",
                self.found("update_refused", message=meta.message or f"HTTP {meta.status}"),
                fix=self.text.fix["getxmlschema_suspected"],
            )
        return self._connector_error(r, meta, f"/metainfo/update/{r.connector}")

    def _connector_error(self, r: Requirement, outcome: AfasOutcome, endpoint: str) -> ReportItem:
        message = outcome.message or f"HTTP {outcome.status}"
        if outcome.kind is OutcomeKind.DEFINITION_BLOCKED:
            return self.item(
                r,
                ItemStatus.FAILING,
                "definition_blocked",
                self.found("definition_blocked", message=message),
                fix=self.fix("definition_blocked", r),
                profit_log_reference=outcome.profit_log_reference,
            )
        if outcome.kind in _SPECIAL_ABSENT:
            return self.item(
                r,
                ItemStatus.FAILING,
                "refused",
                self.found("connector_refused", message=message),
                fix=self.fix("connector_refused", r),
            )
        if outcome.kind in (OutcomeKind.FUNCTIONAL_ERROR, OutcomeKind.NOT_FOUND):
            return self.item(
                r,
                ItemStatus.FAILING,
                "afas_error",
                self.found("functional_error", message=_with_reference(outcome)),
                fix=self.fix("functional_error", r, reference=outcome.profit_log_reference or "-"),
                profit_log_reference=outcome.profit_log_reference,
            )
        return self.unavailable(r, outcome, endpoint)

    def special(self, r: Requirement) -> ReportItem:
        """Judged by its own probe, so it keeps its status when metainfo could not be read."""
        if self.access not in (OPEN, AFAS_DOWN):
            return self.unknown(r)
        meta = self.meta
        if meta and (r.connector in meta.get_connectors or r.connector in meta.update_connectors):
            return self.item(r, ItemStatus.OK, "listed", self.found("special_listed"))
        if r.endpoint is None:
            if meta is None:  # only metainfo could have listed it
                return self.unknown(r)
            if self.deep and self._update_metainfo_refused():
                return self.item(
                    r,
                    ItemStatus.WARNING,
                    "suspected_missing",
                    self.found("getxmlschema_suspected"),
                    fix=self.fix("special_connector", r),
                )
            return self.item(
                r,
                ItemStatus.NOT_CHECKABLE,
                "not_checkable",
                r.not_checkable_reason,
                fix=None,
            )
        outcome = self.probes.special.get(r.id)
        if outcome is None:
            return self.unknown(r)
        if outcome.kind in _SPECIAL_PRESENT:
            return self.item(
                r, ItemStatus.OK, "answers", self.found("special_answers", endpoint=r.endpoint)
            )
        if outcome.kind in _SPECIAL_ABSENT:
            if not self.token_accepted:  # a 401 here may be the token's, not the connector's
                return self.unknown(r)
            return self.item(
                r,
                ItemStatus.FAILING,
                "missing",
                self.found("special_missing", endpoint=r.endpoint),
                fix=r.fix or self.fix("special_connector", r),
                status_code=outcome.status,
            )
        return self.unavailable(r, outcome, r.endpoint)

    def _update_metainfo_refused(self) -> bool:
        return any(o.kind in _SPECIAL_ABSENT for o in self.probes.update_meta.values())

    # -- overall ----------------------------------------------------------------------------

    def run(self) -> Diagnosis:
        items = tuple(self.evaluate(r) for r in self.profile.requirements)
        overall = self._overall(items)
        facts = {
            "profit_version": _version(self.probes.profit_version),
            "envid": self.meta.info.get("envid") if self.meta else None,
            "token_expiry": self.meta.info.get("tokenExpiry") if self.meta else None,
            "app_name": self.meta.info.get("appName") if self.meta else None,
            "access": self.access,
            "afas_outcome": self.gate.kind.value,
        }
        if self.gate.kind is OutcomeKind.MAINTENANCE:
            facts["retry_after"] = self.gate.retry_after
        if self.unanswered:
            facts["unanswered"] = sorted(self.unanswered)
        return Diagnosis(overall, self._headline(overall, items), items, facts)

    def _overall(self, items: tuple[ReportItem, ...]) -> OverallState:
        if self.access in (REJECTED, BLOCKED, IP_REFUSED):
            return OverallState.FAILING
        statuses = {item.status for item in items}
        if ItemStatus.FAILING in statuses and self.token_accepted:
            return OverallState.FAILING  # what was read is wrong, whatever could not be read
        if self.access == AFAS_DOWN:
            return OverallState.UNREACHABLE
        if ItemStatus.FAILING in statuses:
            return OverallState.FAILING
        if statuses & {ItemStatus.WARNING, ItemStatus.UNKNOWN}:
            return OverallState.DEGRADED
        return OverallState.HEALTHY

    # -- the headline: the state, the class of problem found, and which answer was missing ----

    def _headline(self, overall: OverallState, items: tuple[ReportItem, ...]) -> LocalText:
        texts = self.text.overall
        unanswered = self._unanswered_text()
        if overall is OverallState.FAILING:
            problems = self._problems(items)
            if not problems:
                return texts["failing"]
            parts = problems + ([unanswered] if unanswered else [])
            return texts["failing_found"].format(problems=_join(parts, "; "))
        if overall is OverallState.UNREACHABLE:
            if self.token_accepted and unanswered:
                return texts["unreachable_partial"].format(unanswered=unanswered)
            reason = self.reason(self.gate, METAINFO_ENDPOINT)
            return texts["unreachable_because"].format(reason=reason)
        if overall is OverallState.DEGRADED and unanswered:
            return texts["degraded_unanswered"].format(unanswered=unanswered)
        return texts[overall.value]

    def _problems(self, items: tuple[ReportItem, ...]) -> list[LocalText]:
        """One phrase per class of problem found, in the order of the profile."""
        texts = self.text.overall
        counts: dict[str, int] = {}
        for item in items:
            if item.status is ItemStatus.FAILING:
                key = _PROBLEM_CLASS.get((item.kind, item.finding))
                if key is None:
                    key = "connectors_broken" if item.kind in _CONNECTOR_KINDS else "other"
                counts[key] = counts.get(key, 0) + 1
        phrases = []
        for key, count in counts.items():
            if key in _COUNTED_PROBLEMS:
                key = f"{key}_{'one' if count == 1 else 'other'}"
            phrases.append(texts[f"problem_{key}"].format(count=count))
        return phrases

    def _unanswered_text(self) -> LocalText | None:
        texts = self.text.overall
        parts = []
        for endpoint, (outcome, count) in self.unanswered.items():
            key = "unanswered_one" if count == 1 else "unanswered_other"
            reason = self.reason(outcome, endpoint)
            if outcome.kind is not OutcomeKind.MALFORMED_ANSWER:
                reason = self.text.reason["at_endpoint"].format(reason=reason, endpoint=endpoint)
            parts.append(texts[key].format(reason=reason, count=count))
        return _join(parts, "; ") if parts else None


#: The class of problem a failing item belongs to, for the headline: (kind, finding) -> key.
_PROBLEM_CLASS = {
    ("token", "rejected"): "token",
    ("token_expiry", "expired"): "token_expired",
    ("app_connector_unblocked", "blocked"): "app_connector",
    ("ip_allowed", "refused"): "ip",
    ("environment_match", "mismatch"): "environment",
    ("get_connector", "missing"): "connectors_missing",
    ("update_connector", "missing"): "connectors_missing",
    ("special_connector", "missing"): "connectors_missing",
    ("get_connector", "near_miss"): "connectors_misspelled",
    ("update_connector", "near_miss"): "connectors_misspelled",
}
_COUNTED_PROBLEMS = frozenset({"connectors_missing", "connectors_misspelled", "connectors_broken"})
_CONNECTOR_KINDS = frozenset({"get_connector", "update_connector", "special_connector"})


def _join(texts: list[LocalText], separator: str) -> LocalText:
    return LocalText(nl=separator.join(t.nl for t in texts), en=separator.join(t.en for t in texts))


def diagnose(
    profile: Profile,
    catalogue: Catalogue,
    env: AfasEnvironment,
    probes: ProbeResults,
    *,
    now: datetime,
    deep: bool = False,
    expiry_warning: timedelta = timedelta(days=14),
) -> Diagnosis:
    """From AFAS's answers to an overall state and one item per requirement."""
    return _Diagnoser(profile, catalogue, env, probes, now, expiry_warning, deep).run()


def _version(outcome: AfasOutcome) -> str | None:
    if outcome.ok and isinstance(outcome.data, dict):
        version = outcome.data.get("version")
        return str(version)[:40] if version is not None else None
    return None


def _with_reference(outcome: AfasOutcome) -> str:
    message = outcome.message or f"HTTP {outcome.status}"
    if outcome.profit_log_reference:
        return f"{message} (profitLogReference {outcome.profit_log_reference})"
    return message


def _parse_expiry(value: str) -> datetime | None:
    """AFAS does not document the format (afas-api.md §13): accept ISO dates and date-times."""
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _get_fields(outcome: AfasOutcome | None) -> list[str] | None:
    if outcome is None or not outcome.ok or not isinstance(outcome.data, dict):
        return None
    fields = outcome.data.get("fields")
    if not isinstance(fields, list):
        return None
    return [f["id"] for f in fields if isinstance(f, dict) and isinstance(f.get("id"), str)]


def _update_fields(data: Any) -> tuple[list[str], list[str]]:
    """Field ids of the root and names of nested objects (recursively) of update metainfo."""
    fields: list[str] = []
    objects: list[str] = []
    if not isinstance(data, dict):
        return fields, objects
    for entry in data.get("fields") or []:
        if isinstance(entry, dict) and isinstance(entry.get("fieldId"), str):
            fields.append(entry["fieldId"])
    stack = list(data.get("objects") or [])
    while stack:
        obj = stack.pop(0)
        if isinstance(obj, dict):
            if isinstance(obj.get("name"), str):
                objects.append(obj["name"])
            stack.extend(obj.get("objects") or [])
    return fields, objects


def _field_types(data: Any, id_key: str) -> dict[str, dict[str, str] | None]:
    """What drift compares (bot/alerting/drift.py): ``field_types`` {field: dataType} and
    ``field_labels`` {field: label} of a connector's metainfo; None (left out of the details)
    when the answer carries none. A GetConnector's fields by ``id``, an UpdateConnector's by
    ``fieldId`` and path below its root element (``Year``, ``FiEntries.BpDa``)."""
    types: dict[str, str] = {}
    labels: dict[str, str] = {}
    stack: list[tuple[str, Any]] = [("", data)]
    while stack:
        prefix, node = stack.pop(0)
        if not isinstance(node, dict):
            continue
        for entry in node.get("fields") or []:
            field_id = entry.get(id_key) if isinstance(entry, dict) else None
            if not isinstance(field_id, str):
                continue
            if isinstance(entry.get("dataType"), str):
                types[prefix + field_id] = entry["dataType"]
            if isinstance(entry.get("label"), str) and entry["label"]:
                labels[prefix + field_id] = entry["label"]
        for obj in node.get("objects") or []:
            if isinstance(obj, dict) and isinstance(obj.get("name"), str):
                stack.append((f"{prefix}{obj['name']}.", obj))
    return {"field_types": types or None, "field_labels": labels or None}
