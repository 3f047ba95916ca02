"""A check report in Slack: what an agent sees, in their language, within Slack's limits."""

from __future__ import annotations

import base64
import dataclasses

import pytest

from afas.report import ItemStatus
from bot.blocks import escape, redact, truncate
from bot.blocks.report import report_blocks, report_text
from tests.bot.blocks import factories as f
from tests.bot.blocks.helpers import (
    assert_within_slack_limits,
    contexts,
    dump,
    header,
    sections,
    types,
)


def test_a_healthy_report_says_so_in_one_line() -> None:
    blocks = report_blocks(f.healthy(), language="en", org_key="acme", display_name="Acme BV")
    assert types(blocks) == ["header", "section", "context", "context", "actions"]
    assert header(blocks) == ":white_check_mark: Acme BV (acme): Healthy"
    assert sections(blocks) == [
        "Healthy: everything the guide asks that we can see is in place"
    ]  # the headline, and no item
    facts, summary = contexts(blocks)
    assert "environment 12345 (production)" in facts and "Profit 22.22.5" in facts
    assert f"token `{f.TOKEN.fingerprint}`" in facts and "413 ms" in facts
    assert "deep" not in facts
    assert summary == "28 OK · 3 not checkable through the API"


def test_a_healthy_report_in_dutch() -> None:
    blocks = report_blocks(f.healthy(), language="nl", org_key="acme")
    assert header(blocks) == ":white_check_mark: acme: In orde"
    assert contexts(blocks)[0].startswith("omgeving 12345 (productie) · Profit 22.22.5")
    assert contexts(blocks)[1] == "28 in orde · 3 niet controleerbaar via de API"


def test_each_problem_shows_its_guide_section_what_was_found_and_the_fix() -> None:
    blocks = report_blocks(f.near_misses(), language="en", org_key="acme")
    assert header(blocks) == ":x: acme: Failing"
    problems = sections(blocks)[1:]
    assert len(problems) == 3
    btw, cost, invoice = problems
    assert btw.splitlines() == [
        ":x: *GetConnector SBQ_BTW (VAT codes)* · Guide §1.1, 1.2.3",
        "is not in the App Connector",
        ":wrench: Ask the customer's AFAS administrator to import SBQ_BTW.gcn first (guide 1.1),"
        " then add SBQ_BTW on the App Connector's GetConnectors tab (1.2.3).",
    ]
    assert "found SBQ_Kostenplaatsen_All, expected SBQ_Kostenplaasten_All" in cost
    assert invoice.startswith(":x: *UpdateConnector FiInvoice (financial invoice)* · Guide §1.2.4")
    assert "found FiInvoices, expected FiInvoice" in invoice
    assert ":wrench: The id must match exactly" in invoice
    assert contexts(blocks)[-1] == "25 OK · 3 not checkable through the API"


def test_a_dutch_reader_gets_the_report_in_dutch() -> None:
    blocks = report_blocks(f.near_misses(), language="nl", org_key="acme")
    text = dump(blocks)
    assert header(blocks) == ":x: acme: Fout"
    assert "Handleiding §1.2.4" in text and "Guide §" not in text
    assert "SBQ_Kostenplaatsen_All gevonden, verwacht SBQ_Kostenplaasten_All" in text
    assert "found SBQ_Kostenplaatsen_All" not in text
    assert "Opnieuw controleren" in text


def test_a_rejected_token_collapses_what_it_kept_from_being_checked() -> None:
    blocks = report_blocks(f.rejected_token(), language="en", org_key="acme")
    token, app_connector, collapsed = sections(blocks)[1:]
    assert token.startswith(":x: *Token is accepted* · Guide §1.2.5")
    assert "AFAS rejects the token (HTTP 401)" in token and ":wrench:" in token
    assert "1.2.8" in app_connector  # its own finding, not collapsed
    assert collapsed.splitlines() == [
        ":grey_question: *27 other requirements*",
        "not checked: AFAS does not accept the token",
    ]
    assert "SBQ_BTW" not in dump(blocks)  # no row per requirement


