"""The pure comparison: a template (with sample values) against metainfo/update JSON."""

from __future__ import annotations

import pytest

from afas.exports.dry_run import template_findings
from afas.exports.schema import Severity, compare, parse_update_schema
from afas.exports.templates import load_templates
from afas.profile import load_profile

from .helpers import at, broken, field_at, fitting_metainfo


@pytest.fixture(scope="module")
def templates():
    return load_templates(load_profile())


def codes(findings) -> list[tuple[str, str, str]]:
    return [(f.code, f.severity.value, f.path) for f in findings]


@pytest.mark.parametrize(
    "connector",
    ["FiEntries", "FiInvoice", "KnPurchaseRelationOrg", "KnSalesRelationOrg", "KnSubject"],
)
def test_every_template_fits_a_schema_that_describes_what_it_sends(templates, connector) -> None:
    template = templates.for_connector(connector)
    assert template_findings(template, fitting_metainfo(template)) == ()


def test_a_removed_line_field_fails_once_however_many_lines_send_it(templates) -> None:
    template = templates.for_connector("FiEntries")
    meta = broken(fitting_metainfo(template))
    lines = at(meta, "FiEntries")
    lines["fields"] = [f for f in lines["fields"] if f["fieldId"] != "BpDa"]
    assert codes(template_findings(template, meta)) == [
        ("field_unknown", "failing", "FiEntryPar.FiEntries.BpDa")
    ]


def test_a_retyped_field_fails_when_the_value_cannot_be_that_type(templates) -> None:
    template = templates.for_connector("KnPurchaseRelationOrg")
    meta = broken(fitting_metainfo(template))
    field_at(meta, "KnOrganisation.Nm")["dataType"] = "int"
    (finding,) = template_findings(template, meta)
    assert (finding.code, finding.path) == (
        "type_mismatch",
        "KnPurchaseRelationOrg.KnOrganisation.Nm",
    )
    assert finding.details == {"field": "Nm", "data_type": "int", "value_type": "string"}


def test_numeric_strings_fit_int_fields_because_afas_coerces_them(templates) -> None:
    template = templates.for_connector("KnSubject")
    meta = broken(fitting_metainfo(template))
    field_at(meta, ".StId")["dataType"] = "int"  # the template sends "-5"
    field_at(meta, "KnSubjectLink.SfTp")["dataType"] = "int"  # "11"
    assert template_findings(template, meta) == ()


def test_a_value_longer_than_the_field_fails_with_both_lengths(templates) -> None:
    template = templates.for_connector("KnSalesRelationOrg")
    meta = broken(fitting_metainfo(template))
    field_at(meta, "KnOrganisation.Nm")["length"] = 10
    (finding,) = template_findings(template, meta)
    assert finding.code == "too_long" and finding.severity is Severity.FAILING
    assert finding.details == {"field": "Nm", "length": len("AFASBOT TEST 3f9a1c"), "max": 10}


def test_the_sample_invoice_id_fits_afas_twelve_characters(templates) -> None:
    template = templates.for_connector("FiEntries")
    meta = broken(fitting_metainfo(template))
    field_at(meta, "FiEntries.InId")["length"] = 12
    assert template_findings(template, meta) == ()


def test_a_missing_mandatory_field_fails(templates) -> None:
    template = templates.for_connector("FiEntries")
    meta = broken(fitting_metainfo(template))
    at(meta, "FiEntries")["fields"].append(
        {**field_at(meta, "FiEntries.Ds"), "fieldId": "DaEx", "mandatory": True}
    )
    assert codes(template_findings(template, meta)) == [
        ("mandatory_missing", "failing", "FiEntryPar.FiEntries.DaEx")
    ]


def test_a_mandatory_flag_afas_own_examples_contradict_is_only_a_note(templates) -> None:
    template = templates.for_connector("FiEntries")  # lists FiEntryPar.FiEntries.EnNo
    meta = broken(fitting_metainfo(template))
    at(meta, "FiEntries")["fields"].append(
        {**field_at(meta, "FiEntries.Ds"), "fieldId": "EnNo", "mandatory": True}
    )
    assert codes(template_findings(template, meta)) == [
        ("mandatory_flag_unreliable", "note", "FiEntryPar.FiEntries.EnNo")
    ]


