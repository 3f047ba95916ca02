"""Check reports for the builder tests, made from AFAS answers by the real diagnosis (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime

from afas.diagnosis import ProbeResults, diagnose
from afas.environments import AfasEnvironment
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import LocalText, RequirementKind, load_catalogue, load_profile
from afas.report import CheckReport, ItemStatus, OverallState, ReportItem
from afas.tokens import AfasToken

PROFILE = load_profile()
CATALOGUE = load_catalogue()
ENV = AfasEnvironment.parse("12345", "production")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
TOKEN = AfasToken("0123456789ABCDEF" * 4)
GETS = [r.connector for r in PROFILE.of_kind(RequirementKind.GET_CONNECTOR)]
UPDATES = [r.connector for r in PROFILE.of_kind(RequirementKind.UPDATE_CONNECTOR)]
SPECIAL_IDS = [r.id for r in PROFILE.of_kind(RequirementKind.SPECIAL_CONNECTOR) if r.endpoint]


def ok(data=None) -> AfasOutcome:
    return AfasOutcome(OutcomeKind.OK, status=200, data=data)


def metainfo(gets=GETS, updates=UPDATES) -> AfasOutcome:
    return ok(
        {
            "getConnectors": [{"id": g, "description": g} for g in gets],
            "updateConnectors": [{"id": u, "description": u} for u in updates],
            "info": {"envid": "O12345AA", "tokenExpiry": "0"},
        }
    )


def probes(meta=None, version=None, special=None, **deep) -> ProbeResults:
    version = version or ok({"version": "22.22.5"})
    if special is None:
        special = {rid: ok() for rid in SPECIAL_IDS if rid != "special.AppConnectorVersion"}
    special.setdefault("special.AppConnectorVersion", version)
    return ProbeResults(
        profit_version=version, metainfo=meta or metainfo(), special=special, **deep
    )


def report_from(p: ProbeResults, *, deep: bool = False) -> CheckReport:
    d = diagnose(PROFILE, CATALOGUE, ENV, p, now=NOW, deep=deep)
    return CheckReport(
        environment=ENV.label,
        env_number=ENV.number,
        env_kind=ENV.kind.value,
        token_fingerprint=TOKEN.fingerprint,
        profile=PROFILE.name,
        deep=deep,
        started_at=NOW,
        duration_ms=412.6,
        overall=d.overall,
        headline=d.headline,
        items=d.items,
        requests=sum(o.attempts for o in p.all()),
        facts=d.facts,
    )


def healthy() -> CheckReport:
    return report_from(probes())


def near_misses() -> CheckReport:
    gets = [g for g in GETS if g not in ("SBQ_Kostenplaasten_All", "SBQ_BTW")]
    gets.append("SBQ_Kostenplaatsen_All")
    updates = [u for u in UPDATES if u != "FiInvoice"] + ["FiInvoices"]
    return report_from(probes(metainfo(gets=gets, updates=updates)))


def rejected_token() -> CheckReport:
    rejected = AfasOutcome(OutcomeKind.TOKEN_REJECTED, status=401)
    return report_from(probes(meta=rejected, version=rejected, special={}))


def unreachable() -> CheckReport:
    down = AfasOutcome(OutcomeKind.MAINTENANCE, status=503, retry_after=3600)
    return report_from(probes(meta=down, version=down, special={}))


def afas_message(message: str) -> CheckReport:
    """FiEntries' metainfo/update answers a functional error carrying ``message``."""
    error = AfasOutcome(
        OutcomeKind.FUNCTIONAL_ERROR,
        status=500,
        message=message,
        profit_log_reference="B8213AF1C3C54E579686406A8DE71C6C",
    )
    return report_from(probes(update_meta={"FiEntries": error}), deep=True)


def deep_with_fields(count: int = 400) -> CheckReport:
    fields = {"fields": [{"id": f"Field_{n:04d}"} for n in range(count)]}
    update = {"fields": [{"fieldId": f"F{n}"} for n in range(count)], "objects": []}
    return report_from(
        probes(
            rows={g: ok({"rows": [{"a": 1}]}) for g in GETS},
            get_meta={g: ok(fields) for g in GETS},
            update_meta={u: ok(update) for u in UPDATES},
        ),
        deep=True,
    )


def text(nl: str, en: str | None = None) -> LocalText:
    return LocalText(nl=nl, en=en or nl)


def artificial(items: list[ReportItem], overall=OverallState.FAILING) -> CheckReport:
    return CheckReport(
        environment=ENV.label,
        env_number=ENV.number,
        env_kind=ENV.kind.value,
        token_fingerprint=TOKEN.fingerprint,
        profile="test",
        deep=False,
        started_at=NOW,
        duration_ms=12_345.0,
        overall=overall,
        headline=CATALOGUE.overall[overall.value],
        items=tuple(items),
        requests=1,
    )


def failing_item(n: int, *, length: int = 5000, found: str | None = None) -> ReportItem:
    return ReportItem(
        requirement_id=f"get.C{n}",
        kind="get_connector",
        title=text(f"GetConnector C{n} " + "t" * length),
        guide_section="1.2.3",
        status=ItemStatus.FAILING,
        finding="missing",
        found=text(found or ("staat niet in de App Connector " + "x" * length)),
        fix=text(f"Voeg C{n} toe " + "y" * length, f"Add C{n} " + "y" * length),
    )