def test_unreachable_afas_is_one_line_with_nothing_for_the_customer_to_do() -> None:
    for language, expected in (
        ("en", ":grey_question: *29 requirements*"),
        ("nl", ":grey_question: *29 vereisten*"),
    ):
        blocks = report_blocks(f.unreachable(), language=language, org_key="acme")
        assert header(blocks).startswith(":grey_question: acme: ")
        (collapsed,) = sections(blocks)[1:]
        assert collapsed.splitlines()[0] == expected
        assert "afasstatus.nl" in collapsed and "60 min" in collapsed


def test_problems_are_ordered_failing_then_warning_then_undetermined() -> None:
    base = f.failing_item(1, length=0)
    report = f.artificial(
        [
            dataclasses.replace(base, requirement_id="u", status=ItemStatus.UNKNOWN, finding="x"),
            dataclasses.replace(base, requirement_id="w", status=ItemStatus.WARNING),
            dataclasses.replace(base, requirement_id="f", status=ItemStatus.FAILING),
        ]
    )
    emoji = [s.split()[0] for s in sections(report_blocks(report, language="en"))[1:]]
    assert emoji == [":x:", ":warning:", ":grey_question:"]


def test_a_deep_report_says_deep_and_keeps_field_lists_out() -> None:
    report = f.deep_with_fields(400)
    blocks = report_blocks(report, language="en", org_key="acme")
    assert contexts(blocks)[0].endswith(" · deep")
    assert "Field_0001" not in dump(blocks)
    full = report_blocks(report, language="en", org_key="acme", problems_only=False)
    assert_within_slack_limits(full)
    listed = "\n".join(sections(full)[1:])
    assert listed.count(":white_check_mark:") == 28
    assert "runs: 1 row(s) with take=1, 400 fields" in listed
    assert "metainfo/update describes 400 fields" in listed
    assert listed.count(":heavy_minus_sign:") == 3  # not checkable, with why
    assert "Field_0001" not in dump(full)
    dutch = report_blocks(report, language="nl", problems_only=False)
    assert "diepe controle" in contexts(dutch)[0]
    assert "werkt: 1 rij(en) met take=1, 400 velden" in dump(dutch)


def test_without_an_org_the_header_names_the_environment_and_there_are_no_buttons() -> None:
    blocks = report_blocks(f.healthy(), language="en")
    assert header(blocks) == ":white_check_mark: AFAS environment 12345 (production): Healthy"
    assert "actions" not in types(blocks)
    dutch = report_blocks(f.healthy(), language="nl")
    assert header(dutch) == ":white_check_mark: AFAS-omgeving 12345 (productie): In orde"


def test_the_buttons_recheck_the_org() -> None:
    blocks = report_blocks(f.near_misses(), language="en", org_key="acme")
    actions = blocks[-1]
    assert actions["type"] == "actions"
    buttons = [(e["action_id"], e["value"], e["text"]["text"]) for e in actions["elements"]]
    assert buttons == [
        ("recheck", "acme", "Re-check"),
        ("recheck_deep", "acme", "Deep check"),
        ("export_dry_run", "acme", "Test export"),
        ("handover", "acme", "Handover"),
    ]
    quiet = report_blocks(f.near_misses(), language="en", org_key="acme", with_actions=False)
    assert "actions" not in types(quiet)


@pytest.mark.parametrize("problems_only", [True, False])
@pytest.mark.parametrize("language", ["nl", "en"])
def test_200_long_failing_items_stay_within_slacks_limits(problems_only, language) -> None:
    report = f.artificial([f.failing_item(n) for n in range(200)])
    blocks = report_blocks(
        report,
        language=language,
        org_key="acme",
        display_name="A" * 500,
        problems_only=problems_only,
    )
    assert_within_slack_limits(blocks)
    assert len(header(blocks)) == 150 and header(blocks).endswith("…")
    shown = [s for s in sections(blocks) if s.startswith(":x: *GetConnector")]
    assert shown, "at least the first problems are shown"
    assert all(s.endswith("…") for s in shown)  # each long text cut, not dropped
    assert types(blocks)[-1] == "actions"  # the buttons survive the overflow
    (more,) = [c for c in contexts(blocks) if c.startswith("…")]
    left = 200 - len(shown)
    assert more == (f"… and {left} more" if language == "en" else f"… en nog {left} andere")
    assert "12 s" in contexts(blocks)[0]


