"""The dry run: every payload template held against AFAS's own description of its connector.

Writes nothing. ``dry_run`` makes the requests (``/metainfo`` and ``metainfo/update/{id}`` for
every UpdateConnector of the profile, all at once); ``judge_dry_run`` is a pure function from
those answers to the report's items, so any combination of answers can be tested without HTTP.

A connector the token may not use (not in ``/metainfo``'s list, or ``metainfo/update`` not
authorised) fails with the fix of guide §1.2.4, and a near miss in the list (the guide's
"FiInvoices") is named as such; FiInvoice is judged as the PUT it is. Guide §1.2.9 cannot be seen
without writing, so a dry run reports it as ``not_checked``.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from afas.client import AfasClient
from afas.diagnosis import Metainfo, parse_metainfo
from afas.environments import AfasEnvironment
from afas.exports.placeholders import render, samples
from afas.exports.report import (
    Access,
    CheckStatus,
    ConnectorResult,
    ConnectorStatus,
    ExportCheck,
    ExportFrame,
    ExportMode,
    ExportReport,
    ProblemItem,
    decide_overall,
    headline,
)
from afas.exports.schema import SchemaFinding, compare, parse_update_schema
from afas.exports.templates import KNOWN_METHODS, ExportTemplate, ExportTemplates, load_templates
from afas.exports.texts import ExportCatalogue, load_export_catalogue
from afas.near_miss import find_near_miss
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import Catalogue, LocalText, Profile, Requirement, RequirementKind, load_catalogue
from afas.tokens import AfasToken

_REFUSED_KINDS = {
    OutcomeKind.TOKEN_REJECTED: "rejected",
    OutcomeKind.APP_CONNECTOR_BLOCKED: "blocked",
    OutcomeKind.IP_NOT_ALLOWED: "ip",
}
_NOT_AUTHORISED = frozenset({OutcomeKind.CONNECTOR_NOT_AUTHORISED, OutcomeKind.TOKEN_REJECTED})
_AFAS_ERROR = frozenset(
    {OutcomeKind.FUNCTIONAL_ERROR, OutcomeKind.NOT_FOUND, OutcomeKind.DEFINITION_BLOCKED}
)


@dataclass(frozen=True)
class DryRunAnswers:
    """AFAS's answers for one dry run: ``/metainfo`` and ``metainfo/update`` per connector."""

    metainfo: AfasOutcome
    update_meta: dict[str, AfasOutcome]

    def all(self) -> list[AfasOutcome]:
        return [self.metainfo, *self.update_meta.values()]


@dataclass(frozen=True)
class DryRunJudgement:
    access: Access
    connectors: tuple[ConnectorResult, ...]
    checks: tuple[ExportCheck, ...]
    facts: dict[str, Any]


async def dry_run(
    client: AfasClient,
    environment: AfasEnvironment,
    token: AfasToken,
    profile: Profile,
    *,
    now: datetime | None = None,
    org: str = "",
    templates: ExportTemplates | None = None,
) -> ExportReport:
    """Read the metainfo of every UpdateConnector concurrently and judge each template."""
    templates = templates or load_templates(profile)
    frame = ExportFrame.begin(org, ExportMode.DRY_RUN, environment, token, profile, now)
    connectors = [r.connector for r in profile.of_kind(RequirementKind.UPDATE_CONNECTOR)]
    metainfo, *metas = await asyncio.gather(
        client.metainfo(environment, token),
        *(client.metainfo_update(environment, token, c) for c in connectors),
    )
    answers = DryRunAnswers(metainfo, dict(zip(connectors, metas, strict=True)))
    texts = load_export_catalogue()
    judgement = judge_dry_run(profile, templates, answers, load_catalogue(), texts)
    overall = decide_overall(judgement.access, judgement.connectors, judgement.checks)
    return frame.report(
        overall=overall,
        headline=headline(overall, ExportMode.DRY_RUN, texts),
        connectors=judgement.connectors,
        checks=judgement.checks,
        requests=sum(outcome.attempts for outcome in answers.all()),
        facts=judgement.facts,
    )


def judge_dry_run(
    profile: Profile,
    templates: ExportTemplates,
    answers: DryRunAnswers,
    check_texts: Catalogue,
    texts: ExportCatalogue,
) -> DryRunJudgement:
    """From AFAS's answers to one item per UpdateConnector and the export's checks. Pure."""
    return _Judge(profile, templates, answers, check_texts, texts).run()


