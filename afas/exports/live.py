"""The live test export: write clearly marked test records to a customer's AFAS, then remove them.

Only a write shows some of the setup (guide §1.2.4 for real, §1.2.9 at all), so after a dry run
(the preflight: the token, the App Connector's list, every template against its metainfo) the
export sends each template in step order (afas/profiles/smartbooqing_exports.toml): a purchase
relation and a sales relation named "AFASBOT TEST <run-id>", an entry of 0.01 on a purchase
invoice for that relation, the invoice blocked for payment, and a dossier item with a small PDF
linked to relation and invoice. Then it removes what it made, newest first
(``afas.exports.cleanup.remove_newest_first``).

Safety, in the order it matters:
- A POST is sent once. A lost answer is not retried (the record may exist); it is journalled
  as ``unknown`` and the cleanup looks the record up by its marker later.
- Every fact goes to the caller's ``ExportJournal`` before the next request, so a crash at any
  point leaves a run that ``cleanup`` can finish.
- A step whose input an earlier step failed to make is not attempted, and says which step.
- Whatever cannot be removed is listed in ``left_behind`` with how to remove it by hand.

AFAS's "Deze bestemming is niet geldig voor dit type dossieritem" on the dossier item is guide
§1.2.9 not done: the ``dossier-destination`` check fails with the guide's fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

from afas.client import AfasClient
from afas.environments import AfasEnvironment
from afas.exports.cleanup import (
    ExportSession,
    Held,
    Removed,
    how_to_find,
    remove_newest_first,
    with_reference,
)
from afas.exports.dry_run import dry_run
from afas.exports.journal import ExportJournal, record_key, run_values
from afas.exports.placeholders import PLACEHOLDERS, PlaceholderSource, render
from afas.exports.report import (
    Access,
    CheckStatus,
    ConnectorResult,
    ConnectorStatus,
    ExportCheck,
    ExportFrame,
    ExportMode,
    ExportOverall,
    ExportReport,
    LeftBehind,
    decide_overall,
    headline,
)
from afas.exports.templates import ExportTemplate, ExportTemplates, load_templates
from afas.exports.values import ExportValues, ValueName
from afas.outcomes import AfasOutcome, OutcomeKind
from afas.profile import LocalText, Profile
from afas.tokens import AfasToken

#: Transport failures that happen before the request leaves: AFAS never saw it (§7).
_NOT_SENT = frozenset({"dns", "tls", "connect", "connect_timeout"})
#: A dry-run finding that makes writing pointless: the token may not use the connector.
_UNUSABLE = frozenset({"missing", "near_miss", "not_authorised"})
#: Run placeholders that name a record an earlier POST creates: the purchase invoice exists
#: only once the entry that carries its number is booked (afas-api.md §6.4).
_RECORD_NAMES = frozenset({"invoice_id"})


async def live_export(
    client: AfasClient,
    environment: AfasEnvironment,
    token: AfasToken,
    profile: Profile,
    *,
    values: ExportValues,
    run_id: str,
    journal: ExportJournal,
    now: datetime | None = None,
    org: str = "",
    templates: ExportTemplates | None = None,
) -> ExportReport:
    """Write the test records, remove them again, and report (mode ``live``).

    ``values`` come from ``discover_values`` (the customer's own GetConnectors, or the agent).
    An exception from ``journal`` propagates at once: nothing more is sent; ``cleanup``
    finishes the run from what the journal holds.
    """
    templates = templates or load_templates(profile)
    frame = ExportFrame.begin(org, ExportMode.LIVE, environment, token, profile, now)
    started_at = frame.started_at
    own = run_values(run_id)
    preflight = await dry_run(
        client, environment, token, profile, now=started_at, org=org, templates=templates
    )
    session = ExportSession(client, environment, token, templates, journal)
    session.requests = preflight.requests
    access = Access(preflight.facts["access"])
    run = _LiveRun(session, templates, preflight, _placeholders(values, own, started_at))
    if access is Access.OPEN:
        await run.write_all()
        run.removed = await remove_newest_first(session, run.held)
    connectors = run.connector_results()
    checks = run.checks()
    overall = decide_overall(access, connectors, checks)
    left = run.left_behind()
    texts = session.texts
    if overall is ExportOverall.OK and left:
        title = texts.overall["ok_live_left"].format(count=len(left))
    else:
        title = headline(overall, ExportMode.LIVE, texts)
    facts = {
        **preflight.facts,
        "run_id": run_id,
        "marker": own["marker"],
        "values": _value_facts(values, run.values),
    }
    return frame.report(
        overall=overall,
        headline=title,
        connectors=connectors,
        checks=checks,
        created=tuple(r.record for r in run.removed),
        left_behind=left,
        requests=session.requests,
        facts=facts,
    )


@dataclass
class _Unknown:
    """A record whose POST was sent and whose answer was lost: it may exist."""

    step: int
    template: ExportTemplate
    key: dict[str, str]


@dataclass
class _LiveRun:
    session: ExportSession
    templates: ExportTemplates
    preflight: ExportReport
    values: dict[str, Any]
    results: dict[int, ConnectorResult] = field(default_factory=dict)
    failed: set[int] = field(default_factory=set)
    held: list[Held] = field(default_factory=list)
    unknown: list[_Unknown] = field(default_factory=list)
    removed: list[Removed] = field(default_factory=list)

    # -- writing -----------------------------------------------------------------------------

    async def write_all(self) -> None:
        ordered = self.templates.templates
        for index, template in enumerate(ordered):
            before = self.preflight.connector(template.connector)
            blocker = self._blocker(template, ordered[:index])
            if blocker is not None:
                found = self.session.texts.found["live_not_attempted"].format(
                    step=blocker.step, connector=blocker.connector
                )
                self._result(template, before, ConnectorStatus.UNKNOWN, "not_attempted", found)
                self.failed.add(template.step)
                continue
            if before.status is ConnectorStatus.FAILING and before.finding in _UNUSABLE:
                found = self.session.texts.found["live_not_usable"].format(found=before.found)
                self.results[template.step] = replace(
                    before, found=found, details={**before.details, "step": template.step}
                )
                self.failed.add(template.step)
                continue
            await self._write(template, before)

    def _blocker(
        self, template: ExportTemplate, earlier: tuple[ExportTemplate, ...]
    ) -> ExportTemplate | None:
        """The first earlier step this one needs that failed: it provides a key this step
        sends, or creates a record (the invoice) this step names."""
        used = template.placeholders()["step"]
        for candidate in earlier:
            provides = set(candidate.provides.values())
            creates = (
                candidate.method == "POST"
                and used & _RECORD_NAMES & candidate.placeholders()["step"]
            )
            if (provides & used or creates) and candidate.step in self.failed:
                return candidate
        return None

    async def _write(self, template: ExportTemplate, before: ConnectorResult) -> None:
        session, journal = self.session, self.session.journal
        step, connector = template.step, template.connector
        creates = template.method == "POST"
        texts = session.texts.found
        body = _without_nulls(render(template.payload, self.values))
        if creates:
            await journal.before_write(step, connector, self.values["marker"])
        outcome = await session.send(
            template.method, f"/connectors/{connector}", body, idempotent=not creates
        )
        method = template.method
        if outcome.ok:
            answered = _answer_keys(outcome.data, template)
            missing = [k for k in template.provides if not answered.get(k)]
            if creates and missing:  # written, but we cannot name it: the cleanup finds it
                await journal.answer_lost(step, connector)
                self._lost(template)
                found = texts["live_no_key"].format(
                    method=method, missing=", ".join(missing), marker=self.values["marker"]
                )
                self._result(
                    template,
                    before,
                    ConnectorStatus.UNKNOWN,
                    "answer_lost",
                    found,
                    fix=session.texts.fix["answer_lost"],
                )
                return
            key: dict[str, str] = {}
            if creates:
                key = record_key(template, answered, self.values)
                await journal.created(step, connector, key)
                for answer_key, name in template.provides.items():
                    self.values[name] = answered[answer_key]
                self.held.append(Held(step, template, key, self.values))
            shown = ", ".join(f"{k} {v}" for k, v in answered.items())
            found = texts["live_written"].format(method=method, keys=f" ({shown})" if shown else "")
            self._result(template, before, ConnectorStatus.OK, "written", found, key=key)
            return
        self.failed.add(step)
        if outcome.kind is OutcomeKind.TRANSPORT_ERROR and outcome.reason in _NOT_SENT:
            if creates:
                await journal.removed(step, connector, {})  # never sent: does not exist
            found = texts["live_not_sent"].format(reason=session.reason(outcome))
            self._unavailable(template, before, found)
            return
        if creates and outcome.kind in (OutcomeKind.TRANSPORT_ERROR, OutcomeKind.MALFORMED_ANSWER):
            await journal.answer_lost(step, connector)
            self._lost(template)
            found = texts["live_answer_lost"].format(
                method=method, reason=session.reason(outcome), marker=self.values["marker"]
            )
            self._result(
                template,
                before,
                ConnectorStatus.UNKNOWN,
                "answer_lost",
                found,
                fix=session.texts.fix["answer_lost"],
            )
            return
        if creates:
            # AFAS validates before it writes (§6.1): a refusal or 503 created nothing.
            await journal.removed(step, connector, {})
        if outcome.afas_side:
            found = session.check_texts.found["not_checked_afas"].format(
                reason=session.reason(outcome)
            )
            self._unavailable(template, before, found)
            return
        self._refused(template, before, outcome)

    def _refused(
        self, template: ExportTemplate, before: ConnectorResult, outcome: AfasOutcome
    ) -> None:
        session = self.session
        message = with_reference(outcome)
        reference = outcome.profit_log_reference
        spec = self.templates.destination_check
        if (
            spec is not None
            and spec.connector == template.connector
            and re.search(spec.error_pattern, outcome.message or "", re.I)
        ):
            found = session.texts.found["destination_refused"].format(message=message)
            fix = session.texts.fix["destination_not_allowed"]
            self._result(
                template,
                before,
                ConnectorStatus.FAILING,
                "destination_not_allowed",
                found,
                fix=fix,
                reference=reference,
                guide_section=spec.guide_section,
            )
            return
        found = session.texts.found["live_refused"].format(method=template.method, message=message)
        if outcome.kind is OutcomeKind.CONNECTOR_NOT_AUTHORISED:
            fix = session.check_texts.fix["update_connector"].format(
                connector=template.connector, section=before.guide_section
            )
            finding = "not_authorised"
        elif _uses_customer_values(template):
            fix = session.texts.fix["entry_refused"].format(
                reference=reference or "-", values=self._used_values(template)
            )
            finding = "write_refused"
        else:
            fix = session.check_texts.fix["functional_error"].format(reference=reference or "-")
            finding = "write_refused"
        self._result(
            template, before, ConnectorStatus.FAILING, finding, found, fix=fix, reference=reference
        )

    def _used_values(self, template: ExportTemplate) -> str:
        names = sorted(
            n
            for n in template.placeholders()["step"]
            if PLACEHOLDERS[n].source is PlaceholderSource.CUSTOMER
        )
        return ", ".join(f"{n} {self.values.get(n)}" for n in names)

    def _lost(self, template: ExportTemplate) -> None:
        self.unknown.append(
            _Unknown(template.step, template, record_key(template, {}, self.values))
        )

    def _unavailable(
        self, template: ExportTemplate, before: ConnectorResult, found: LocalText
    ) -> None:
        fix = self.session.check_texts.fix["afas_side"]
        self._result(template, before, ConnectorStatus.UNKNOWN, "afas_unavailable", found, fix=fix)

    def _result(
        self,
        template: ExportTemplate,
        before: ConnectorResult,
        status: ConnectorStatus,
        finding: str,
        found: LocalText,
        *,
        fix: LocalText | None = None,
        reference: str | None = None,
        key: dict[str, str] | None = None,
        guide_section: str | None = None,
    ) -> None:
        details: dict[str, Any] = {"step": template.step}
        if key:
            details["key"] = dict(key)
        if before.status is not ConnectorStatus.OK:  # what the dry run said, kept
            details["dry_run_finding"] = before.finding
        self.results[template.step] = replace(
            before,
            method=template.method,
            status=status,
            finding=finding,
            guide_section=guide_section or before.guide_section,
            found=found,
            fix=fix,
            profit_log_reference=reference,
            details=details,
        )

    # -- the report's parts ------------------------------------------------------------------

    def connector_results(self) -> tuple[ConnectorResult, ...]:
        """In the profile's order, as the dry run lists them; untouched ones as it saw them."""
        by_connector = {
            t.connector: self.results[t.step]
            for t in self.templates.templates
            if t.step in self.results
        }
        return tuple(by_connector.get(c.connector_id, c) for c in self.preflight.connectors)

    def checks(self) -> tuple[ExportCheck, ...]:
        spec = self.templates.destination_check
        checks = []
        for check in self.preflight.checks:
            if spec is None or check.id != spec.id:
                checks.append(check)
                continue
            texts = self.session.texts
            step = self.templates.for_connector(spec.connector).step
            result = self.results.get(step)
            if result is not None and result.status is ConnectorStatus.OK:
                checks.append(
                    replace(
                        check,
                        status=CheckStatus.OK,
                        found=texts.found["destination_ok"],
                        fix=None,
                        finding="accepted",
                    )
                )
            elif result is not None and result.finding == "destination_not_allowed":
                checks.append(
                    replace(
                        check,
                        status=CheckStatus.FAILING,
                        found=result.found,
                        fix=texts.fix["destination_not_allowed"],
                        finding="refused",
                        profit_log_reference=result.profit_log_reference,
                    )
                )
            else:
                checks.append(
                    replace(
                        check, found=texts.found["destination_not_reached"], finding="not_reached"
                    )
                )
        return tuple(checks)

    def left_behind(self) -> tuple[LeftBehind, ...]:
        """What stays: the removals' leftovers and every record whose answer was lost."""
        texts = self.session.texts.found
        left = [r.left for r in self.removed if r.left is not None]
        for item in self.unknown:
            reason = texts["left_unknown"].format(method=item.template.method)
            left.append(
                LeftBehind(
                    item.template.connector,
                    item.key,
                    reason,
                    how_to_find(self.session, self.values),
                )
            )
        return tuple(left)


# -- values ----------------------------------------------------------------------------------


def _placeholders(values: ExportValues, own: dict[str, str], now: datetime) -> dict[str, Any]:
    filled: dict[str, Any] = {**values.placeholders(), **own}
    filled.setdefault("entry_date", _entry_date(values, now).isoformat())
    return filled


def _entry_date(values: ExportValues, now: datetime) -> date:
    """A day inside the period: the values' own, else the period's first day if periods are
    months, else today."""
    if values.entry_date is not None:
        return values.entry_date
    if 1 <= values.period <= 12:
        return date(values.year, values.period, 1)
    return now.date()


def _value_facts(values: ExportValues, filled: dict[str, Any]) -> dict[str, Any]:
    """Which value came from where (issue 7: "say which value came from where")."""
    facts: dict[str, Any] = {}
    for name in ValueName:
        source = values.sources.get(name)
        value = (
            f"{values.year}/{values.period}" if name is ValueName.PERIOD else filled.get(name.value)
        )
        facts[name.value] = {
            "value": value,
            "source": source.text.model_dump() if source else None,
            "given": bool(source and source.given),
        }
    facts["entry_date"] = filled.get("entry_date")
    return facts


def _uses_customer_values(template: ExportTemplate) -> bool:
    return any(
        PLACEHOLDERS[n].source is PlaceholderSource.CUSTOMER and n != "administration"
        for n in template.placeholders()["step"]
    )


def _without_nulls(node: Any) -> Any:
    """Fields whose value is None are left out (no purchase VAT code: no VaId at all)."""
    if isinstance(node, dict):
        return {k: _without_nulls(v) for k, v in node.items() if not (v is None and k != "Element")}
    if isinstance(node, list):
        return [_without_nulls(item) for item in node]
    return node


def _answer_keys(data: Any, template: ExportTemplate) -> dict[str, str]:
    """The keys in a 201 answer: ``results.<root>``, tolerating the documented variants
    (keyed by the connector id, no ``results`` wrapper, no body: afas-api.md §6.2, §13.5)."""
    if not isinstance(data, dict):
        return {}
    results = data.get("results", data)
    if not isinstance(results, dict):
        return {}
    block = results.get(template.root) or results.get(template.connector)
    if block is None and len(results) == 1:
        block = next(iter(results.values()))
    if not isinstance(block, dict):
        return {}
    wanted = template.result_keys or tuple(block)
    # AFAS's spec example writes InID for InId (§6.2): compare case-insensitively.
    lowered = {str(k).lower(): v for k, v in block.items()}
    return {k: str(lowered[k.lower()]) for k in wanted if lowered.get(k.lower()) not in (None, "")}
