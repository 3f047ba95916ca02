"""The test export's blocks: the report within Slack's limits, in both languages, with AFAS's
texts escaped and cleared of tokens; the confirmation modal naming every record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from afas.environments import AfasEnvironment
from afas.exports.report import (
    CheckStatus,
    ConnectorResult,
    ConnectorStatus,
    CreatedRecord,
    ExportCheck,
    ExportMode,
    ExportOverall,
    ExportReport,
    LeftBehind,
)
from afas.exports.templates import load_templates
from afas.profile import LocalText, load_profile
from afas.tokens import AfasToken
from bot.blocks.export import (
    ExportFormValues,
    busy_blocks,
    confirm_modal,
    export_blocks,
    export_text,
    result_view,
)
from tests.bot.blocks.helpers import assert_within_slack_limits, dump, header

TOKEN = AfasToken("0123456789ABCDEF" * 4)
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def lt(text: str) -> LocalText:
    return LocalText(nl=f"nl: {text}", en=text)


def connector(name: str, status=ConnectorStatus.OK, found="fits", fix=None, ref=None):
    return ConnectorResult(
        connector_id=name,
        requirement_id=f"update.{name}",
        method="POST",
        status=status,
        finding="fits" if status is ConnectorStatus.OK else "mismatch",
        guide_section="1.2.4",
        found=lt(found),
        fix=lt(fix) if fix else None,
        profit_log_reference=ref,
    )


def report(mode=ExportMode.DRY_RUN, overall=ExportOverall.OK, **parts) -> ExportReport:
    return ExportReport(
        org="acme",
        mode=mode,
        env_number="12345",
        env_kind="production",
        token_fingerprint="abc123",
        profile="smartbooqing",
        started_at=NOW,
        duration_ms=42.0,
        overall=overall,
        headline=lt("headline"),
        connectors=parts.pop("connectors", (connector("FiEntries"), connector("KnSubject"))),
        **parts,
    )


def test_a_dry_run_ok_report_has_its_verdict_a_line_per_connector_and_the_live_button() -> None:
    blocks = export_blocks(report(), language="en", org_key="acme", display_name="Acme BV")
    assert_within_slack_limits(blocks)
    assert header(blocks) == ":white_check_mark: Test export Acme BV (acme) (dry run): OK"
    text = dump(blocks)
    assert ":white_check_mark: *FiEntries* (POST) · Guide §1.2.4: fits" in text
    assert ":white_check_mark: *KnSubject* (POST)" in text
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["export_live"]
    assert actions[0]["elements"][0]["value"] == "acme"


def test_a_failing_connector_shows_finding_fix_and_log_reference_in_dutch() -> None:
    failing = connector(
        "KnSubject", ConnectorStatus.FAILING, "not in the App Connector", "add it", "ABC-123"
    )
    blocks = export_blocks(
        report(overall=ExportOverall.FAILING, connectors=(failing,)), language="nl", org_key="acme"
    )
    text = dump(blocks)
    assert header(blocks) == ":x: Testexport acme (proefrun): fout"
    assert ":x: *KnSubject* (POST) · Handleiding §1.2.4" in text
    assert "nl: not in the App Connector" in text and ":wrench: nl: add it" in text
    assert "AFAS-logreferentie (profitLogReference) `ABC-123`" in text


def test_afas_texts_are_escaped_and_tokens_never_shown() -> None:
    nasty = f"<!channel> & {TOKEN.reveal_data()} {TOKEN.xml}"
    failing = connector("KnSubject", ConnectorStatus.FAILING, nasty, nasty)
    blocks = export_blocks(report(connectors=(failing,)), language="en", org_key="acme")
    text = dump(blocks)
    assert "<!channel>" not in text and "&lt;!channel&gt; &amp;" in text
    assert TOKEN.reveal_data() not in text and "<token>" not in text


def test_a_live_report_lists_checks_created_and_left_behind_with_how_to_remove() -> None:
    live = report(
        mode=ExportMode.LIVE,
        checks=(
            ExportCheck(
                id="dossier-destination",
                guide_section="1.2.9",
                status=CheckStatus.FAILING,
                title=lt("Dossier item type allows attachments"),
                found=lt("AFAS refuses the destination"),
                fix=lt("set it to Optional"),
                profit_log_reference="REF-9",
            ),
        ),
        created=(
            CreatedRecord("KnPurchaseRelationOrg", {"CrId": "60001"}, removed=True),
            CreatedRecord("KnSalesRelationOrg", {"DbId": "20001"}, removed=False),
        ),
        left_behind=(
            LeftBehind("KnSalesRelationOrg", {"DbId": "20001"}, lt("blocked"), lt("delete it")),
        ),
    )
    blocks = export_blocks(live, language="en", org_key="acme", run_id="3f9a1c")
    text = dump(blocks)
    assert "(live): OK" in header(blocks) and "run `3f9a1c`" in text
    assert ":x: *Dossier item type allows attachments* · Guide §1.2.9" in text
    assert ":wrench: set it to Optional" in text and "`REF-9`" in text
    assert "*KnPurchaseRelationOrg* CrId 60001: removed again" in text
    assert "*KnSalesRelationOrg* DbId 20001: still there" in text
    assert "*Left behind in AFAS*" in text and ":wrench: delete it" in text
    assert not [b for b in blocks if b["type"] == "actions"]  # live: no live button again


def test_a_clean_up_owed_gets_the_button_in_a_message_and_the_command_in_a_modal() -> None:
    owed = report(mode=ExportMode.LIVE)
    blocks = export_blocks(owed, language="en", org_key="acme", cleanup_owed=True)
    actions = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["export_cleanup"]
    view = result_view(owed, language="en", org_key="acme", cleanup_owed=True)
    assert "`/afas export acme cleanup`" in dump(view["blocks"])
    assert not [b for b in view["blocks"] if b["type"] == "actions"]
    assert len(view["title"]["text"]) <= 24 and len(view["close"]["text"]) <= 24


def test_a_huge_report_stays_within_slack_limits_and_says_how_many_more() -> None:
    long = "x" * 5000
    many = tuple(
        connector(f"Conn{i}", ConnectorStatus.FAILING, long, long, "R" * 200) for i in range(80)
    )
    left = tuple(LeftBehind(f"Conn{i}", {"Id": str(i)}, lt(long), lt(long)) for i in range(40))
    big = report(mode=ExportMode.LIVE, overall=ExportOverall.FAILING, connectors=many)
    big = ExportReport(**{**big.__dict__, "left_behind": left})
    blocks = export_blocks(big, language="en", org_key="acme", cleanup_owed=True)
    assert_within_slack_limits(blocks)
    assert "more" in dump(blocks[-3:])  # "… and N more" before the clean-up and the buttons
    assert blocks[-1]["type"] == "actions"


def test_the_fallback_text_names_org_mode_and_headline() -> None:
    assert export_text(report(), language="nl", org_key="acme") == (
        ":white_check_mark: acme — testexport (proefrun): nl: headline"
    )


def test_busy_points_to_the_clean_up_button() -> None:
    blocks = busy_blocks("acme", "3f9a1c", language="en")
    assert "run 3f9a1c" in dump(blocks) and blocks[-1]["elements"][0]["value"] == "acme"


def test_the_confirmation_names_environment_kind_every_record_and_keeps_given_values() -> None:
    templates = load_templates(load_profile())
    view = confirm_modal(
        org_key="acme",
        display_name="Acme & Co",
        environment=AfasEnvironment.parse("12345", "test"),
        templates=templates,
        language="nl",
        values=ExportFormValues(period="2026-11"),
        notice=["CaseWare_Periods: every period is blocked"],
    )
    text = json.dumps(view, ensure_ascii=False)
    assert "*Acme &amp; Co (acme)*" in text and "*12345 (test)*" in text
    assert "productieomgeving" not in text  # only on production
    for template in templates.templates:
        assert f"({template.connector}, {template.method})" in text
    assert "Inkooprelatie 'AFASBOT TEST …'" in text
    assert "Er is niets geschreven. Geef deze waarden op" in text
    period = next(b for b in view["blocks"] if b.get("block_id") == "period")
    assert period["element"]["initial_value"] == "2026-11"
    assert json.loads(view["private_metadata"]) == {"org": "acme", "language": "nl"}
    for part in ("title", "submit", "close"):
        assert len(view[part]["text"]) <= 24
    production = confirm_modal(
        org_key="acme",
        display_name="Acme",
        environment=AfasEnvironment.parse("12345", "production"),
        templates=templates,
        language="en",
    )
    assert "This is a *production* environment" in json.dumps(production)
