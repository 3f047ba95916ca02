from __future__ import annotations

import pytest

from afas.near_miss import find_near_miss

REQUIRED = ["SBQ_Debiteuren", "SBQ_Crediteuren", "SBQ_Kostenplaasten_All", "DDI_Kosten"]


@pytest.mark.parametrize(
    ("expected", "listed", "aliases", "found", "reason"),
    [
        (
            "SBQ_Kostenplaasten_All",
            ["SBQ_Kostenplaatsen_All"],
            [],
            "SBQ_Kostenplaatsen_All",
            "typo",
        ),
        ("SBQ_Debiteuren", ["sbq_debiteuren"], [], "sbq_debiteuren", "case"),
        ("FiInvoice", ["FiInvoices"], ["FiInvoices"], "FiInvoices", "alias"),
        ("KnSubject", ["eKnSubject"], ["eKnSubject"], "eKnSubject", "alias"),
        ("Profit_Projects", ["Profit Projects"], ["Profit Projects"], "Profit Projects", "alias"),
        ("Profit_Projects", ["ProfitProjects"], [], "ProfitProjects", "punctuation"),
        ("DDI_Kosten", ["DDI_Kosten_Profit"], [], "DDI_Kosten_Profit", "suffix"),
        ("SBQ_Grootboekrekeningen", ["SBQ_Grootboek"], [], "SBQ_Grootboek", "prefix"),
    ],
)
def test_near_misses_are_named(expected, listed, aliases, found, reason) -> None:
    miss = find_near_miss(expected, listed, aliases=aliases)
    assert miss is not None
    assert (miss.found, miss.expected, miss.reason) == (found, expected, reason)


def test_an_exact_match_of_another_requirement_is_never_proposed() -> None:
    # SBQ_Crediteuren is two edits or so from SBQ_Debiteuren, but it is required in its own right.
    miss = find_near_miss("SBQ_Debiteuren", ["SBQ_Crediteuren"], reserved=REQUIRED)
    assert miss is None


def test_unrelated_connectors_are_not_near_misses() -> None:
    assert find_near_miss("SBQ_BTW", ["Profit_Subjects", "SBQ_Administratie", "KnSubject"]) is None


def test_the_best_candidate_wins() -> None:
    miss = find_near_miss("SBQ_BTW", ["SBQ_BTW_oud", "sbq_btw"])
    assert miss is not None and miss.found == "sbq_btw" and miss.reason == "case"
