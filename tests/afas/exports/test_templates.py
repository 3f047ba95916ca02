"""Loading and validating payload templates: a broken file is refused at load, saying why."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

import pytest

from afas.exports.placeholders import PLACEHOLDERS, PlaceholderSource, render, samples
from afas.exports.templates import ExportTemplateError, load_templates, parse_templates
from afas.profile import ProfileError, RequirementKind, load_profile

CONTRACT_PLACEHOLDERS = {
    "administration", "year", "period", "journal", "cost_account", "vat_code",
    "marker", "run_id", "entry_date", "invoice_id", "creditor_id", "debtor_id",
    "entry_number", "attachment_name", "attachment_base64",
}  # fmt: skip


def builtin_text() -> str:
    return resources.files("afas.profiles").joinpath("smartbooqing_exports.toml").read_text()


def minimal(payload: str, *, connector="KnSubject", method="POST", root=None, extra="") -> str:
    return f"""
profile = "p"
[[template]]
connector = "{connector}"
step = 1
method = "{method}"
root = "{root or connector}"
title = {{ nl = "t", en = "t" }}
payload = '''{payload}'''
{extra}
"""


def test_the_builtin_templates_cover_the_profiles_update_connectors_in_export_order() -> None:
    profile = load_profile()
    templates = load_templates(profile)
    required = {r.connector for r in profile.of_kind(RequirementKind.UPDATE_CONNECTOR)}
    assert {t.connector for t in templates.templates} == required
    assert [t.connector for t in templates.templates] == [
        "KnPurchaseRelationOrg",
        "KnSalesRelationOrg",
        "FiEntries",
        "FiInvoice",
        "KnSubject",
    ]
    assert templates.for_connector("FiEntries").root == "FiEntryPar"
    assert templates.for_connector("FiInvoice").method == "PUT"
    assert templates.for_connector("KnSalesRelationOrg").removal.leaves_behind


def test_the_contracts_placeholder_names_are_all_known() -> None:
    assert set(PLACEHOLDERS) >= CONTRACT_PLACEHOLDERS


def test_a_whole_placeholder_becomes_a_typed_value_and_an_embedded_one_text() -> None:
    rendered = render({"Year": "{year}", "Ds": "run {run_id}", "n": 1}, samples())
    assert rendered == {"Year": 2024, "Ds": "run 3f9a1c", "n": 1}


def test_the_balanced_entry_is_balanced() -> None:
    entry = render(load_templates(load_profile()).for_connector("FiEntries").payload, samples())
    lines = entry["FiEntryPar"]["Element"]["Objects"][0]["FiEntries"]["Element"]
    assert sum(line["Fields"]["AmDe"] for line in lines) == sum(
        line["Fields"]["AmCr"] for line in lines
    )
    assert {line["Fields"]["VaAs"] for line in lines} == {"1", "3"}


def test_an_unknown_placeholder_is_refused_naming_it() -> None:
    text = minimal('{"KnSubject": {"Element": {"Fields": {"Ds": "{subjct}"}}}}')
    with pytest.raises(ExportTemplateError, match=r"KnSubject: unknown placeholder \{subjct\}"):
        parse_templates(text)


def test_a_key_from_a_later_steps_answer_is_refused() -> None:
    text = builtin_text().replace('"Nm": "{marker}"', '"Nm": "{debtor_id}"', 1)
    with pytest.raises(ExportTemplateError, match="no earlier step's answer provides"):
        parse_templates(text)


def test_fiinvoice_as_a_post_is_refused() -> None:
    text = minimal('{"FiInvoice": {"Element": {"Fields": {"UnId": 1}}}}', connector="FiInvoice")
    with pytest.raises(ExportTemplateError, match="FiInvoice has no POST"):
        parse_templates(text)


def test_fientries_with_the_connector_name_as_root_is_refused() -> None:
    text = minimal('{"FiEntries": {"Element": {"Fields": {"Year": 1}}}}', connector="FiEntries")
    with pytest.raises(ExportTemplateError, match="root element of FiEntries is 'FiEntryPar'"):
        parse_templates(text)


def test_a_payload_keyed_by_another_root_is_refused() -> None:
    text = minimal('{"KnSubjects": {"Element": {"Fields": {}}}}')
    with pytest.raises(ExportTemplateError, match="keyed by the root element 'KnSubject'"):
        parse_templates(text)


@pytest.mark.parametrize(
    "payload",
    [
        '{"KnSubject": {"Element": {"Felds": {}}}}',
        '{"KnSubject": {"Elements": {}}}',
        '{"KnSubject": {"Element": {"Fields": {"Ds": {"nested": 1}}}}}',
        '{"KnSubject": {"Element": {"Fields": {"Ds": "half {brace"}}}}',
        '{"KnSubject": {"Element": {"Objects": [{"A": {"Element": {}}, "B": {"Element": {}}}]}}}',
        '{"KnSubject": not json}',
    ],
)
def test_a_payload_outside_afas_envelope_is_refused(payload) -> None:
    with pytest.raises(ExportTemplateError, match="invalid"):
        parse_templates(minimal(payload))


def test_deleting_a_sales_relation_is_refused_because_afas_has_no_delete() -> None:
    extra = """[template.removal]
