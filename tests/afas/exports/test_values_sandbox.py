"""Discovering a live export's values over real HTTP against the AFAS sandbox.

10001 is a complete App Connector; 10017 lacks CaseWare_Periods; 10030 serves the same five
GetConnectors with other field ids and English labels (and English values), so anything that
hard-coded the catalogue's ids would fail there.
"""

from __future__ import annotations

from datetime import date

from afas.client import AfasClient
from afas.exports.values import (
    CannotChooseReason,
    GivenValues,
    ValueName,
    ValuesResult,
    discover_values,
)
from afas.sandbox.scenario import Scenario

TODAY = date(2024, 9, 15)
READS = 10  # metainfo/get and the rows, for each of the five connectors


async def discover(
    client: AfasClient, scenario: Scenario, name: str, given: GivenValues | None = None
) -> ValuesResult:
    env = scenario.by_name(name)
    return await discover_values(client, env.environment(), env.token(), given=given, today=TODAY)


async def test_healthy_finds_every_value_with_its_source(client, scenario) -> None:
    result = await discover(client, scenario, "healthy")
    values = result.values
    assert values is not None and result.warnings == ()
    assert (values.administration, values.year, values.period) == (1, 2024, 9)
    assert (values.journal, values.cost_account, values.vat_code) == ("MEM", "4100", "H0")
    assert values.entry_date == TODAY
    expected = {  # name: (English, Dutch)
        ValueName.ADMINISTRATION: "SBQ_Administratie, {f} 'AdminId' (Administratie) = 1",
        ValueName.PERIOD: "CaseWare_Periods, {fs} 'Year' (Boekjaar) = 2024 {and} "
        "'Period' (Periode) = 9",
        ValueName.JOURNAL: "Precal_Dagboeken, {f} 'JournalId' (Dagboek) = MEM",
        ValueName.COST_ACCOUNT: "SBQ_Grootboekrekeningen, {f} 'AccountNo' (Rekeningnummer) = 4100",
        ValueName.VAT_CODE: "SBQ_BTW, {f} 'VatCode' (Btw-code) = H0",
    }
    for name, start in expected.items():
        source = values.source(name)
        en = start.format(f="field", fs="fields", **{"and": "and"})
        nl = start.format(f="veld", fs="velden", **{"and": "en"})
        assert source.text.en.startswith(en), source.text.en
        assert source.text.nl.startswith(nl), source.text.nl
        assert not source.given


async def test_english_lacks_caseware_periods_so_only_the_period_is_refused(
    client, scenario
) -> None:
    result = await discover(client, scenario, "english")
    assert result.values is None
    [refusal] = result.refusals
    assert refusal.value is ValueName.PERIOD
    assert refusal.reason is CannotChooseReason.CONNECTOR_MISSING
    assert refusal.connector == "CaseWare_Periods"
    assert "CaseWare_Periods is not in the App Connector" in refusal.message.en
    assert "CaseWare_Periods staat niet in de App Connector" in refusal.message.nl
    found = {name: d.value for name, d in result.found.items()}
    assert found == {
        ValueName.ADMINISTRATION: 1,
        ValueName.JOURNAL: "MEM",
        ValueName.COST_ACCOUNT: "4100",
        ValueName.VAT_CODE: "H0",
    }


async def test_english_with_the_period_given_has_every_value(client, scenario) -> None:
    result = await discover(client, scenario, "english", GivenValues.parse(period="2024-10"))
    values = result.values
    assert values is not None
    assert (values.year, values.period, values.entry_date) == (2024, 10, date(2024, 10, 1))
    assert "not checked: CaseWare_Periods is not in the App Connector" in (
        values.source(ValueName.PERIOD).text.en
    )


async def test_english_columns_are_found_by_their_labels(client, scenario) -> None:
    """Depends on the sandbox environment 10030 (column_variant "english")."""
    result = await discover(client, scenario, "export-english-columns")
    values = result.values
    assert values is not None and result.warnings == ()
    assert (values.administration, values.year, values.period) == (1, 2024, 9)
    assert (values.journal, values.cost_account, values.vat_code) == ("MEM", "4100", "H0")
    labels = {
        ValueName.ADMINISTRATION: "(Administration) = 1",
        ValueName.PERIOD: "(Financial year) = 2024",
        ValueName.JOURNAL: "(Journal) = MEM",
        ValueName.COST_ACCOUNT: "(Account number) = 4100",
        ValueName.VAT_CODE: "(VAT code) = H0",
    }
    healthy_ids = ("'AdminId'", "'Year'", "'JournalId'", "'AccountNo'", "'VatCode'")
    for name, label in labels.items():
        text = values.source(name).text.en
        assert label in text, text
        assert not any(i in text for i in healthy_ids), text
    assert "Memorial" in values.source(ValueName.JOURNAL).text.en
    assert "Profit and loss" in values.source(ValueName.COST_ACCOUNT).text.en


async def test_all_periods_blocked_in_afas_refuses_the_period(client, scenario) -> None:
    result = await discover(client, scenario, "export-all-periods-blocked")
    refusal = result.refusal(ValueName.PERIOD)
    assert refusal is not None and refusal.reason is CannotChooseReason.NO_SUITABLE_ROW
    assert "blocked" in refusal.why.en and "geblokkeerd" in refusal.why.nl
    assert result.values is None


async def test_a_given_period_afas_reports_blocked_is_refused(client, scenario) -> None:
    result = await discover(client, scenario, "healthy", GivenValues.parse(period="03-2024"))
    refusal = result.refusal(ValueName.PERIOD)
    assert refusal is not None and refusal.reason is CannotChooseReason.GIVEN_VALUE_REFUSED


async def test_the_reads_are_concurrent(sandbox, scenario) -> None:
    """All ten reads are started together (the client's per-environment limit then keeps
    AFAS's parallel-call limit). Counted at the client's send, not timed."""
    in_flight = peak = calls = 0
    async with AfasClient(url_template=sandbox.url_template, timeout=10.0) as client:
        original = client._send_once

        async def counting(*args, **kwargs):
            nonlocal in_flight, peak, calls
            calls += 1
            in_flight += 1
            peak = max(peak, in_flight)
            try:
                return await original(*args, **kwargs)
            finally:
                in_flight -= 1

        client._send_once = counting  # type: ignore[method-assign]
        result = await discover(client, scenario, "healthy")
    assert result.ok
    assert calls == READS
    assert peak == READS  # all ten started before the first answer


async def test_no_token_in_any_text(client, scenario) -> None:
    env = scenario.by_name("english")
    result = await discover(client, scenario, "english")
    texts = [d.source.text for d in result.found.values()]
    texts += [r.message for r in result.refusals] + list(result.warnings)
    assert texts
    for text in texts:
        assert env.token_data not in text.nl and env.token_data not in text.en