class _Judge:
    def __init__(
        self,
        profile: Profile,
        templates: ExportTemplates,
        answers: DryRunAnswers,
        check_texts: Catalogue,
        texts: ExportCatalogue,
    ) -> None:
        self.profile, self.templates, self.answers = profile, templates, answers
        self.check_texts, self.texts = check_texts, texts
        self.meta: Metainfo | None = (
            parse_metainfo(answers.metainfo.data) if answers.metainfo.ok else None
        )
        self.access, self.refusal = self._gate()

    def _gate(self) -> tuple[Access, str | None]:
        if self.meta is not None:
            return Access.OPEN, None
        refusal = _REFUSED_KINDS.get(self.answers.metainfo.kind)
        if refusal is not None:
            return Access.REFUSED, refusal
        return Access.AFAS_DOWN, None

    def run(self) -> DryRunJudgement:
        connectors = tuple(
            self.connector(r) for r in self.profile.of_kind(RequirementKind.UPDATE_CONNECTOR)
        )
        checks = (self.access_check(), *self.destination_check())
        facts: dict[str, Any] = {
            "access": self.access.value,
            "afas_outcome": self.answers.metainfo.kind.value,
            "envid": self.meta.info.get("envid") if self.meta else None,
            "templates": self.profile.exports,
        }
        return DryRunJudgement(self.access, connectors, checks, facts)

    # -- the gate and the checks -------------------------------------------------------------

    def access_check(self) -> ExportCheck:
        """The token (or what refused it) as a check, so a failing overall is explained."""
        found, fix = self.check_texts.found, self.check_texts.fix
        token = self._requirement(RequirementKind.TOKEN)
        if self.access is Access.OPEN:
            return self._check(token, CheckStatus.OK, "accepted", found["token_accepted"])
        if self.access is Access.AFAS_DOWN:
            reason = found["not_checked_afas"].format(reason=self._reason(self.answers.metainfo))
            return self._check(
                token, CheckStatus.NOT_CHECKED, "afas_unavailable", reason, fix["afas_side"]
            )
        if self.refusal == "blocked":
            blocked = self._requirement(RequirementKind.APP_CONNECTOR_UNBLOCKED) or token
            message = self.answers.metainfo.message or "HTTP 401"
            return self._check(
                blocked,
                CheckStatus.FAILING,
                "blocked",
                found["app_connector_blocked"].format(message=message),
                blocked.fix if blocked else None,
            )
        if self.refusal == "ip":
            ip = self._requirement(RequirementKind.IP_ALLOWED) or token
            return self._check(
                ip, CheckStatus.FAILING, "refused", found["ip_refused"], ip.fix if ip else None
            )
        return self._check(
            token, CheckStatus.FAILING, "rejected", found["token_rejected"], fix["token_rejected"]
        )

    def _check(
        self,
        requirement: Requirement | None,
        status: CheckStatus,
        finding: str,
        found: LocalText,
        fix: LocalText | None = None,
    ) -> ExportCheck:
        if requirement is None:  # a profile without a token requirement cannot be loaded
            raise ValueError("the profile has no token requirement")
        return ExportCheck(
            id=requirement.id,
            guide_section=requirement.guide_section,
            status=status,
            title=requirement.title,
            found=found,
            fix=fix,
            finding=finding,
        )

    def destination_check(self) -> tuple[ExportCheck, ...]:
        spec = self.templates.destination_check
        if spec is None:
            return ()
        requirement = self.profile.by_id(spec.requirement)
        return (
            ExportCheck(
                id=spec.id,
                guide_section=spec.guide_section,
                status=CheckStatus.NOT_CHECKED,
                title=requirement.title,
                found=self.texts.found["destination_dry_run"],
                fix=requirement.fix,
                finding="dry_run",
            ),
        )

    def _requirement(self, kind: RequirementKind) -> Requirement | None:
        found = self.profile.of_kind(kind)
        return found[0] if found else None

    # -- one connector -----------------------------------------------------------------------

    def connector(self, r: Requirement) -> ConnectorResult:
        template = self.templates.for_connector(r.connector or "")
        if self.access is not Access.OPEN:
            return self._not_checked(r, template)
        if r.connector not in self.meta.update_connectors:
            return self._not_listed(r, template)
        outcome = self.answers.update_meta.get(r.connector)
        if outcome is None:
            return self._unknown(r, template, self.texts.found["unreadable_schema"])
        if outcome.ok:
            return self._compare(r, template, outcome)
        message = outcome.message or f"HTTP {outcome.status}"
        if outcome.kind in _NOT_AUTHORISED:
            return self._item(
                r,
                template,
                ConnectorStatus.FAILING,
                "not_authorised",
                self.texts.found["not_authorised"].format(connector=r.connector, message=message),
                fix=self.texts.fix["not_authorised"].format(
                    connector=r.connector, section=r.guide_section
                ),
            )
        if outcome.kind in _AFAS_ERROR:
            reference = outcome.profit_log_reference
            return self._item(
                r,
                template,
                ConnectorStatus.FAILING,
                "afas_error",
                self.check_texts.found["functional_error"].format(message=_with_reference(outcome)),
                fix=self.check_texts.fix["functional_error"].format(reference=reference or "-"),
                profit_log_reference=reference,
            )
        return self._unknown(
            r,
            template,
            self.check_texts.found["not_checked_afas"].format(reason=self._reason(outcome)),
        )

    def _not_checked(self, r: Requirement, template: ExportTemplate) -> ConnectorResult:
        found = self.check_texts.found
        if self.access is Access.AFAS_DOWN:
            return self._unknown(
                r,
                template,
                found["not_checked_afas"].format(reason=self._reason(self.answers.metainfo)),
            )
        key = {"blocked": "not_checked_blocked", "ip": "not_checked_ip"}.get(
            self.refusal or "", "not_checked_token"
        )
        return self._item(r, template, ConnectorStatus.UNKNOWN, "not_checked", found[key])

    def _not_listed(self, r: Requirement, template: ExportTemplate) -> ConnectorResult:
        listed = self.meta.update_connectors
        reserved = {q.connector for q in self.profile.requirements if q.connector}
        miss = find_near_miss(r.connector, listed, aliases=r.aliases, reserved=reserved)
        found, fix = self.check_texts.found, self.check_texts.fix
        if miss is None:
            return self._item(
                r,
                template,
                ConnectorStatus.FAILING,
                "missing",
                found["connector_missing"],
                fix=r.fix
                or fix["update_connector"].format(connector=r.connector, section=r.guide_section),
            )
        reason = self.check_texts.reason[miss.reason].format(expected=miss.expected)
        near = fix["near_miss"].format(
            found=miss.found, expected=miss.expected, section=r.guide_section
        )
        return self._item(
            r,
            template,
            ConnectorStatus.FAILING,
            "near_miss",
            found["near_miss"].format(found=miss.found, expected=miss.expected, reason=reason),
            fix=near,
            found_id=miss.found,
            near_miss_reason=miss.reason,
        )

    def _compare(
        self, r: Requirement, template: ExportTemplate, outcome: AfasOutcome
    ) -> ConnectorResult:
        schema = parse_update_schema(outcome.data, template.root)
        if schema is None:
            return self._unknown(r, template, self.texts.found["unreadable_schema"])
        findings = template_findings(template, outcome.data)
        problems = tuple(ProblemItem(f, self._problem_text(f)) for f in findings)
        failing = [p for p in problems if p.finding.failing]
        notes = len(problems) - len(failing)
        if failing:
            first = failing[0]
            found = (
                self.texts.found["mismatch"].format(problem=first.found)
                if len(failing) == 1
                else self.texts.found["mismatch_more"].format(
                    problem=first.found, more=len(failing) - 1
                )
            )
            code = first.finding.code
            fix_key = "mandatory_missing" if code == "mandatory_missing" else "schema_changed"
            fix = self.texts.fix[fix_key].format(connector=r.connector, path=first.finding.path)
            return self._item(
                r,
                template,
                ConnectorStatus.FAILING,
                first.finding.code,
                found,
                fix=fix,
                problems=problems,
            )
        fields, objects = _count_sent(template.payload)
        parts = [
            self.texts.found["fits"].format(method=template.method, fields=fields, objects=objects)
        ]
        if KNOWN_METHODS.get(r.connector) == frozenset({"PUT"}):
            parts.append(self.texts.found["put_only"].format(connector=r.connector))
        if notes:
            parts.append(self.texts.found["with_notes"].format(count=notes))
        return self._item(r, template, ConnectorStatus.OK, "fits", _join(*parts), problems=problems)

    def _problem_text(self, finding: SchemaFinding) -> LocalText:
        values = {"path": finding.path, **{k: v for k, v in finding.details.items()}}
        return self.texts.problem[finding.code].format(**values)

    def _unknown(
        self, r: Requirement, template: ExportTemplate, found: LocalText
    ) -> ConnectorResult:
        return self._item(
            r,
            template,
            ConnectorStatus.UNKNOWN,
            "afas_unavailable",
            found,
            fix=self.check_texts.fix["afas_side"],
        )

    def _item(
        self,
        r: Requirement,
        template: ExportTemplate,
        status: ConnectorStatus,
        finding: str,
        found: LocalText,
        *,
        fix: LocalText | None = None,
        profit_log_reference: str | None = None,
        problems: tuple[ProblemItem, ...] = (),
        **details: Any,
    ) -> ConnectorResult:
        return ConnectorResult(
            connector_id=r.connector or "",
            requirement_id=r.id,
            method=template.method,
            status=status,
            finding=finding,
            guide_section=r.guide_section,
            found=found,
            fix=fix,
            profit_log_reference=profit_log_reference,
            problems=problems,
            details={k: v for k, v in details.items() if v is not None},
        )

    def _reason(self, outcome: AfasOutcome) -> LocalText:
        reasons = self.check_texts.reason
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