def test_a_put_needs_only_key_fields_of_the_mandatory_ones(templates) -> None:
    template = templates.for_connector("FiInvoice")
    meta = broken(fitting_metainfo(template))
    extra = field_at(meta, ".InId")
    meta["fields"].append({**extra, "fieldId": "ExDa", "mandatory": True})
    meta["fields"].append({**extra, "fieldId": "EnNo", "mandatory": True, "primaryKey": True})
    assert codes(template_findings(template, meta)) == [
        ("mandatory_missing", "failing", "FiInvoice.EnNo"),
        ("mandatory_not_needed_for_put", "note", "FiInvoice.ExDa"),
    ]


def test_an_unknown_nested_object_fails_and_is_not_looked_into(templates) -> None:
    template = templates.for_connector("KnPurchaseRelationOrg")
    meta = broken(fitting_metainfo(template))
    organisation = at(meta, "KnOrganisation")
    organisation["objects"] = []
    assert codes(template_findings(template, meta)) == [
        ("object_unknown", "failing", "KnPurchaseRelationOrg.KnOrganisation.KnBasicAddressAdr")
    ]


def test_the_sales_relations_block_put_is_judged_too(templates) -> None:
    template = templates.for_connector("KnSalesRelationOrg")
    meta = broken(fitting_metainfo(template))
    meta["fields"] = [f for f in meta["fields"] if f["fieldId"] != "Bl"]
    (finding,) = template_findings(template, meta)
    assert (finding.code, finding.path, finding.details["part"]) == (
        "field_unknown",
        "KnSalesRelationOrg.Bl",
        "removal",
    )


def test_code_table_fields_are_judged_leniently() -> None:
    """Profit 4 changed reported types and lengths of code-table fields (afas-api.md §4.3)."""
    meta = {
        "id": "X",
        "name": "X",
        "fields": [
            {
                "fieldId": "VaAs",
                "dataType": "int",
                "length": 0,
                "values": [{"id": "1"}, {"id": "2"}],
            },
            {"fieldId": "Kind", "dataType": "string", "length": 1, "values": [{"id": "AB"}]},
        ],
    }
    schema = parse_update_schema(meta, "X")
    payload = {"X": {"Element": {"Fields": {"VaAs": "3", "Kind": "AB"}}}}
    findings = compare(payload, schema, method="POST", root="X", connector_id="X")
    assert codes(findings) == [
        ("value_not_listed", "note", "X.VaAs"),
        ("code_table_length", "note", "X.Kind"),
    ]


def test_both_objects_forms_are_walked() -> None:
    meta = {
        "name": "R",
        "fields": [],
        "objects": [{"name": "A", "fields": [{"fieldId": "F", "dataType": "string"}]}],
    }
    schema = parse_update_schema(meta, "R")
    as_list = {"R": {"Element": {"Objects": [{"A": {"Element": [{"Fields": {"G": "x"}}]}}]}}}
    as_dict = {"R": {"Element": {"Objects": {"A": {"Element": {"Fields": {"G": "x"}}}}}}}
    for payload in (as_list, as_dict):
        findings = compare(payload, schema, method="POST", root="R", connector_id="R")
        assert codes(findings) == [("field_unknown", "failing", "R.A.G")]


def test_a_root_name_that_is_neither_root_nor_connector_is_a_note() -> None:
    schema = parse_update_schema({"name": "Other", "fields": []}, "FiEntryPar")
    findings = compare(
        {"FiEntryPar": {"Element": {}}},
        schema,
        method="POST",
        root="FiEntryPar",
        connector_id="FiEntries",
    )
    assert codes(findings) == [("root_name_differs", "note", "FiEntryPar")]
    named_by_id = parse_update_schema({"name": "FiEntries", "fields": []}, "FiEntryPar")
    assert (
        compare(
            {"FiEntryPar": {"Element": {}}},
            named_by_id,
            method="POST",
            root="FiEntryPar",
            connector_id="FiEntries",
        )
        == ()
    )


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"fields": "no"},
        {"fields": [{"id": "x"}]},
        {"fields": [], "objects": [{"fields": []}]},
    ],
)
def test_answers_without_afas_shape_are_not_read(data) -> None:
    assert parse_update_schema(data, "R") is None