method = "DELETE"
paths = ["/connectors/KnSalesRelationOrg/KnSalesRelationOrg/@DbId/{debtor_id}"]
how_to_remove = { nl = "x", en = "x" }"""
    text = minimal(
        '{"KnSalesRelationOrg": {"Element": {"Fields": {"CuId": "EUR"}}}}',
        connector="KnSalesRelationOrg",
        extra=extra.replace("{debtor_id}", "1"),
    )
    with pytest.raises(ExportTemplateError, match="KnSalesRelationOrg has no DELETE"):
        parse_templates(text)


def test_two_templates_for_one_step_are_refused() -> None:
    text = builtin_text().replace("step = 4", "step = 3")
    with pytest.raises(ExportTemplateError, match="step 3 appears in two templates"):
        parse_templates(text)


def test_answer_placeholders_are_the_only_ones_a_step_provides() -> None:
    text = builtin_text().replace(
        'provides = { CrId = "creditor_id" }', 'provides = { CrId = "year" }'
    )
    with pytest.raises(ExportTemplateError, match="not an answer placeholder"):
        parse_templates(text)
    assert PLACEHOLDERS["year"].source is PlaceholderSource.CUSTOMER


def test_a_profile_loaded_from_a_path_brings_its_own_templates(tmp_path: Path) -> None:
    source = resources.files("afas.profiles")
    for name in ("smartbooqing.toml", "smartbooqing_exports.toml"):
        (tmp_path / name).write_text(source.joinpath(name).read_text())
    profile = load_profile(tmp_path / "smartbooqing.toml")
    assert len(load_templates(profile).templates) == 5
    (tmp_path / "smartbooqing_exports.toml").unlink()
    with pytest.raises(ExportTemplateError, match="Cannot read the export templates"):
        load_templates(profile)


def test_templates_must_cover_exactly_the_profiles_update_connectors(tmp_path: Path) -> None:
    source = resources.files("afas.profiles")
    profile_text = source.joinpath("smartbooqing.toml").read_text()
    extra_requirement = """
[[requirement]]
id = "update.KnContact"
kind = "update_connector"
connector = "KnContact"
guide_section = "1.2.4"
title = { nl = "KnContact", en = "KnContact" }
"""
    (tmp_path / "smartbooqing.toml").write_text(profile_text + extra_requirement)
    shutil.copy(str(source.joinpath("smartbooqing_exports.toml")), tmp_path)
    with pytest.raises(ExportTemplateError, match="no template for KnContact"):
        load_templates(load_profile(tmp_path / "smartbooqing.toml"))
    without_subject = profile_text.replace('connector = "KnSubject"', 'connector = "KnContact"')
    (tmp_path / "smartbooqing.toml").write_text(without_subject)
    with pytest.raises(ExportTemplateError, match="no template for KnContact"):
        load_templates(load_profile(tmp_path / "smartbooqing.toml"))


def test_a_profile_without_templates_says_so() -> None:
    profile = load_profile().model_copy(update={"exports": None})
    with pytest.raises(ProfileError, match="names no export templates file"):
        load_templates(profile)


def test_the_exports_reference_is_a_plain_file_name(tmp_path: Path) -> None:
    text = resources.files("afas.profiles").joinpath("smartbooqing.toml").read_text()
    bad = text.replace('exports = "smartbooqing_exports.toml"', 'exports = "../secrets.toml"')
    (tmp_path / "p.toml").write_text(bad)
    with pytest.raises(ProfileError, match="exports"):
        load_profile(tmp_path / "p.toml")