def template_findings(template: ExportTemplate, metainfo: Any) -> tuple[SchemaFinding, ...]:
    """Hold the template, filled with sample values, against ``metainfo/update`` JSON. Pure.

    The step's payload is judged with its own method; a PUT removal (the sales relation's block)
    is judged too, as a PUT, since the live export sends it. Failing findings come first.
    """
    schema = parse_update_schema(metainfo, template.root)
    if schema is None:
        raise ValueError("not AFAS's metainfo/update shape")
    values = samples()
    findings = list(
        compare(
            render(template.payload, values),
            schema,
            method=template.method,
            root=template.root,
            connector_id=template.connector,
            mandatory_unreliable=template.mandatory_unreliable,
        )
    )
    removal = template.removal
    if removal is not None and removal.payload is not None:
        seen = {(f.code, f.path) for f in findings}
        for finding in compare(
            render(removal.payload, values),
            schema,
            method=removal.method,
            root=template.root,
            connector_id=template.connector,
            mandatory_unreliable=template.mandatory_unreliable,
        ):
            if (finding.code, finding.path) not in seen:
                findings.append(replace(finding, details={**finding.details, "part": "removal"}))
    return tuple(sorted(findings, key=lambda f: not f.failing))


def _count_sent(payload: dict[str, Any]) -> tuple[int, int]:
    """How many distinct fields and objects the template sends (for the "fits" text)."""
    fields: set[str] = set()
    objects: set[str] = set()

    def walk(node: Any, path: str) -> None:
        objects.add(path)
        raw = node.get("Element") if isinstance(node, dict) else None
        for element in raw if isinstance(raw, list) else [raw]:
            if not isinstance(element, dict):
                continue
            fields.update(f"{path}.{k.lstrip('@')}" for k in element if k.startswith("@"))
            fields.update(f"{path}.{k}" for k in (element.get("Fields") or {}))
            children = element.get("Objects") or {}
            pairs = (
                children.items()
                if isinstance(children, dict)
                else [p for entry in children for p in entry.items()]
            )
            for name, child in pairs:
                walk(child, f"{path}.{name}")

    for root, node in payload.items():
        walk(node, root)
    return len(fields), len(objects)


def _join(*texts: LocalText | None) -> LocalText:
    """Found-text fragments, one after another: "fits ...; PUT only ..."."""
    present = [t for t in texts if t is not None]
    return LocalText(nl="; ".join(t.nl for t in present), en="; ".join(t.en for t in present))


def _with_reference(outcome: AfasOutcome) -> str:
    message = outcome.message or f"HTTP {outcome.status}"
    if outcome.profit_log_reference:
        return f"{message} (profitLogReference {outcome.profit_log_reference})"
    return message