def test_many_short_problems_stop_at_50_blocks() -> None:
    report = f.artificial([f.failing_item(n, length=0) for n in range(200)])
    blocks = report_blocks(report, language="en", org_key="acme")
    assert len(blocks) == 50
    assert_within_slack_limits(blocks)
    shown = len(sections(blocks)) - 1
    assert contexts(blocks)[-1] == f"… and {200 - shown} more"


def test_an_afas_message_cannot_mention_or_link() -> None:
    report = f.afas_message("<@U123> & <https://evil>")
    for language in ("nl", "en"):
        text = dump(report_blocks(report, language=language, org_key="acme"))
        assert "&lt;@U123&gt; &amp; &lt;https://evil&gt;" in text
        assert "<@U123>" not in text and "<https://evil>" not in text
        assert "B8213AF1C3C54E579686406A8DE71C6C" in text  # the logbook reference stays


def test_user_given_names_cannot_mention_either() -> None:
    report = f.near_misses()
    text = report_text(report, language="en", org_key="<!channel>")
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    blocks = report_blocks(report, language="en", org_key="acme", display_name="<!here> & co")
    assert header(blocks).startswith(":x: <!here> & co (acme)")  # plain text: shown, not parsed
    assert blocks[0]["text"]["type"] == "plain_text"


def test_no_token_appears_only_its_fingerprint() -> None:
    token = f.TOKEN
    encoded = token.authorization_header().split()[1]
    echoed = f"bad header AfasToken {encoded} for {token.xml} ({token.reveal_data()})"
    for report in (f.healthy(), f.rejected_token(), f.afas_message(echoed)):
        for language in ("nl", "en"):
            for problems_only in (True, False):
                text = dump(
                    report_blocks(
                        report, language=language, org_key="acme", problems_only=problems_only
                    )
                ) + report_text(report, language=language)
                assert token.fingerprint in text
                assert token.reveal_data() not in text
                assert token.reveal_data()[:40] not in text
                assert encoded[:40] not in text
                assert "<token>" not in text and "&lt;token&gt;" not in text
                assert base64.b64encode(b"<token>").decode()[:8] not in text


def test_report_text_is_the_notification_fallback() -> None:
    text = report_text(f.near_misses(), language="en", org_key="acme")
    assert text == (
        ":x: acme — Failing: 1 connector is missing from the App Connector; 2 connector ids are"
        " misspelled (3 problems)"
    )
    dutch = report_text(f.rejected_token(), language="nl")
    assert dutch.startswith(":x: AFAS-omgeving 12345 (productie) — Fout: ")
    assert dutch.endswith("(1 probleem)")
    assert report_text(f.healthy(), language="en", org_key="acme").startswith(
        ":white_check_mark: acme — Healthy"
    )


def test_an_unknown_language_reads_english() -> None:
    assert header(report_blocks(f.healthy(), language="fr", org_key="acme")).endswith("Healthy")


def test_truncation_never_splits_an_entity() -> None:
    text = escape("a" * 10 + "&" * 10)
    for limit in range(5, len(text)):
        cut = truncate(text, limit)
        assert len(cut) <= limit and cut.endswith("…")
        assert cut[:-1].count("&") == cut[:-1].count("&amp;")


def test_redaction_keeps_ordinary_text() -> None:
    assert redact("SBQ_Kostenplaasten_All (1.1, 1.2.3)") == "SBQ_Kostenplaasten_All (1.1, 1.2.3)"
    assert redact("ref B8213AF1C3C54E579686406A8DE71C6C") == "ref B8213AF1C3C54E579686406A8DE71C6C"
    assert f.TOKEN.reveal_data() not in redact(f"x {f.TOKEN.reveal_data()} y")
